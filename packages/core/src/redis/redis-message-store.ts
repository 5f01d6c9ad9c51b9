import type { MessageStore } from '../bus/message-store.js';
import type { CompactReport, Message } from '../bus/types.js';
import type { Clock } from '../clock.js';
import type { RedisConnection } from './redis-connection.js';
import type { ScriptName } from './scripts.js';

export interface RedisMessageStoreOptions {
  /** Acked messages past this age are dropped from a reader's history. @default 7 days */
  retentionMs?: number;
  /** Acked messages kept per reader at most (the oldest go first), so Redis memory stays bounded. @default 10000 */
  archiveMaxMessages?: number;
  /** Longest wait between re-scans when no pub/sub wake-up arrives. @default 500 */
  rescanMs?: number;
}

/**
 * The Redis backend of the message bus:
 *
 * - `m:msg` (hash) holds each message once, by id, with a reference count in
 *   `m:ref`: a broadcast is stored once and referenced from every inbox.
 * - `m:in:<agent>` (sorted set by send time, then id) is the reader's inbox
 *   and so its durable cursor: what is there is unread; `ack` moves ids to
 *   `m:ack:<agent>` in the same script. A reader restarted after a crash gets
 *   exactly what it had not acked; an acked message never comes again.
 * - `m:ack:<agent>` keeps acked messages for `history`, bounded by age
 *   (`retentionMs`) and count (`archiveMaxMessages`), pruned a little on
 *   each ack, so growth is bounded and no call does unbounded work.
 *
 * Message ids sort by time, then a per-process sequence, so each sender's
 * order is kept.
 */
export class RedisMessageStore implements MessageStore {
  readonly kind = 'redis';
  private readonly retentionMs: number;
  private readonly archiveMaxMessages: number;
  private readonly rescanMs: number;

  constructor(
    private readonly conn: RedisConnection,
    private readonly clock: Clock,
    options: RedisMessageStoreOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3600_000;
    this.archiveMaxMessages = options.archiveMaxMessages ?? 10_000;
    this.rescanMs = options.rescanMs ?? 500;
  }

  private run(name: ScriptName, args: Array<string | number>): Promise<unknown[]> {
    return this.conn.script(name, () => [this.conn.prefix, this.clock.now(), '0', '', this.conn.eventsMaxLen, ...args]);
  }

  private cutoff(): number {
    return this.clock.now() - this.retentionMs;
  }

  async register(agentId: string): Promise<void> {
    await this.conn.call('registering an agent', () => this.conn.client.zadd(`${this.conn.prefix}m:members`, 'NX', 0, agentId));
  }

  async members(): Promise<string[]> {
    return this.conn.call('listing members', () => this.conn.client.zrange(`${this.conn.prefix}m:members`, 0, -1));
  }

  async send(message: Message): Promise<string[]> {
    const reply = await this.run('atSend', [message.id, JSON.stringify(message), message.from, message.to, message.ts]);
    const recipients = (reply[1] as string[] | undefined) ?? [];
    if (recipients.length > 0) this.conn.bump('messages');
    return recipients;
  }

  async receive(agentId: string, limit = Infinity): Promise<Message[]> {
    if (limit <= 0) return [];
    // 0 asks the script for every unread message.
    const n = Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : 0;
    const reply = (await this.run('atReceive', [agentId, n])) as string[];
    return reply.map((json) => JSON.parse(json) as Message);
  }

  async ack(agentId: string, messageIds: readonly string[]): Promise<number> {
    if (messageIds.length === 0) return 0;
    return Number(await this.run('atAck', [agentId, this.cutoff(), this.archiveMaxMessages, ...messageIds]));
  }

  async history(agentId: string, since: number, limit = Infinity): Promise<Message[]> {
    const reply = (await this.run('atHistory', [agentId, since])) as string[];
    const byId = new Map<string, Message>();
    for (const json of reply) {
      const message = JSON.parse(json) as Message;
      if (message.ts > since) byId.set(message.id, message);
    }
    const sorted = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return Number.isFinite(limit) ? sorted.slice(0, limit) : sorted;
  }

  /**
   * Drops acked messages past retention or past the per-reader cap. Redis
   * needs no packing, so `packed` is 0; `expiredSegments` counts the dropped
   * messages (each is its own segment here).
   */
  async compact(agentId?: string): Promise<CompactReport> {
    const agents = agentId === undefined ? await this.members() : [agentId];
    let expired = 0;
    for (const agent of agents) {
      for (;;) {
        const dropped = Number(await this.run('atCompact', [agent, this.cutoff(), this.archiveMaxMessages]));
        expired += dropped;
        if (dropped < 10_000) break;
      }
    }
    return { packed: 0, expiredSegments: expired };
  }

  changeVersion(): number {
    return this.conn.version('messages');
  }

  async waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    await this.conn.wait('messages', Math.min(timeoutMs, this.rescanMs), signal, since);
  }

  async close(): Promise<void> {}
}

import type { AgentDirectory, AgentRecord, Backend, OpenBackendOptions } from '../backend.js';
import { type Clock, systemClock } from '../clock.js';
import { makeWriterId } from '../fs/file-io.js';
import { assertValidId, randomToken } from '../ids.js';
import { checkOptions, rules } from '../options.js';
import { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
import { RedisEventStream } from './redis-event-stream.js';
import { RedisMessageStore, type RedisMessageStoreOptions } from './redis-message-store.js';
import { RedisTaskStore, type RedisTaskStoreOptions } from './redis-task-store.js';

export interface RedisBackendOptions extends RedisConnectionOptions, RedisTaskStoreOptions, RedisMessageStoreOptions {
  /** Time source for leases, backoff and timestamps. Hosts sharing a team must keep their clocks in sync (NTP). @default the system clock */
  clock?: Clock;
}

/** The rules of {@link RedisBackendOptions}, checked before connecting. */
const REDIS_BACKEND_OPTIONS = {
  reconnectTimeoutMs: rules.duration({ min: 1 }),
  connectTimeoutMs: rules.duration({ min: 1 }),
  eventsMaxLen: rules.int({ min: 1 }),
  rescanMs: rules.duration({ min: 1 }),
  reapBatch: rules.int({ min: 1 }),
  retentionMs: rules.number({ min: 0 }),
  archiveMaxMessages: rules.int({ min: 1 }),
  clock: rules.object({ now: rules.function() }),
};

/** `<prefix>agents`, a hash of agent id to its last report. */
class RedisAgentDirectory implements AgentDirectory {
  constructor(private readonly conn: RedisConnection) {}

  async report(record: AgentRecord): Promise<void> {
    assertValidId('agent', record.id);
    await this.conn.call('reporting an agent', () => this.conn.client.hset(`${this.conn.prefix}agents`, record.id, JSON.stringify(record)));
  }

  async list(): Promise<AgentRecord[]> {
    const all = await this.conn.call('listing agents', () => this.conn.client.hgetall(`${this.conn.prefix}agents`));
    const out: AgentRecord[] = [];
    for (const id of Object.keys(all).sort()) {
      try {
        out.push(JSON.parse(all[id] as string) as AgentRecord);
      } catch {
        // A report that does not parse was not written by this library: skip it.
      }
    }
    return out;
  }
}

/**
 * A team on a Redis server: for teams whose agents run on several machines.
 * Same seams and guarantees as the file backend (see docs/architecture.md,
 * "The Redis backend"). Open it with {@link RedisBackend.open} or
 * `openBackend('redis://host:6379', { namespace: teamId })`.
 *
 * @example
 * const backend = await RedisBackend.open('redis://127.0.0.1:6379', { namespace: 'docs-team' });
 * const queue = TaskQueue.open({ backend });
 */
export class RedisBackend implements Backend {
  readonly kind = 'redis';
  readonly location: string;
  readonly clock: Clock;
  readonly tasks: RedisTaskStore;
  readonly messages: RedisMessageStore;
  readonly events: RedisEventStream;
  readonly agents: AgentDirectory;

  private constructor(
    readonly connection: RedisConnection,
    options: RedisBackendOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.location = `${connection.location} (namespace ${connection.namespace})`;
    this.events = new RedisEventStream(connection, makeWriterId(randomToken(3)), this.clock);
    this.tasks = new RedisTaskStore(connection, this.events, this.clock, options);
    this.messages = new RedisMessageStore(connection, this.clock, options);
    this.agents = new RedisAgentDirectory(connection);
  }

  /** Connects to `url` (`redis://[:password@]host[:port][/db]` or `rediss://...`) for one team's namespace. */
  static async open(url: string, options: RedisBackendOptions = {}): Promise<RedisBackend> {
    checkOptions(options, REDIS_BACKEND_OPTIONS);
    return new RedisBackend(await RedisConnection.open(url, options), options);
  }

  async close(): Promise<void> {
    await this.tasks.close();
    await this.messages.close();
    await this.connection.close();
  }
}

/** The opener `openBackend` uses for redis:// URLs: the file backend's options that apply carry over. */
export async function openRedisBackend(url: string, options: OpenBackendOptions & RedisBackendOptions): Promise<RedisBackend> {
  return RedisBackend.open(url, options);
}

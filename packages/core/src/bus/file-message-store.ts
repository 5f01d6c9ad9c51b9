import fs from 'node:fs';
import { errnoCode } from '../errors.js';
import { listDir, safeUnlink } from '../fs/file-io.js';
import type { Workspace } from '../workspace.js';
import { checkOptions, rules } from '../options.js';
import type { MessageStore } from './message-store.js';
import type { CompactReport, Message } from './types.js';

export interface FileMessageStoreOptions {
  /** Archived (acked) messages kept as single files per reader before they are packed into a segment. @default 1000 */
  archiveMaxFiles?: number;
  /** Segments whose newest message is older than this are deleted. @default 7 days */
  retentionMs?: number;
  /** Longest wait between re-scans when nothing rings. @default 500 with the watcher, 100 without */
  rescanMs?: number;
}

/** The rules of {@link FileMessageStoreOptions}. */
export const FILE_MESSAGE_STORE_OPTIONS = {
  archiveMaxFiles: rules.int({ min: 1 }),
  retentionMs: rules.number({ min: 0 }),
  rescanMs: rules.duration({ min: 1 }),
};

/** The time encoded at the front of a message id. */
export function messageTime(id: string): number {
  return Number.parseInt(id.slice(0, id.indexOf('-')), 36);
}

/**
 * The file backend of the bus, maildir-style:
 *
 * - `messages/inbox/<agent>/<id>.json`: unread messages of one reader. Each is
 *   written to a temp file and renamed (direct) or hard-linked (broadcast: one
 *   write, one link per recipient) into place, so concurrent senders in any
 *   number of processes never lose one and a reader never sees half of one.
 *   Ids sort by time, then a per-process sequence, so a sorted listing keeps
 *   each sender's order.
 * - `messages/archive/<agent>/<id>.json`: acked messages. Acking is a rename
 *   out of the inbox, so the inbox is the reader's durable cursor: a reader
 *   restarted after a crash gets exactly what it had not acked.
 * - `messages/segments/<agent>/<first>--<last>.jsonl`: older archived
 *   messages packed together; segments past the retention period are deleted.
 *   The inbox only ever holds unread mail, so reading stays fast however long
 *   a team runs.
 */
export class FileMessageStore implements MessageStore {
  readonly kind = 'file';
  private readonly inbox: string;
  private readonly archive: string;
  private readonly segments: string;
  private readonly archiveMaxFiles: number;
  private readonly retentionMs: number;
  private readonly rescanMs: number;
  private readonly knownDirs = new Set<string>();
  private readonly archiveCounts = new Map<string, number>();

  constructor(
    readonly workspace: Workspace,
    options: FileMessageStoreOptions = {},
  ) {
    checkOptions(options, FILE_MESSAGE_STORE_OPTIONS);
    this.inbox = workspace.path('messages', 'inbox');
    this.archive = workspace.path('messages', 'archive');
    this.segments = workspace.path('messages', 'segments');
    this.archiveMaxFiles = options.archiveMaxFiles ?? 1000;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3600_000;
    this.rescanMs = options.rescanMs ?? (workspace.notifier.watching ? 500 : 100);
  }

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  async register(agentId: string): Promise<void> {
    this.ensureDir(`${this.inbox}/${agentId}`);
  }

  async members(): Promise<string[]> {
    return listDir(this.inbox).sort();
  }

  async send(message: Message): Promise<string[]> {
    const text = JSON.stringify(message);
    const name = `${message.id}.json`;
    const io = this.workspace.io;
    let recipients: string[];
    if (message.to !== '*') {
      recipients = [message.to];
      this.ensureDir(`${this.inbox}/${message.to}`);
      io.writeAtomic(`${this.inbox}/${message.to}/${name}`, text);
    } else {
      recipients = listDir(this.inbox).filter((agent) => agent !== message.from);
      if (recipients.length > 0) {
        io.batch(() => {
          const tmp = io.writeTempFile(text);
          try {
            for (const agent of recipients) {
              try {
                fs.linkSync(tmp, `${this.inbox}/${agent}/${name}`);
                io.dirChanged(`${this.inbox}/${agent}`);
              } catch (err) {
                if (errnoCode(err) !== 'ENOENT') throw err;
              }
            }
          } finally {
            safeUnlink(tmp);
          }
        });
      }
    }
    this.workspace.notifier.ring('messages');
    return recipients;
  }

  async receive(agentId: string, limit = Infinity): Promise<Message[]> {
    const dir = `${this.inbox}/${agentId}`;
    const names = listDir(dir)
      .filter((name) => name.endsWith('.json'))
      .sort();
    const out: Message[] = [];
    for (const name of names) {
      if (out.length >= limit) break;
      const message = this.readMessage(`${dir}/${name}`);
      if (message) out.push(message);
    }
    return out;
  }

  private readMessage(file: string): Message | null {
    const text = this.workspace.readFileOrQuarantine(file, 'message');
    if (text === null) return null;
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch (err) {
      this.workspace.quarantine(file, `message is not valid JSON: ${(err as Error).message}`);
      return null;
    }
    if (typeof message !== 'object' || message === null || typeof message.id !== 'string' || typeof message.from !== 'string' || typeof message.kind !== 'string') {
      this.workspace.quarantine(file, 'message has the wrong shape: it needs id, from and kind');
      return null;
    }
    return message;
  }

  async ack(agentId: string, messageIds: readonly string[]): Promise<number> {
    const from = `${this.inbox}/${agentId}`;
    const to = `${this.archive}/${agentId}`;
    this.ensureDir(to);
    let acked = 0;
    this.workspace.io.batch(() => {
      for (const id of messageIds) {
        if (this.workspace.io.move(`${from}/${id}.json`, `${to}/${id}.json`)) acked += 1;
      }
    });
    if (acked > 0) {
      const count = (this.archiveCounts.get(agentId) ?? listDir(to).length - acked) + acked;
      this.archiveCounts.set(agentId, count);
      if (count > this.archiveMaxFiles) await this.compact(agentId);
    }
    return acked;
  }

  async compact(agentId?: string): Promise<CompactReport> {
    const report: CompactReport = { packed: 0, expiredSegments: 0 };
    const agents = agentId === undefined ? listDir(this.archive) : [agentId];
    for (const agent of agents) {
      const dir = `${this.archive}/${agent}`;
      const names = listDir(dir)
        .filter((name) => name.endsWith('.json'))
        .sort();
      const keep = Math.floor(this.archiveMaxFiles / 2);
      const pack = names.slice(0, Math.max(0, names.length - keep));
      if (pack.length > 0) {
        const lines: string[] = [];
        for (const name of pack) {
          const message = this.readMessage(`${dir}/${name}`);
          if (message) lines.push(JSON.stringify(message));
        }
        const first = (pack[0] as string).slice(0, -5);
        const last = (pack[pack.length - 1] as string).slice(0, -5);
        const segDir = `${this.segments}/${agent}`;
        this.ensureDir(segDir);
        this.workspace.io.writeAtomic(`${segDir}/${first}--${last}.jsonl`, `${lines.join('\n')}\n`);
        // A crash before these unlinks leaves duplicates, which history() drops by id.
        for (const name of pack) safeUnlink(`${dir}/${name}`);
        report.packed += pack.length;
      }
      this.archiveCounts.set(agent, names.length - pack.length);
      const now = this.workspace.clock.now();
      for (const segment of listDir(`${this.segments}/${agent}`)) {
        const last = segment.slice(segment.indexOf('--') + 2, -'.jsonl'.length);
        if (now - messageTime(last) > this.retentionMs && safeUnlink(`${this.segments}/${agent}/${segment}`)) {
          report.expiredSegments += 1;
        }
      }
    }
    return report;
  }

  async history(agentId: string, since: number, limit = Infinity): Promise<Message[]> {
    const byId = new Map<string, Message>();
    for (const segment of listDir(`${this.segments}/${agentId}`).sort()) {
      const last = segment.slice(segment.indexOf('--') + 2, -'.jsonl'.length);
      if (messageTime(last) <= since) continue;
      const text = this.workspace.readFileOrQuarantine(`${this.segments}/${agentId}/${segment}`, `message segment of "${agentId}"`) ?? '';
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          const message = JSON.parse(line) as Message;
          if (message.ts > since) byId.set(message.id, message);
        } catch {
          // a damaged line in an archive segment: skip it
        }
      }
    }
    for (const dir of [`${this.archive}/${agentId}`, `${this.inbox}/${agentId}`]) {
      for (const name of listDir(dir)) {
        if (!name.endsWith('.json') || messageTime(name) <= since) continue;
        const message = this.readMessage(`${dir}/${name}`);
        if (message && message.ts > since) byId.set(message.id, message);
      }
    }
    const sorted = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return Number.isFinite(limit) ? sorted.slice(0, limit) : sorted;
  }

  changeVersion(): number {
    return this.workspace.notifier.version(['messages']);
  }

  async waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    await this.workspace.notifier.wait(['messages'], Math.min(timeoutMs, this.rescanMs), signal, since);
  }

  async close(): Promise<void> {
    this.archiveCounts.clear();
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { type Clock, eventTimestamp, systemClock, sleep } from '../clock.js';
import { AbortError, errnoCode } from '../errors.js';
import { FileIO, ForeignEntryError, asStorageError, listDir } from '../fs/file-io.js';

/** Events held in memory while the disk is full, at most. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/** Reads log files with the workspace's safe open (no symlink followed, no FIFO waited on). */
const READER = new FileIO('', 'event-reader');
import { type EventInput, type TeamEvent, type TeamEventListeners, type TeamEventType, compareEvents, emitTyped } from './types.js';

/** In-process listeners: by event type, or `'*'` for every event. */
export type EventLogEvents = TeamEventListeners;

export interface ReadEventsOptions<K extends TeamEventType = TeamEventType> {
  /** Only events with `ts` greater than this (epoch ms). */
  since?: number;
  /** Only these types (the result is typed as those events). */
  types?: readonly K[];
  taskId?: string;
  agentId?: string;
}

export interface FollowEventsOptions<K extends TeamEventType = TeamEventType> extends ReadEventsOptions<K> {
  signal?: AbortSignal;
  /** How often to look for new lines. @default 100 */
  pollMs?: number;
  /**
   * Events are held this long before being yielded, so a slightly late line
   * from another process still comes out in time order. @default 150
   */
  reorderWindowMs?: number;
}

/**
 * The append-only lifecycle log: one JSON-lines file per writing process under
 * `events/`, so writers never contend. Each event is one `write(2)` on an
 * `O_APPEND` descriptor. A line torn by a crash is skipped by readers.
 * In-process listeners get every event through eventemitter3.
 */
export class EventLog extends EventEmitter<EventLogEvents> {
  private fd: number | null = null;
  private pending: Buffer | null = null;
  private seq = 0;
  private readonly file: string;

  constructor(
    readonly dir: string,
    readonly writerId: string,
    private readonly clock: Clock = systemClock,
  ) {
    super();
    this.file = path.join(dir, `${writerId}.jsonl`);
  }

  /** A timestamp with microsecond precision when the clock is the system clock. */
  timestamp(): number {
    return eventTimestamp(this.clock);
  }

  /** Appends one event and notifies in-process listeners. Returns the event. */
  append(input: EventInput): TeamEvent {
    this.seq += 1;
    const event: TeamEvent = { ts: this.timestamp(), writer: this.writerId, seq: this.seq, ...input };
    this.writeLines(`${JSON.stringify(event)}\n`);
    this.notify(event);
    return event;
  }

  /** Appends several events with one write. */
  appendMany(inputs: readonly EventInput[]): TeamEvent[] {
    if (inputs.length === 0) return [];
    const events: TeamEvent[] = [];
    let text = '';
    const ts = this.timestamp();
    for (const input of inputs) {
      this.seq += 1;
      const event: TeamEvent = { ts, writer: this.writerId, seq: this.seq, ...input };
      events.push(event);
      text += `${JSON.stringify(event)}\n`;
    }
    this.writeLines(text);
    for (const event of events) this.notify(event);
    return events;
  }

  private notify(event: TeamEvent): void {
    emitTyped(this, event, '*');
  }

  /**
   * Appends whole lines. On a full disk the lines (or the rest of a line that
   * was written in part) stay in memory, in order, and go out with the next
   * append or at close, so the log neither tears a line nor loses an event
   * while the process lives; a team on a full disk goes on. Past
   * {@link MAX_PENDING_BYTES} held, the error goes up.
   */
  private writeLines(text: string): void {
    let buf = this.pending ? Buffer.concat([this.pending, Buffer.from(text, 'utf8')]) : Buffer.from(text, 'utf8');
    this.pending = null;
    try {
      if (this.fd === null) {
        fs.mkdirSync(this.dir, { recursive: true });
        this.fd = fs.openSync(this.file, 'a', 0o644);
      }
      while (buf.length > 0) {
        const n = fs.writeSync(this.fd, buf);
        buf = buf.subarray(n);
      }
    } catch (err) {
      const code = errnoCode(err);
      if ((code === 'ENOSPC' || code === 'EDQUOT') && buf.length <= MAX_PENDING_BYTES) {
        this.pending = Buffer.from(buf);
        return;
      }
      throw asStorageError(err, 'appending to the event log');
    }
  }

  /** Bytes of events held in memory because the disk was full. */
  get pendingBytes(): number {
    return this.pending?.length ?? 0;
  }

  close(): void {
    if (this.pending) {
      try {
        this.writeLines('');
      } catch {
        // still full: what is held is lost with the process (docs/architecture.md, "Faults")
      }
    }
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  /** Every event in the folder, merged from all writers, in time order. */
  static read<K extends TeamEventType = TeamEventType>(dir: string, options: ReadEventsOptions<K> = {}): TeamEvent<K>[] {
    const events: TeamEvent[] = [];
    for (const name of listDir(dir)) {
      if (!name.endsWith('.jsonl')) continue;
      let text: string | null;
      try {
        text = READER.readText(path.join(dir, name));
      } catch (err) {
        // A folder, symlink or FIFO named like a log: not a log; recover leaves it to a person.
        if (err instanceof ForeignEntryError) continue;
        throw err;
      }
      if (text === null) continue;
      parseLines(text, events, options);
    }
    return events.sort(compareEvents) as TeamEvent<K>[];
  }

  read<K extends TeamEventType = TeamEventType>(options: ReadEventsOptions<K> = {}): TeamEvent<K>[] {
    return EventLog.read(this.dir, options);
  }

  /**
   * Yields the merged stream from `since`, then new events as they are
   * written, in time order, until `signal` aborts.
   */
  static async *follow<K extends TeamEventType = TeamEventType>(dir: string, options: FollowEventsOptions<K> = {}): AsyncGenerator<TeamEvent<K>> {
    const pollMs = options.pollMs ?? 100;
    const windowMs = options.reorderWindowMs ?? 150;
    // Per log file: where reading got to, a line not yet whole, the time of the last whole line read, and whether more is waiting.
    const offsets = new Map<string, { offset: number; rest: string; lastTs: number; more: boolean }>();
    let held: TeamEvent[] = [];
    let lastYielded: TeamEvent | null = null;
    const signal = options.signal;
    while (!signal?.aborted) {
      for (const name of listDir(dir)) {
        if (!name.endsWith('.jsonl')) continue;
        const state = offsets.get(name) ?? { offset: 0, rest: '', lastTs: -Infinity, more: false };
        offsets.set(name, state);
        // A bounded piece per file and pass: a follower of a long log (a dashboard tab) never holds all of it at once.
        const chunk = readFrom(path.join(dir, name), state.offset, FOLLOW_CHUNK_BYTES);
        state.more = chunk.length === FOLLOW_CHUNK_BYTES;
        if (chunk.length === 0) continue;
        state.offset += chunk.length;
        const text = state.rest + chunk.toString('utf8');
        const cut = text.lastIndexOf('\n');
        state.rest = cut === -1 ? text : text.slice(cut + 1);
        if (cut === -1) continue;
        const whole = text.slice(0, cut + 1);
        parseLines(whole, held, options);
        state.lastTs = lastLineTs(whole) ?? state.lastTs;
      }
      held.sort(compareEvents);
      // Events come out in time order across files: while a file still has unread bytes, nothing later than what was read of it goes out.
      let horizon = Date.now() - windowMs;
      let catchingUp = false;
      for (const state of offsets.values()) {
        if (!state.more) continue;
        catchingUp = true;
        horizon = Math.min(horizon, state.lastTs);
      }
      const ready: TeamEvent[] = [];
      const keep: TeamEvent[] = [];
      for (const event of held) (event.ts <= horizon ? ready : keep).push(event);
      held = keep;
      for (const event of ready) {
        // A line that arrives later than the window still comes out, just not reordered.
        if (lastYielded && compareEvents(event, lastYielded) < 0 && event.ts < lastYielded.ts - windowMs * 10) continue;
        lastYielded = event;
        yield event as TeamEvent<K>;
      }
      try {
        await sleep(catchingUp ? 0 : pollMs, signal);
      } catch (err) {
        if (err instanceof AbortError) return;
        throw err;
      }
    }
  }
}

/** How much of one log file {@link EventLog.follow} reads per pass. */
const FOLLOW_CHUNK_BYTES = 1 << 20;

/** The time of the last line of whole JSON lines (undefined when it does not parse). */
function lastLineTs(text: string): number | undefined {
  const end = text.endsWith('\n') ? text.length - 1 : text.length;
  const line = text.slice(text.lastIndexOf('\n', end - 1) + 1, end);
  try {
    const ts = (JSON.parse(line) as { ts?: unknown }).ts;
    return typeof ts === 'number' ? ts : undefined;
  } catch {
    return undefined;
  }
}

function readFrom(file: string, offset: number, maxBytes = Infinity): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'EACCES') return Buffer.alloc(0);
    throw err;
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    return Buffer.alloc(0);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(Math.min(size - offset, maxBytes));
    let read = 0;
    while (read < buf.length) {
      const n = fs.readSync(fd, buf, read, buf.length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

function parseLines(text: string, into: TeamEvent[], options: ReadEventsOptions<TeamEventType>): void {
  const types = options.types ? new Set(options.types) : null;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0) continue;
    let event: TeamEvent;
    try {
      event = JSON.parse(line) as TeamEvent;
    } catch {
      continue; // a line torn by a crash mid-append
    }
    if (typeof event !== 'object' || event === null || typeof event.ts !== 'number') continue;
    if (options.since !== undefined && event.ts <= options.since) continue;
    if (types && !types.has(event.type)) continue;
    if (options.taskId !== undefined && event.taskId !== options.taskId) continue;
    if (options.agentId !== undefined && event.agentId !== options.agentId) continue;
    into.push(event);
  }
}

import { EventEmitter } from 'eventemitter3';
import type { Redis } from 'ioredis';
import type { EventStream } from '../backend.js';
import { type Clock, eventTimestamp, systemClock } from '../clock.js';
import type { FollowEventsOptions, ReadEventsOptions } from '../events/event-log.js';
import { type EventInput, type TeamEvent, type TeamEventListeners, type TeamEventType, emitTyped } from '../events/types.js';
import type { RedisConnection } from './redis-connection.js';

type StreamEntry = [id: string, fields: string[]];

/**
 * The team's event log as one Redis stream (`<prefix>events`). Task
 * transitions write their events inside their scripts, atomically with the
 * change; {@link append} writes the events a process adds itself (messages,
 * agents, team). In-process listeners fire exactly as with the file backend.
 * The stream's entry order is the commit order; readers get it in that order.
 */
export class RedisEventStream extends EventEmitter<TeamEventListeners> implements EventStream {
  /** Odd sequence numbers; events written by scripts get even ones, so they never collide. */
  private seq = 0;
  private readonly key: string;
  /** Errors of appends that could not be written (Redis gone for longer than the retry window). */
  writeErrors = 0;

  constructor(
    private readonly conn: RedisConnection,
    readonly writerId: string,
    private readonly clock: Clock = systemClock,
  ) {
    super();
    this.key = `${conn.prefix}events`;
  }

  /** A timestamp with microsecond precision when the clock is the system clock (as the file event log). */
  timestamp(): number {
    return eventTimestamp(this.clock);
  }

  append(input: EventInput): TeamEvent {
    this.seq += 1;
    const event: TeamEvent = { ts: this.timestamp(), writer: this.writerId, seq: 2 * this.seq - 1, ...input };
    const json = JSON.stringify(event);
    this.notify(event);
    // Written in the background: append() is synchronous for its callers. A
    // lost connection is retried; if Redis stays away the event is dropped
    // (the tasks and messages, not the log, are the source of truth).
    void this.conn
      .call('an event append', () => this.conn.client.xadd(this.key, 'MAXLEN', '~', this.conn.eventsMaxLen, '*', 'e', json))
      .catch(() => {
        this.writeErrors += 1;
      });
    return event;
  }

  /** Notifies in-process listeners of events a script wrote. */
  deliver(jsonEvents: unknown): void {
    if (!Array.isArray(jsonEvents)) return;
    for (const json of jsonEvents) {
      if (typeof json !== 'string') continue;
      let event: TeamEvent;
      try {
        event = JSON.parse(json) as TeamEvent;
      } catch {
        // A malformed event from a script would be a bug; it must not undo the transition that was made.
        continue;
      }
      this.notify(event);
    }
  }

  private notify(event: TeamEvent): void {
    emitTyped(this, event, '*');
  }

  async read<K extends TeamEventType = TeamEventType>(options: ReadEventsOptions<K> = {}): Promise<TeamEvent<K>[]> {
    const out: TeamEvent<K>[] = [];
    let start = '-';
    for (;;) {
      const entries = (await this.conn.call('reading events', () =>
        this.conn.client.xrange(this.key, start, '+', 'COUNT', 1000),
      )) as StreamEntry[];
      for (const entry of entries) {
        for (const event of parseEntry(entry, options)) out.push(event as TeamEvent<K>);
      }
      if (entries.length < 1000) return out;
      start = `(${entries[entries.length - 1]![0]}`;
    }
  }

  /** Everything from the start (or `since`), then live events (XREAD BLOCK on a connection of its own), until the signal aborts. */
  async *follow<K extends TeamEventType = TeamEventType>(options: FollowEventsOptions<K> = {}): AsyncGenerator<TeamEvent<K>> {
    const signal = options.signal;
    const reader: Redis = this.conn.duplicate();
    const onAbort = () => reader.disconnect();
    signal?.addEventListener('abort', onAbort, { once: true });
    let last = '0-0';
    try {
      while (!signal?.aborted && !this.conn.isClosed) {
        let reply: Array<[string, StreamEntry[]]> | null;
        try {
          reply = (await reader.xread('COUNT', 1000, 'BLOCK', options.pollMs ?? 1000, 'STREAMS', this.key, last));
        } catch (err) {
          if (signal?.aborted || this.conn.isClosed) return;
          // Connection trouble: ioredis reconnects; try again shortly.
          void err;
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        for (const [, entries] of reply ?? []) {
          for (const entry of entries) {
            last = entry[0];
            for (const event of parseEntry(entry, options)) yield event as TeamEvent<K>;
          }
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      reader.disconnect();
    }
  }
}

/** The events of a stream entry: a script's transition writes all its events, in order, as the "e" fields of one entry. */
function parseEntry(entry: StreamEntry, options: ReadEventsOptions<TeamEventType>): TeamEvent[] {
  const fields = entry[1];
  const out: TeamEvent[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'e') continue;
    const event = parseEvent(fields[i + 1]!, options);
    if (event) out.push(event);
  }
  return out;
}

function parseEvent(json: string, options: ReadEventsOptions<TeamEventType>): TeamEvent | null {
  let event: TeamEvent;
  try {
    event = JSON.parse(json) as TeamEvent;
  } catch {
    return null;
  }
  if (typeof event !== 'object' || event === null || typeof event.ts !== 'number') return null;
  if (options.since !== undefined && event.ts <= options.since) return null;
  if (options.types && !options.types.includes(event.type)) return null;
  if (options.taskId !== undefined && event.taskId !== options.taskId) return null;
  if (options.agentId !== undefined && event.agentId !== options.agentId) return null;
  return event;
}

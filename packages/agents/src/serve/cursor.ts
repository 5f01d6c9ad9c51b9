import { type EventEnvelope, ValidationError, compareEvents } from '@agent-team/core';

/**
 * An event's place in the merged log, as an SSE id: `<ts>:<seq>:<writer>`.
 * Events are totally ordered by (ts, writer, seq) on both backends, so a
 * reconnecting browser that sends the last id back (`Last-Event-ID`) gets
 * exactly the events after it.
 */
export function eventCursor(e: EventEnvelope): string {
  return `${e.ts}:${e.seq}:${e.writer}`;
}

const CURSOR = /^(\d+(?:\.\d+)?):(\d+):([^\s\0]{1,200})$/;

export function parseCursor(text: string): EventEnvelope | null {
  const m = CURSOR.exec(text);
  if (!m) return null;
  return { ts: Number(m[1]), seq: Number(m[2]), writer: m[3]! };
}

/**
 * Where a stream starts: after an event id (`Last-Event-ID`, or `?since=` given
 * an id), or after a time (`?since=` as epoch ms or an ISO date). Null: from
 * the beginning of the log.
 */
export interface StreamStart {
  /** Passed to the backend's follow: only events newer than this (epoch ms). */
  since?: number;
  /** Events at or before this one are skipped (they were delivered before). */
  after?: EventEnvelope;
}

/**
 * How far back, before the last delivered event's time, a resumed stream reads
 * again: a line another process wrote a little late (inside the followers'
 * reorder window) can sort before the last event delivered; reading back this
 * far and skipping by cursor covers it.
 */
export const RESUME_MARGIN_MS = 2000;

export function streamStart(lastEventId: string | undefined, since: string | null): StreamStart {
  if (lastEventId !== undefined && lastEventId !== '') {
    const after = parseCursor(lastEventId);
    if (!after) throw new ValidationError(`Last-Event-ID must be an event id as sent by this stream (<ts>:<seq>:<writer>), got "${lastEventId.slice(0, 80)}"`);
    return { since: after.ts - RESUME_MARGIN_MS, after };
  }
  if (since === null || since === '') return {};
  const after = parseCursor(since);
  if (after) return { since: after.ts - RESUME_MARGIN_MS, after };
  if (/^\d+(\.\d+)?$/.test(since)) return { since: Number(since) };
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new ValidationError(`since must be epoch ms, an ISO date or an event id (<ts>:<seq>:<writer>), got "${since.slice(0, 80)}"`);
  return { since: t };
}

/** True when `e` comes after the start's last delivered event (or there is none). */
export function isAfter(e: EventEnvelope, start: StreamStart): boolean {
  return !start.after || compareEvents(e, start.after) > 0;
}

/**
 * The events of a team, typed: {@link TeamEventMap} maps each event type to
 * the fields it carries beyond the envelope (`ts`, `writer`, `seq`). The event
 * log, the task queue, the message bus and the team's `on`/`off`/`emit` are
 * all typed from it, so a misspelt event name or field fails to compile.
 *
 * Higher layers add their events to the map by declaration merging (the
 * agents package does so for `plan.*`, `team.*`, `model.call`, ...), and so
 * can an application that records events of its own:
 *
 * @example
 * declare module '@agent-team/core' {
 *   interface TeamEventMap {
 *     'deploy.finished': { taskId: string; url: string };
 *   }
 * }
 */
export interface TeamEventMap {
  /** A task was added. */
  'task.added': { taskId: string; taskType: string; dependencies: string[] };
  /** A task became claimable: at once, its dependencies done, its backoff elapsed, or repaired. */
  'task.ready': { taskId: string; attempt?: number; reason?: string };
  /** An agent claimed a task. */
  'task.claimed': { taskId: string; agentId: string; attempt: number; leaseUntil: number };
  /** The result was recorded (or approved after review). */
  'task.completed': { taskId: string; agentId?: string; attempt: number; approvedBy?: string };
  /** The result is held for review. */
  'task.review': { taskId: string; agentId?: string; attempt: number };
  /** A reviewer asked for changes: the task runs again with the feedback. */
  'task.reopened': { taskId: string; attempt: number; feedback: string };
  /** A failed attempt runs again after backoff, or a person retried the task. */
  'task.retried': { taskId: string; attempt: number; delayMs?: number; error?: string; manual?: boolean };
  /** A lease expired and the task went back to ready. */
  'task.requeued': { taskId: string; attempt: number; delayMs?: number; error?: string; reason?: string; previousOwner?: string | null };
  /** The holder gave the task back without using an attempt. */
  'task.released': { taskId: string; agentId: string; attempt: number; feedback?: string };
  /** The holder handed the task back until the tasks it added are final (Mixture-of-Agents). */
  'task.deferred': { taskId: string; agentId: string; attempt: number; dependencies: string[] };
  /** The task failed for good. */
  'task.failed': { taskId: string; agentId?: string; attempt?: number; reason: string };
  /** A dependency failed for good, so this task will not run. */
  'task.blocked': { taskId: string; reason: string };
  /** The task was cancelled; `agentId` is the holder if it was claimed. */
  'task.cancelled': { taskId: string; reason: string; agentId?: string };
  /** A message was sent; `agentId` is the sender. */
  'message.sent': { agentId: string; messageId: string; to: string; kind: string; recipients: number; taskId?: string };
  /** An agent began its loop. */
  'agent.started': { agentId: string; role: string; model: string; concurrency: number };
  /** An agent left its loop. */
  'agent.stopped': { agentId: string; reason: string; tasks: number };
  /** A file failed to parse and was moved to `quarantine/`. */
  'file.quarantined': { file: string; quarantinedAs: string; reason: string };
}

/** Every event type: core's and those added to {@link TeamEventMap} by other layers. */
export type TeamEventType = Extract<keyof TeamEventMap, string>;

/** Task lifecycle event types (`task.*`): what a {@link TaskQueue} emits. */
export type TaskEventType = Extract<TeamEventType, `task.${string}`>;

/** The event types written by core itself. */
export const CORE_EVENT_TYPES = [
  'task.added',
  'task.ready',
  'task.claimed',
  'task.completed',
  'task.review',
  'task.reopened',
  'task.failed',
  'task.retried',
  'task.requeued',
  'task.released',
  'task.deferred',
  'task.blocked',
  'task.cancelled',
  'message.sent',
  'agent.started',
  'agent.stopped',
  'file.quarantined',
] as const satisfies readonly TeamEventType[];

export type CoreEventType = (typeof CORE_EVENT_TYPES)[number];

/**
 * What every line of the event log carries. `ts` is epoch milliseconds
 * (fractional: microsecond precision with the system clock); `writer` and
 * `seq` identify the line and break ties, so the merged stream has one total
 * order.
 */
export interface EventEnvelope {
  ts: number;
  writer: string;
  seq: number;
}

/** Fields any event may carry; an event type's payload makes them required where they always apply. */
export interface EventCommonFields {
  taskId?: string;
  agentId?: string;
  attempt?: number;
}

/**
 * One event as a caller supplies it (`ts`, `writer` and `seq` are filled in):
 * `EventInput<'task.completed'>` for one type, `EventInput` for the union of
 * all, narrowed by `type`.
 */
export type EventInput<K extends TeamEventType = TeamEventType> = K extends TeamEventType
  ? { type: K } & EventCommonFields & TeamEventMap[K]
  : never;

/**
 * One event of the log: `TeamEvent<'task.completed'>` for one type,
 * `TeamEvent` for the union of all, which `switch (event.type)` narrows.
 */
export type TeamEvent<K extends TeamEventType = TeamEventType> = K extends TeamEventType
  ? EventEnvelope & { type: K } & EventCommonFields & TeamEventMap[K]
  : never;

/** A listener for events of type `K`. */
export type TeamEventListener<K extends TeamEventType = TeamEventType> = (event: TeamEvent<K>) => void;

/**
 * The emitter map (eventemitter3) of everything that emits team events: each
 * event type with its listener, and `'*'` for every event.
 */
export type TeamEventListeners = { [K in TeamEventType]: (event: TeamEvent<K>) => void } & {
  '*': (event: TeamEvent) => void;
};

/** The emitter map of a {@link TaskQueue}: the task lifecycle events. */
export type TaskEventListeners = { [K in TaskEventType]: (event: TeamEvent<K>) => void };

/**
 * Emits `event` under its own type on an emitter typed with
 * {@link TeamEventListeners}: the one place where an event whose type is only
 * known at run time meets the typed map.
 */
export function emitTyped(emitter: { emit(type: never, event: never): boolean }, event: TeamEvent, also?: '*'): void {
  const emit = emitter.emit.bind(emitter) as unknown as (type: string, event: TeamEvent) => boolean;
  emit(event.type, event);
  if (also) emit(also, event);
}

export function compareEvents(a: EventEnvelope, b: EventEnvelope): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.writer !== b.writer) return a.writer < b.writer ? -1 : 1;
  return a.seq - b.seq;
}

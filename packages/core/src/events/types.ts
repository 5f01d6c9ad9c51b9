/** Lifecycle event types written by core. Higher layers add their own (`plan.*`, `team.*`, ...). */
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
  'task.blocked',
  'task.cancelled',
  'message.sent',
  'agent.started',
  'agent.stopped',
  'file.quarantined',
] as const;

export type CoreEventType = (typeof CORE_EVENT_TYPES)[number];

/**
 * One line of the event log. `ts` is epoch milliseconds (fractional: microsecond
 * precision with the system clock); `writer` and `seq` identify the line and
 * break ties, so the merged stream has one total order.
 */
export interface TeamEvent {
  ts: number;
  type: CoreEventType | (string & {});
  writer: string;
  seq: number;
  taskId?: string;
  agentId?: string;
  attempt?: number;
  [field: string]: unknown;
}

/** The fields a caller supplies; `ts`, `writer` and `seq` are filled in. */
export type EventInput = Omit<TeamEvent, 'ts' | 'writer' | 'seq'>;

export function compareEvents(a: TeamEvent, b: TeamEvent): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.writer !== b.writer) return a.writer < b.writer ? -1 : 1;
  return a.seq - b.seq;
}

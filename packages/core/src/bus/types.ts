/** Kinds the framework uses; any other `^[a-z][a-z0-9_.-]{0,63}$` kind works too. */
export const MESSAGE_KINDS = [
  'text',
  'task_assignment',
  'task_completed',
  'plan_approval_request',
  'plan_decision',
  'review_verdict',
  'shutdown_request',
  'idle',
] as const;

export type MessageKind = (typeof MESSAGE_KINDS)[number] | (string & {});

/** A message on the bus. `to` is an agent id, or `'*'` for every other agent. */
export interface Message<Body = unknown> {
  /** Sortable and unique: `<time36>-<seq36>-<process>-<from>`. */
  id: string;
  from: string;
  to: string;
  kind: MessageKind;
  body: Body;
  /** Epoch ms when it was sent. */
  ts: number;
  /** Optional: the message this one answers. */
  replyTo?: string;
  /** Optional: the task it is about. */
  taskId?: string;
}

export interface SendInput<Body = unknown> {
  from: string;
  /** An agent id, or `'*'` to broadcast to every other agent on the bus. */
  to: string;
  /** @default 'text' */
  kind?: MessageKind;
  body?: Body;
  replyTo?: string;
  taskId?: string;
}

export interface CompactReport {
  /** Archived messages packed into segment files. */
  packed: number;
  /** Segments deleted because they outlived the retention period. */
  expiredSegments: number;
}

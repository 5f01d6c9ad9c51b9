import type { Message, MessageKind, TaskInput, TaskRecord, TaskStatus } from '@agent-team/core';
import type { Codebase } from '../codebase/codebase.js';
import type { Attribution, ExecutableTool, LanguageModel } from '../models/index.js';

/** A dependency of the task at hand, as the agent sees it. */
export interface DependencyResult {
  id: string;
  description: string;
  status: TaskStatus;
  /** Present when it completed. */
  result?: unknown;
  /** Why it failed, was blocked or cancelled. */
  reason: string | null;
}

/** What {@link Agent.execute} gets besides the task. */
export interface TaskContext {
  readonly task: TaskRecord;
  readonly agentId: string;
  /** The agent's model; every call is counted for this task, agent and team. */
  readonly model: LanguageModel;
  /** Attempt number (1-based). */
  readonly attempt: number;
  /** Feedback from reviews and vetoes of earlier attempts, oldest first. */
  readonly feedback: readonly string[];
  /** Every dependency with its status and result. */
  readonly dependencies: readonly DependencyResult[];
  /** Results of the dependencies that completed, by id. */
  readonly results: Readonly<Record<string, unknown>>;
  /** Messages to this agent since its cursor (now acked). */
  readonly messages: readonly Message[];
  /** Aborts when the run stops or the lease is lost: stop early, the task is handed back. */
  readonly signal: AbortSignal;
  /** Adds a task to the queue (hooks run as for any task added through the team). */
  addTask(input: TaskInput): Promise<TaskRecord>;
  /** Adds a batch atomically. */
  addTasks(inputs: readonly TaskInput[]): Promise<TaskRecord[]>;
  /** Sends a message from this agent about this task. */
  send(to: string, body: unknown, kind?: MessageKind): Promise<Message>;
  /** Tools the agent's model may call (the codebase's file tools), for `runTools`. */
  readonly tools: readonly ExecutableTool[];
  /** The codebase the agent works on, if it has one. */
  readonly codebase?: Codebase;
  /** The agent's own scratch folder, with the `workdir` option. */
  readonly workdir?: string;
  /** Reads any task of the queue. */
  get(taskId: string): Promise<TaskRecord | null>;
  /** Wraps another model so its calls are counted for this task (plus extra attribution, e.g. a MoA layer). */
  track(model: LanguageModel, extra?: Attribution): LanguageModel;
  /**
   * Return this from `execute` to hand the task back until `dependencies`
   * (usually tasks you just added) are final; it then runs again and sees
   * their results. A continuation, used by Mixture-of-Agents.
   */
  defer(dependencies: readonly string[]): Deferral;
}

/** The value {@link TaskContext.defer} returns: `execute` returns it to defer the task. */
export class Deferral {
  constructor(readonly dependencies: readonly string[]) {}
}

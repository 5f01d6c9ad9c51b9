import type { TeamRepo } from '../git/team-repo.js';
import type { AgentDirectory, EventInput, MessageBus, TaskQueue, TaskRecord } from '@agent-team/core';
import type { UsageTracker } from '../models/index.js';
import type { Plan } from '../team/plan.js';

/** A completion hook's answer: veto the result and re-open the task with this feedback. */
export interface TaskVeto {
  veto: string;
}

/** A plan approver's answer. */
export interface PlanDecision {
  approved: boolean;
  /** Why not; the lead re-plans with it (bounded). */
  feedback?: string;
}

export interface TeamHooks {
  /** After a task is added through the team: by you, the lead's plan, or an agent. */
  onTaskCreated?(task: TaskRecord): void | Promise<void>;
  /**
   * When an agent finished a task, before its result is recorded. Return
   * `{ veto: reason }` to re-open the task with that feedback instead.
   */
  onTaskCompleted?(task: TaskRecord, result: unknown, info: { agentId: string }): void | TaskVeto | Promise<void | TaskVeto>;
  /**
   * When nothing is left to claim or run, before the run ends. Add tasks to keep
   * the team going.
   */
  onIdle?(): void | Promise<void>;
  /** Approves (or not) a plan before the lead enqueues it. */
  approvePlan?(plan: Plan, goal: string): boolean | PlanDecision | Promise<boolean | PlanDecision>;
}

export interface TeamSettings {
  /** Review rounds asking for changes before `reviewLimit` applies. @default 2 */
  maxReviewRounds: number;
  /** What happens when a task still needs changes after the last round. @default 'fail' */
  reviewLimit: 'fail' | 'approve';
  /** Vetoes from `onTaskCompleted` before the task fails for good. @default 3 */
  maxVetoes: number;
  /** Plan re-asks when the plan is invalid or rejected. @default 2 */
  maxPlanRepairs: number;
  /** Lease of each claim. @default 30000 */
  leaseMs: number;
}

/** Everything an agent needs from its team (or, in a CLI worker, from the workspace alone). */
export interface AgentRuntime {
  readonly queue: TaskQueue;
  readonly bus: MessageBus;
  readonly usage: UsageTracker;
  readonly teamId: string;
  readonly hooks: TeamHooks;
  readonly settings: TeamSettings;
  /** Why new claims must stop now (a budget, the end of the run), or null. */
  claimStop(): string | null;
  /** Where agents report what they are doing (for `status` and `watch`). */
  readonly agents: AgentDirectory;
  /** Records a team-level event (event log and in-process listeners). */
  emit(event: EventInput): void;
  /** Tells in-process listeners only (high-rate events such as streamed text, not worth the log). */
  notify(event: EventInput): void;
  /** Agents that should hear about completions and idleness. */
  leads(): readonly string[];
  /** Requirements (roles, specialties) that some agent of the team satisfies. */
  capabilities(): ReadonlySet<string>;
  /** Called for every task an agent adds (hooks, tracking). */
  taskAdded(task: TaskRecord): Promise<void>;
  /** Ends the team's run with this reason (a workspace that cannot be written): the run reports it as aborted. */
  halt?(reason: string): void;
  /** Where the team's backend lives (a folder, or a URL without its password), for programs agents run. */
  readonly backendLocation?: { kind: string; location: string };
  /** The team's git repository (`codebase` of the team), opened when the run starts. */
  readonly repo?: TeamRepo | undefined;
}

// The events the agents layer writes, added to core's typed event map by
// declaration merging, so `team.on('plan.created', (e) => e.tasks)` is typed.
import type { TeamEventType } from '@agent-team/core';
import type { ReviewOutcome, ReviewVerdict } from '../roles/review.js';
import type { RunStatus, RunSummary } from './summary.js';

declare module '@agent-team/core' {
  interface TeamEventMap {
    /** An agent has nothing to claim for now. */
    'agent.idle': { agentId: string };
    /** An agent's task threw; the task is retried or failed as its policy says. */
    'agent.error': { agentId: string; taskId?: string; error: string };
    /** An agent began work on a claimed task. */
    'task.started': { taskId: string; agentId: string; attempt: number };
    /** An agent lost its claim (its lease expired or the task was cancelled) while working. */
    'task.lost': { taskId: string; agentId: string; reason: string };
    /** An agent handed an unfinished task back when the run ended. */
    'task.handed_back': { taskId: string; agentId: string };
    /** The `onTaskCompleted` hook vetoed a result; the task runs again with the feedback. */
    'task.vetoed': { taskId: string; agentId: string; feedback: string };
    /** A reviewer's verdict on a task held for review (`taskId` is the reviewed task). */
    'review.verdict': {
      taskId: string;
      agentId: string;
      verdict: ReviewVerdict['verdict'];
      round: number;
      outcome: ReviewOutcome['outcome'];
      feedback: string;
    };
    /** The lead proposed a plan of `steps` tasks (before approval). */
    'plan.proposed': { taskId: string; agentId: string; steps: number };
    /** The plan was invalid or not approved; the lead re-plans with the feedback. */
    'plan.rejected': { taskId: string; agentId: string; feedback: string };
    /** The lead enqueued its plan: the ids of the tasks it added. */
    'plan.created': { taskId: string; agentId: string; tasks: string[] };
    /** Streamed text of a Mixture-of-Agents aggregation (in process only, not in the log). */
    'moa.delta': { taskId: string; agentId: string; delta: string };
    /** One model call: tokens, cost (null when the model has no price) and time. */
    'model.call': {
      agentId?: string;
      taskId?: string;
      model: string;
      purpose?: string;
      inputTokens: number;
      outputTokens: number;
      /** Of inputTokens: read from / written to the provider's prompt cache (absent when none). */
      cacheReadTokens?: number;
      cacheWriteTokens?: number;
      /** USD prompt caching saved on this call (absent when nothing was cached). */
      cacheSavingsUsd?: number;
      costUsd: number | null;
      durationMs: number;
    };
    /** `AgentTeam.run()` started; `budget` when one was set (the report draws it). */
    'team.started': { teamId: string; agents: string[]; budget?: { maxTokens?: number; maxUsd?: number } };
    /** `AgentTeam.run()` ended. */
    'team.finished': { teamId: string; status: RunStatus; reason: string };
    /** The CLI's `run` recorded the run's summary. */
    'team.summary': { teamId: string; summary: RunSummary };
  }
}

/** The event types the agents layer adds to `TeamEventMap`. */
export const AGENT_EVENT_TYPES = [
  'agent.idle',
  'agent.error',
  'task.started',
  'task.lost',
  'task.handed_back',
  'task.vetoed',
  'review.verdict',
  'plan.proposed',
  'plan.rejected',
  'plan.created',
  'moa.delta',
  'model.call',
  'team.started',
  'team.finished',
  'team.summary',
] as const satisfies readonly TeamEventType[];

import { ValidationError, type TaskRecord } from '@agent-team/core';
import { generateObject, type JsonSchema } from '../models/index.js';
import type { Agent } from '../agent/agent.js';
import { asText, clip } from '../agent/prompts.js';
import type { AgentRuntime } from '../agent/runtime.js';
import type { TaskContext } from '../agent/task-context.js';

export interface ReviewVerdict {
  verdict: 'approve' | 'changes';
  feedback: string;
  issues?: string[];
}

export interface ReviewOutcome extends ReviewVerdict {
  reviewOf: string;
  round: number;
  /** What happened to the reviewed task. */
  outcome: 'approved' | 'reopened' | 'rejected' | 'approved-at-limit' | 'skipped';
  reason?: string;
}

export const REVIEW_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['verdict', 'feedback'],
  properties: {
    verdict: { type: 'string', enum: ['approve', 'changes'] },
    feedback: { type: 'string', description: 'what is good, and exactly what to change if anything' },
    issues: { type: 'array', items: { type: 'string' } },
  },
};

/**
 * Reviews the task a review task points at: approve it (its dependents may
 * run), re-open it with the feedback, or, when changes are still needed after
 * the last allowed round, fail it (or approve it, as the team is configured).
 */
export async function performReview(agent: Agent, runtime: AgentRuntime, task: TaskRecord, ctx: TaskContext): Promise<ReviewOutcome> {
  const targetId = task.metadata.reviewOf;
  if (typeof targetId !== 'string') {
    throw new ValidationError(`review task "${task.id}" has no metadata.reviewOf naming the task to review`);
  }
  const round = typeof task.metadata.round === 'number' ? task.metadata.round : 1;
  const target = await runtime.queue.get(targetId);
  if (!target || target.status !== 'review') {
    const status = target?.status ?? 'missing';
    return { verdict: 'approve', feedback: '', reviewOf: targetId, round, outcome: 'skipped', reason: `task "${targetId}" is ${status}, not waiting for review` };
  }
  const coding = await codingChange(runtime, target);
  const { object } = await generateObject<ReviewVerdict>(ctx.model, {
    purpose: 'review',
    schema: REVIEW_SCHEMA,
    system: agent.systemPrompt(),
    signal: ctx.signal,
    // Counted against the reviewed task: reviewing is part of what it cost.
    attribution: { taskId: targetId },
    messages: [{ role: 'user', content: reviewPrompt(target, round, runtime.settings.maxReviewRounds, coding?.prompt) }],
  });
  const verdict: ReviewVerdict = {
    verdict: object.verdict === 'changes' ? 'changes' : 'approve',
    feedback: String(object.feedback ?? ''),
    ...(Array.isArray(object.issues) ? { issues: object.issues.map(String) } : {}),
  };
  if (verdict.verdict === 'approve' && coding?.failingTests) {
    // A commit whose tests fail is not approved (unless the codebase allows failing tests).
    verdict.verdict = 'changes';
    verdict.feedback = `Approval refused: the tests fail on this commit (${coding.failingTests}). Make them pass.`;
  }
  let outcome: ReviewOutcome['outcome'];
  let reason: string | undefined;
  const merge = verdict.verdict === 'approve' && coding ? await mergeApproved(agent, runtime, target, ctx) : undefined;
  if (merge) {
    // Approved, but the merge queue refused it: the task starts over from the merged code.
    verdict.verdict = 'changes';
    verdict.feedback = merge;
  }
  if (verdict.verdict === 'approve') {
    await runtime.queue.approve(targetId, { agentId: agent.id });
    outcome = 'approved';
  } else if (merge) {
    await runtime.queue.reopen(targetId, merge);
    outcome = 'reopened';
  } else if (round < runtime.settings.maxReviewRounds) {
    await runtime.queue.reopen(targetId, verdict.feedback || 'the reviewer asked for changes');
    outcome = 'reopened';
  } else if (runtime.settings.reviewLimit === 'approve') {
    await runtime.queue.approve(targetId, { agentId: agent.id });
    outcome = 'approved-at-limit';
    reason = `approved after ${round} review rounds although changes were still requested: ${verdict.feedback}`;
  } else {
    reason = `changes still requested after ${round} review round${round === 1 ? '' : 's'}: ${verdict.feedback}`;
    await runtime.queue.reject(targetId, reason);
    outcome = 'rejected';
  }
  runtime.emit({ type: 'review.verdict', taskId: targetId, agentId: agent.id, verdict: verdict.verdict, round, outcome, feedback: verdict.feedback });
  if (target.owner && target.owner !== agent.id) {
    await runtime.bus.send({
      from: agent.id,
      to: target.owner,
      kind: 'review_verdict',
      taskId: targetId,
      body: { ...verdict, round, outcome },
    });
  }
  return { ...verdict, reviewOf: targetId, round, outcome, ...(reason ? { reason } : {}) };
}

/** For a task of a coding team: its diff (clipped, with the stat) and test outcome for the prompt, and whether its tests fail. */
async function codingChange(runtime: AgentRuntime, target: TaskRecord): Promise<{ prompt: string; failingTests?: string } | undefined> {
  const repo = runtime.repo;
  const result = target.result as { branch?: unknown; commit?: unknown; diffStat?: unknown; test?: { passed?: boolean; command?: string; exitCode?: number | null; output?: string } } | undefined;
  if (!repo || typeof result?.branch !== 'string' || typeof result.commit !== 'string') return undefined;
  const diff = await repo.diff(target.id).catch((err: unknown) => `(the diff could not be read: ${(err as Error).message})`);
  const lines = ['', `The change (commit ${result.commit.slice(0, 12)} on ${result.branch}):`, typeof result.diffStat === 'string' ? result.diffStat : '', '', clip(diff, 12_000)];
  const test = result.test;
  if (test) {
    const failedBefore = (test as { baseFailed?: boolean }).baseFailed ? ', as they did before this change' : '';
    lines.push('', `Tests (${test.command ?? 'the test command'}): ${test.passed ? 'passed' : `FAILED (exit ${String(test.exitCode)})${failedBefore}`}`, clip(test.output ?? '', 3000));
  }
  // Refused: a commit that turns passing tests red. Tests that failed where the work started too do not block it.
  const failing = test && !test.passed && !(test as { baseFailed?: boolean }).baseFailed && !repo.options.allowFailingTests ? `${test.command ?? 'tests'} exit ${String(test.exitCode)}: ${(test.output ?? '').slice(-600)}` : undefined;
  return { prompt: lines.join('\n'), ...(failing ? { failingTests: failing } : {}) };
}

/** Merges an approved coding task through the merge queue; the feedback to re-open it with when the merge was refused. */
async function mergeApproved(agent: Agent, runtime: AgentRuntime, target: TaskRecord, ctx: TaskContext): Promise<string | undefined> {
  const repo = runtime.repo;
  if (!repo) return undefined;
  const merged = await repo.merge(target.id, agent.id, ctx.signal);
  if (merged.merged) {
    // In a shared tree the task's commit landed on mergeInto when it was made, and was announced then.
    if (!repo.shared) runtime.emit({ type: 'git.merged', taskId: target.id, agentId: agent.id, into: merged.into, commit: merged.commit });
    await repo.removeWorktree(target.id);
    return undefined;
  }
  const feedback =
    merged.reason === 'conflict'
      ? `Approved, but the merge conflicts with work merged meanwhile (${merged.files.join(', ') || 'the files'}): start again from the merged code and make your change on top of it.`
      : `Approved, but the tests fail after merging into ${repo.mergeInto} (${merged.test.command}, exit ${String(merged.test.exitCode)}):\n${merged.test.output.slice(-1500)}`;
  runtime.emit({ type: 'git.merge_refused', taskId: target.id, agentId: agent.id, reason: merged.reason, detail: feedback.split('\n')[0] ?? '' });
  await repo.startOver(target.id, target.attempt);
  return feedback;
}

function reviewPrompt(target: TaskRecord, round: number, maxRounds: number, change?: string): string {
  const lines = [
    `Task: ${target.id}`,
    '',
    'The task was:',
    target.description.trim(),
    '',
    'The result to review:',
    clip(asText(target.result), 8000),
  ];
  if (change) lines.push(change);
  if (target.feedback.length > 0) {
    lines.push('', 'Feedback given on earlier attempts (check it was addressed):');
    target.feedback.forEach((f, i) => lines.push(`${i + 1}. ${f}`));
  }
  lines.push('', `This is review round ${round} of at most ${maxRounds}. Answer with a verdict ("approve" or "changes") and feedback.`);
  return lines.join('\n');
}

import { ValidationError, type TaskRecord } from '@agent-team/core';
import { generateObject, type JsonSchema } from '../models/index.js';
import type { Agent } from '../agent/agent.js';
import { asText, clip } from '../agent/prompts.js';
import type { AgentRuntime } from '../agent/runtime.js';
import type { TaskContext } from '../agent/task-context.js';
import { approvalRefusal, codingReviewMaterial, isMergeFeedback, mergeApproved } from '../git/review.js';

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
  // A coding task: the reviewer sees the diff and the test outcome, not only the prose.
  const repo = runtime.repo;
  const material = repo ? await codingReviewMaterial(repo, target) : null;
  const { object } = await generateObject<ReviewVerdict>(ctx.model, {
    purpose: 'review',
    schema: REVIEW_SCHEMA,
    system: agent.systemPrompt(),
    signal: ctx.signal,
    // Counted against the reviewed task: reviewing is part of what it cost.
    attribution: { taskId: targetId },
    messages: [{ role: 'user', content: reviewPrompt(target, round, runtime.settings.maxReviewRounds, material) }],
  });
  let verdict: ReviewVerdict = {
    verdict: object.verdict === 'changes' ? 'changes' : 'approve',
    feedback: String(object.feedback ?? ''),
    ...(Array.isArray(object.issues) ? { issues: object.issues.map(String) } : {}),
  };
  let outcome: ReviewOutcome['outcome'];
  let reason: string | undefined;
  // An approval of a commit whose tests fail is refused unless the codebase allows it.
  const refusal = repo && verdict.verdict === 'approve' ? approvalRefusal(repo, target) : null;
  if (refusal) verdict = { ...verdict, verdict: 'changes', feedback: refusal };
  if (verdict.verdict === 'approve' && repo) {
    // The merge queue: merged before the approval, so the task's dependents start from the merged work.
    const merged = await mergeApproved(repo, target, agent.id, ctx.signal);
    if (merged.ok) {
      if (merged.commit) runtime.emit({ type: 'git.merged', taskId: targetId, agentId: agent.id, into: repo.mergeInto, commit: merged.commit });
      await runtime.queue.approve(targetId, { agentId: agent.id });
      outcome = 'approved';
    } else {
      runtime.emit({ type: 'git.merge_refused', taskId: targetId, agentId: agent.id, reason: merged.reason, detail: merged.detail });
      const earlier = target.feedback.filter(isMergeFeedback).length;
      if (earlier + 1 >= target.maxAttempts) {
        reason = `${merged.detail} (after ${earlier + 1} merge attempts)`;
        await runtime.queue.reject(targetId, reason);
        outcome = 'rejected';
      } else {
        await runtime.queue.reopen(targetId, merged.feedback);
        outcome = 'reopened';
        reason = merged.detail;
      }
    }
  } else if (verdict.verdict === 'approve') {
    await runtime.queue.approve(targetId, { agentId: agent.id });
    outcome = 'approved';
  } else if (round < runtime.settings.maxReviewRounds) {
    await runtime.queue.reopen(targetId, verdict.feedback || 'the reviewer asked for changes');
    outcome = 'reopened';
  } else if (runtime.settings.reviewLimit === 'approve' && !refusal) {
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

function reviewPrompt(target: TaskRecord, round: number, maxRounds: number, material: string | null): string {
  const lines = [
    `Task: ${target.id}`,
    '',
    'The task was:',
    target.description.trim(),
    '',
    'The result to review:',
    clip(asText(material ? (target.result as { summary?: unknown }).summary : target.result), 8000),
  ];
  if (material) lines.push(material);
  if (target.feedback.length > 0) {
    lines.push('', 'Feedback given on earlier attempts (check it was addressed):');
    target.feedback.forEach((f, i) => lines.push(`${i + 1}. ${f}`));
  }
  lines.push('', `This is review round ${round} of at most ${maxRounds}. Answer with a verdict ("approve" or "changes") and feedback.`);
  return lines.join('\n');
}

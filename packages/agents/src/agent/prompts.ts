import type { Message, TaskRecord } from '@agent-team/core';
import type { DependencyResult } from './task-context.js';

/** Keeps prompts bounded: long dependency results are cut with a note. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n[... ${text.length - max} more characters cut]`;
}

export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export interface PromptLimits {
  /** Characters of each dependency result included. @default 4000 */
  maxDependencyChars?: number;
}

/**
 * The user turn for a piece of work: the task, what its dependencies produced,
 * feedback from earlier attempts, and messages for the agent.
 */
export function taskPrompt(
  task: TaskRecord,
  parts: { dependencies: readonly DependencyResult[]; feedback: readonly string[]; messages: readonly Message[] },
  limits: PromptLimits = {},
): string {
  const max = limits.maxDependencyChars ?? 4000;
  const lines = [`Task: ${task.id}`, '', task.description.trim()];
  const done = parts.dependencies.filter((d) => d.status === 'completed');
  if (done.length > 0) {
    lines.push('', 'Results of the tasks this one depends on:');
    for (const dep of done) lines.push('', `### ${dep.id}: ${dep.description}`, clip(asText(dep.result), max));
  }
  const missing = parts.dependencies.filter((d) => d.status !== 'completed');
  if (missing.length > 0) {
    lines.push('', 'These dependencies did not succeed; work with what is there:');
    for (const dep of missing) lines.push(`- ${dep.id} (${dep.status}${dep.reason ? `: ${dep.reason}` : ''})`);
  }
  if (parts.feedback.length > 0) {
    lines.push('', 'Feedback on earlier attempts of this task (address all of it):');
    parts.feedback.forEach((f, i) => lines.push(`${i + 1}. ${f}`));
  }
  // Coordination notices (idle, completions, verdicts already in the feedback) are
  // not for the model; and leaving them out keeps a prompt independent of timing.
  const said = parts.messages.filter((m) => !COORDINATION_KINDS.has(m.kind));
  if (said.length > 0) {
    lines.push('', 'Messages for you:');
    for (const m of said) lines.push(`- from ${m.from} (${m.kind}): ${clip(asText(m.body), 500)}`);
  }
  return lines.join('\n');
}

const COORDINATION_KINDS = new Set(['idle', 'task_completed', 'review_verdict']);

/**
 * System prompts by role. They name the role, not the agent: a task's prompt
 * must not depend on which agent of a role happened to claim it, or offline
 * runs and replays would not be reproducible.
 */
export const SYSTEM_PROMPTS = {
  worker: () =>
    'You are a worker on a team of AI agents sharing a task queue. Do the task you are given ' +
    'thoroughly and report the result concisely: what you did, the outcome, and anything the next ' +
    'person must know. Keep output focused; no preamble.',
  lead: () =>
    'You are the lead of a team of AI agents. You break goals into tasks other agents can do ' +
    'in parallel, and you synthesise their results into one answer that is better than any single part.',
  reviewer: () =>
    "You are a reviewer on a team of AI agents. You check another agent's work against its task: " +
    'correctness, completeness, and whether earlier feedback was addressed. Approve good work; ask for ' +
    'changes only with specific, actionable feedback.',
  specialist: (specialty: string) =>
    `You are a ${specialty} specialist on a team of AI agents. ${SPECIALTY_FOCUS[specialty] ?? `Bring your ${specialty} expertise to the task.`}`,
} as const;

/** What each well-known specialty looks for (the seed's SecurityAgent, generalised). */
export const SPECIALTY_FOCUS: Record<string, string> = {
  security:
    'Focus on input validation, authentication and authorisation, secrets handling, injection, path ' +
    'traversal and data exposure. Rate each finding (critical, high, medium, low) and say how to fix it.',
  performance:
    'Focus on algorithmic complexity, needless I/O or allocation, blocking calls on hot paths, and what ' +
    'to measure. Rank findings by expected impact.',
  docs:
    'Focus on whether the documentation is accurate, complete and easy to follow: missing steps, stale ' +
    'examples, undocumented options. Propose concrete wording.',
  testing:
    'Focus on what is untested, tests that cannot fail, missing edge cases and flaky patterns. Propose ' +
    'concrete test cases.',
};

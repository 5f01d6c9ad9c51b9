import { styleText } from 'node:util';
import { type TaskCounts, type TaskRecord, type TaskStatus, isFinal } from '@agent-team/core';
import type { UsageTotals } from '../models/index.js';
import { asText } from '../agent/prompts.js';

/**
 * - `completed`: every task completed
 * - `failed`: nothing left to run, but some tasks failed, were blocked or cancelled
 * - `stalled`: tasks remain that no agent on the team can take (or that wait on those)
 * - `budget_exceeded`, `timeout`, `aborted`: the run was cut short; unfinished tasks are listed
 */
export type RunStatus = 'completed' | 'failed' | 'stalled' | 'budget_exceeded' | 'timeout' | 'aborted';

export interface TaskOutcome {
  id: string;
  description: string;
  type: string;
  status: TaskStatus;
  attempt: number;
  owner: string | null;
  /** Why it failed, was blocked or cancelled, or why it did not finish. */
  reason: string | null;
  errors: string[];
  /** The result (completed tasks). */
  result?: unknown;
}

export interface RunSummary {
  status: RunStatus;
  /** One sentence saying why the run ended. */
  reason: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Seed-compatible totals: `summary.completed` of `summary.total`. */
  total: number;
  completed: number;
  failed: number;
  blocked: number;
  cancelled: number;
  /** Tasks not final when the run ended. */
  unfinished: number;
  counts: TaskCounts;
  tasks: TaskOutcome[];
  /** Claims handed back when the run ended (timeout, abort, budget). */
  released: Array<{ taskId: string; agentId: string }>;
  usage: {
    total: UsageTotals;
    byAgent: Record<string, UsageTotals>;
    byTask: Record<string, UsageTotals>;
  };
  /** Set when a token or cost budget stopped new claims. */
  budget: { reason: string } | null;
}

export function taskOutcome(task: TaskRecord, reason?: string): TaskOutcome {
  const outcome: TaskOutcome = {
    id: task.id,
    description: task.description,
    type: task.type,
    status: task.status,
    attempt: task.attempt,
    owner: task.owner,
    reason: task.reason ?? reason ?? null,
    errors: task.errors.map((e) => `attempt ${e.attempt}${e.agentId ? ` (${e.agentId})` : ''}: ${e.message}`),
  };
  if (task.status === 'completed') outcome.result = task.result;
  return outcome;
}

export interface RunSummaryInput {
  /** How the run ended: `idle` when it ran out of work, otherwise the status that cut it short. */
  ending: { status: RunStatus | 'idle'; reason: string };
  startedAt: number;
  released: RunSummary['released'];
  records: TaskRecord[];
  counts: TaskCounts;
  /** Whether some agent of the team would claim a task of this type and requirement. */
  takers: (task: Pick<TaskRecord, 'type' | 'requires'>) => boolean;
  usage: RunSummary['usage'];
  budgetReason: string | null;
}

/** The summary `AgentTeam.run()` returns: the final status, why, and every task's outcome. */
export function buildRunSummary(input: RunSummaryInput): RunSummary {
  const { ending, records, counts } = input;
  const byId = new Map(records.map((r) => [r.id, r]));
  const tasks: TaskOutcome[] = records.map((r) => taskOutcome(r, isFinal(r.status) ? undefined : whyUnfinished(r, byId, ending, input.takers)));
  const unfinished = records.filter((r) => !isFinal(r.status)).length;
  const failed = counts.failed;
  let status: RunStatus;
  let reason = ending.reason;
  if (ending.status !== 'idle') {
    status = ending.status;
  } else if (unfinished > 0) {
    status = 'stalled';
    reason = `${unfinished} task${unfinished === 1 ? '' : 's'} could not run: no agent on the team can take them (or what they wait for)`;
  } else if (failed + counts.blocked + counts.cancelled > 0) {
    status = 'failed';
    reason = `${failed} failed, ${counts.blocked} blocked, ${counts.cancelled} cancelled of ${counts.total}`;
  } else {
    status = 'completed';
    reason = `all ${counts.total} tasks completed`;
  }
  return {
    status,
    reason,
    startedAt: new Date(input.startedAt).toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: Date.now() - input.startedAt,
    total: counts.total,
    completed: counts.completed,
    failed,
    blocked: counts.blocked,
    cancelled: counts.cancelled,
    unfinished,
    counts,
    tasks,
    released: input.released,
    usage: input.usage,
    budget: input.budgetReason ? { reason: input.budgetReason } : null,
  };
}

/** One line on why a task was not final when the run ended. */
export function whyUnfinished(
  task: TaskRecord,
  byId: Map<string, TaskRecord>,
  ending: { status: string; reason: string },
  takers: RunSummaryInput['takers'],
): string {
  const cutShort = ending.status !== 'idle' ? ` (${ending.reason})` : '';
  switch (task.status) {
    case 'pending': {
      const waiting = task.dependencies.filter((d) => !isFinal(byId.get(d)?.status ?? 'completed'));
      return `waiting for ${waiting.map((d) => `"${d}" (${byId.get(d)?.status ?? 'missing'})`).join(', ') || 'its dependencies'}${cutShort}`;
    }
    case 'ready':
      if (!takers(task)) return `no agent on the team takes ${task.type} tasks${task.requires ? ` requiring "${task.requires}"` : ''}`;
      return `not started${cutShort}`;
    case 'review':
      return takers({ type: 'review', requires: (task.metadata.reviewRequires as string) ?? null })
        ? `waiting for review${cutShort}`
        : 'waiting for review, but the team has no reviewer';
    case 'claimed':
      return `held by ${task.owner ?? 'another process'}${cutShort}`;
    case 'delayed':
      return `retry scheduled${task.notBefore ? ` for ${new Date(task.notBefore).toISOString()}` : ''}${cutShort}`;
    default:
      return ending.reason;
  }
}

/** A readable multi-line report of a run, for terminals and logs. */
export function formatSummary(summary: RunSummary, options: { color?: boolean; resultChars?: number } = {}): string {
  const c = colors(options.color ?? false);
  const max = options.resultChars ?? 160;
  const lines: string[] = [];
  const statusColor = summary.status === 'completed' ? c.green : summary.status === 'failed' ? c.red : c.yellow;
  lines.push(
    `${c.bold('Run')} ${statusColor(summary.status)}: ${summary.reason}`,
    `${summary.completed}/${summary.total} completed, ${summary.failed} failed, ${summary.blocked} blocked, ${summary.cancelled} cancelled, ${summary.unfinished} unfinished in ${(summary.durationMs / 1000).toFixed(1)} s`,
    '',
  );
  for (const t of summary.tasks) {
    const mark = t.status === 'completed' ? c.green('✓') : ['failed', 'blocked', 'cancelled'].includes(t.status) ? c.red('✗') : c.yellow('…');
    lines.push(`${mark} ${t.id} ${c.dim(`[${t.type}, ${t.status}${t.attempt > 1 ? `, attempt ${t.attempt}` : ''}${t.owner ? `, ${t.owner}` : ''}]`)}`);
    if (t.reason) lines.push(`    ${c.dim('reason:')} ${t.reason}`);
    if (t.status === 'completed' && t.result !== undefined) {
      const text = resultText(t.result).replace(/\s+/g, ' ').trim();
      lines.push(`    ${c.dim('→')} ${text.length > max ? `${text.slice(0, max - 1)}…` : text}`);
    }
  }
  if (summary.released.length > 0) {
    lines.push('', `Handed back at the end: ${summary.released.map((r) => `${r.taskId} (${r.agentId})`).join(', ')}`);
  }
  lines.push('', c.bold('Usage'));
  const fmt = (u: UsageTotals) =>
    `${u.calls} calls, ${u.inputTokens} in + ${u.outputTokens} out tokens, $${u.costUsd.toFixed(4)}${u.unpricedCalls ? ` (${u.unpricedCalls} unpriced)` : ''}`;
  for (const [agent, u] of Object.entries(summary.usage.byAgent)) lines.push(`  ${agent.padEnd(16)} ${fmt(u)}`);
  lines.push(`  ${'total'.padEnd(16)} ${fmt(summary.usage.total)}`);
  if (summary.budget) lines.push('', c.yellow(`Budget: ${summary.budget.reason}`));
  return lines.join('\n');
}

function resultText(result: unknown): string {
  if (result && typeof result === 'object' && 'answer' in result && typeof result.answer === 'string') {
    return result.answer;
  }
  return asText(result);
}

export function colors(enabled: boolean) {
  // Whether to colour is the caller's decision (see useColor); Node's styleText only draws.
  const style = (format: Parameters<typeof styleText>[0]) => (text: string) => (enabled ? styleText(format, text, { validateStream: false }) : text);
  return { bold: style('bold'), dim: style('dim'), red: style('red'), green: style('green'), yellow: style('yellow'), cyan: style('cyan') };
}

import fs from 'node:fs';
import type { Backend, TeamEvent } from '@agent-team/core';
import { buildReport, type RunReport } from '../cli/commands/export.js';
import { type NamedChange, diffOfChange, namedChange } from '../git/result.js';

/** One claim of one task, from `task.claimed` to the event that ended it. */
export interface AttemptSpan {
  taskId: string;
  agentId: string;
  attempt: number;
  /** Epoch ms. */
  start: number;
  /** Epoch ms; null while the claim is still held. */
  end: number | null;
  /** completed, review, failed, retried, requeued (lease taken over), released, deferred, reopened, cancelled, or running. */
  outcome: string;
  /** The error or reason, when the attempt ended badly. */
  note?: string;
}

/** What the HTML report and the dashboard draw: the export's report plus the attempts read from the event log. */
export interface ReportData extends RunReport {
  attempts: AttemptSpan[];
  /** Epoch ms of the first and last event, for the timeline's axis. */
  startedAt: number | null;
  endedAt: number | null;
  /** The run's budget, from the last `team.started` event that carried one; null when none was set. */
  budget: { maxTokens?: number; maxUsd?: number } | null;
  /** Cumulative spend after each model call: [epoch ms, input + output tokens, USD]; thinned to at most {@link MAX_SPEND_POINTS}. */
  spend: Array<[number, number, number]>;
  /** The diff of each coding task whose repository was reachable when the data was built, clipped; the others show their diff stat. */
  diffs: Record<string, TaskDiff>;
}

export interface TaskDiff {
  /** `git diff <base> <commit>`, cut at a line boundary when longer than the limit. */
  text: string;
  /** The whole diff's size in bytes. */
  bytes: number;
  clipped: boolean;
}

export const MAX_SPEND_POINTS = 400;
/** A diff longer than this is clipped (the report stays mailable; `agent-team diff <task>` shows it all). */
export const MAX_DIFF_BYTES = 64 * 1024;
/** Past this many bytes of diffs in one report, the remaining coding tasks show their stat only. */
export const MAX_DIFFS_TOTAL_BYTES = 4 * 1024 * 1024;

const ENDINGS = new Set(['task.completed', 'task.review', 'task.failed', 'task.retried', 'task.requeued', 'task.released', 'task.deferred', 'task.reopened', 'task.cancelled']);

/** Folds task lifecycle events into attempt spans (pure, so the dashboard can run it on live events too). */
export function attemptsFromEvents(events: readonly TeamEvent[]): AttemptSpan[] {
  const open = new Map<string, AttemptSpan>();
  const done: AttemptSpan[] = [];
  for (const e of events) {
    const taskId = typeof e.taskId === 'string' ? e.taskId : undefined;
    if (!taskId) continue;
    if (e.type === 'task.claimed') {
      const prev = open.get(taskId);
      if (prev) done.push({ ...prev, end: e.ts, outcome: 'requeued', note: 'claim superseded' });
      open.set(taskId, { taskId, agentId: String(e.agentId), attempt: Number(e.attempt), start: e.ts, end: null, outcome: 'running' });
    } else if (ENDINGS.has(e.type)) {
      const span = open.get(taskId);
      if (!span) continue;
      open.delete(taskId);
      const outcome = e.type.slice('task.'.length);
      const fields = e as unknown as Record<string, unknown>;
      const note = [fields.error, fields.reason, fields.feedback].find((v): v is string => typeof v === 'string');
      done.push({ ...span, end: e.ts, outcome, ...(note ? { note } : {}) });
    }
  }
  return [...done, ...open.values()].sort((a, b) => a.start - b.start);
}

/** Diffs by `repo\0base\0commit`: commits never change, so a live dashboard asks git once per task (null: not reachable). */
export type DiffCache = Map<string, TaskDiff | null>;

export interface ReportDataOptions {
  /** Read coding tasks' diffs from their repositories (when reachable). @default true */
  diffs?: boolean;
  /** Reused across builds (the dashboard's refreshes). */
  diffCache?: DiffCache;
}

/** Clips text to at most `max` bytes of UTF-8, at the last line break before the cut. */
export function clipDiff(text: string, max = MAX_DIFF_BYTES): TaskDiff {
  const bytes = Buffer.byteLength(text);
  if (bytes <= max) return { text, bytes, clipped: false };
  let cut = Buffer.from(text).subarray(0, max).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  const nl = cut.lastIndexOf('\n');
  return { text: nl > 0 ? cut.slice(0, nl + 1) : cut, bytes, clipped: true };
}

async function readDiff(change: NamedChange, cache: DiffCache | undefined): Promise<TaskDiff | null> {
  const key = `${change.repo}\0${change.base}\0${change.commit}`;
  const known = cache?.get(key);
  if (known !== undefined) return known;
  let diff: TaskDiff | null = null;
  if (fs.existsSync(change.repo)) {
    diff = await diffOfChange(change).then(
      (out) => clipDiff(out.stdout),
      () => null, // the commits are gone (gc, another clone): the stat stays
    );
  }
  cache?.set(key, diff);
  return diff;
}

/** Keeps the first, the last and evenly spaced points between. */
function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)]!);
}

export async function buildReportData(backend: Backend, options: ReportDataOptions = {}): Promise<ReportData> {
  const report = await buildReport(backend);
  const events = await backend.events.read({ types: ['task.added', 'task.claimed', 'model.call', 'team.started', ...ENDINGS] as TeamEvent['type'][] });
  let startedAt: number | null = null;
  let endedAt: number | null = null;
  let budget: ReportData['budget'] = null;
  const spend: ReportData['spend'] = [];
  let tokens = 0;
  let usd = 0;
  for (const e of events) {
    if (startedAt === null || e.ts < startedAt) startedAt = e.ts;
    if (endedAt === null || e.ts > endedAt) endedAt = e.ts;
    if (e.type === 'model.call') {
      tokens += Number(e.inputTokens ?? 0) + Number(e.outputTokens ?? 0);
      if (typeof e.costUsd === 'number') usd = Math.round((usd + e.costUsd) * 1e9) / 1e9;
      spend.push([e.ts, tokens, usd]);
    } else if (e.type === 'team.started' && e.budget && (e.budget.maxTokens !== undefined || e.budget.maxUsd !== undefined)) {
      budget = { ...(e.budget.maxTokens !== undefined ? { maxTokens: e.budget.maxTokens } : {}), ...(e.budget.maxUsd !== undefined ? { maxUsd: e.budget.maxUsd } : {}) };
    }
  }
  const diffs: Record<string, TaskDiff> = {};
  if (options.diffs !== false) {
    let total = 0;
    for (const t of report.tasks) {
      const change = namedChange(t.result);
      if (!change) continue;
      if (total >= MAX_DIFFS_TOTAL_BYTES) break;
      const diff = await readDiff(change, options.diffCache);
      if (!diff) continue;
      diffs[t.id] = diff;
      total += diff.text.length;
    }
  }
  return { ...report, attempts: attemptsFromEvents(events), startedAt, endedAt, budget, spend: thin(spend, MAX_SPEND_POINTS), diffs };
}

import type { Backend, TeamEvent } from '@agent-team/core';
import { buildReport, type RunReport } from '../cli/commands/export.js';

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
}

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

export async function buildReportData(backend: Backend): Promise<ReportData> {
  const report = await buildReport(backend);
  const events = await backend.events.read({ types: ['task.added', 'task.claimed', ...ENDINGS] as TeamEvent['type'][] });
  let startedAt: number | null = null;
  let endedAt: number | null = null;
  for (const e of events) {
    if (startedAt === null || e.ts < startedAt) startedAt = e.ts;
    if (endedAt === null || e.ts > endedAt) endedAt = e.ts;
  }
  return { ...report, attempts: attemptsFromEvents(events), startedAt, endedAt };
}

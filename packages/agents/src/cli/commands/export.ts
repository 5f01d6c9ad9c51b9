import fs from 'node:fs';
import type { Backend, TaskRecord, TeamEvent } from '@agent-team/core';
import { isCodingTaskResult } from '../../git/result.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';

interface UsageRow {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  unpricedCalls: number;
  /** Of inputTokens: read from and written to the providers' prompt caches. */
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** USD prompt caching saved. */
  cacheSavingsUsd: number;
}

export interface RunReport {
  generatedAt: string;
  location: string;
  counts: Record<string, number>;
  run: { status: string; reason: string; durationMs: number; finishedAt: string } | null;
  tasks: TaskRecord[];
  reviews: Array<{ taskId: string; reviewer: string | undefined; verdict: string; round: number; outcome: string; feedback: string; at: string }>;
  usage: { total: UsageRow; byAgent: Record<string, UsageRow>; byTask: Record<string, UsageRow>; byModel: Record<string, UsageRow> };
}

const empty = (): UsageRow => ({ calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, unpricedCalls: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cacheSavingsUsd: 0 });

function addCall(row: UsageRow, e: TeamEvent<'model.call'>): void {
  row.calls += 1;
  row.inputTokens += Number(e.inputTokens ?? 0);
  row.outputTokens += Number(e.outputTokens ?? 0);
  if (typeof e.costUsd === 'number') row.costUsd = Math.round((row.costUsd + e.costUsd) * 1e9) / 1e9;
  else row.unpricedCalls += 1;
  row.cacheReadTokens += Number(e.cacheReadTokens ?? 0);
  row.cacheWriteTokens += Number(e.cacheWriteTokens ?? 0);
  if (typeof e.cacheSavingsUsd === 'number') row.cacheSavingsUsd = Math.round((row.cacheSavingsUsd + e.cacheSavingsUsd) * 1e9) / 1e9;
}

export async function buildReport(backend: Backend): Promise<RunReport> {
  const tasks = await backend.tasks.list();
  const counts = await backend.tasks.counts();
  const events = await backend.events.read({ types: ['model.call', 'review.verdict', 'team.summary'] });
  const usage = { total: empty(), byAgent: {} as Record<string, UsageRow>, byTask: {} as Record<string, UsageRow>, byModel: {} as Record<string, UsageRow> };
  const reviews: RunReport['reviews'] = [];
  let run: RunReport['run'] = null;
  for (const e of events) {
    if (e.type === 'model.call') {
      addCall(usage.total, e);
      if (e.agentId) addCall((usage.byAgent[e.agentId] ??= empty()), e);
      if (e.taskId) addCall((usage.byTask[e.taskId] ??= empty()), e);
      if (typeof e.model === 'string') addCall((usage.byModel[e.model] ??= empty()), e);
    } else if (e.type === 'review.verdict') {
      reviews.push({
        taskId: e.taskId ?? '',
        reviewer: e.agentId,
        verdict: String(e.verdict),
        round: Number(e.round ?? 1),
        outcome: String(e.outcome),
        feedback: typeof e.feedback === 'string' ? e.feedback : '',
        at: new Date(e.ts).toISOString(),
      });
    } else if (e.type === 'team.summary' && e.summary && typeof e.summary === 'object') {
      const s = e.summary as { status: string; reason: string; durationMs: number; finishedAt: string };
      run = { status: s.status, reason: s.reason, durationMs: s.durationMs, finishedAt: s.finishedAt };
    }
  }
  return { generatedAt: new Date().toISOString(), location: backend.location, counts, run, tasks, reviews, usage };
}

function md(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function fence(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return `\`\`\`${typeof value === 'string' ? 'text' : 'json'}\n${text.replace(/```/g, '`\u200b``')}\n\`\`\``;
}

/** "Prompt caching: ..." for rows with cache activity, else undefined. */
export function cacheLine(u: Pick<UsageRow, 'inputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'cacheSavingsUsd'>): string | undefined {
  if (u.cacheReadTokens === 0 && u.cacheWriteTokens === 0) return undefined;
  const share = u.inputTokens > 0 ? Math.round((100 * u.cacheReadTokens) / u.inputTokens) : 0;
  return `Prompt caching: ${u.cacheReadTokens} of ${u.inputTokens} input tokens read from cache (${share}%), ${u.cacheWriteTokens} written; saved $${u.cacheSavingsUsd.toFixed(4)}`;
}

/** A coding task's commit, merge and tests in one line, and its diff stat. */
function codingLines(result: unknown): string[] {
  if (!isCodingTaskResult(result)) return [];
  if (!result.commit) return [`Changed nothing (branch \`${result.branch}\`).`, ''];
  const tests = result.test ? `; tests \`${result.test.command}\` ${result.test.passed ? 'passed' : 'failed'}` : '';
  const merged = result.merged ? `, merged into \`${result.merged.into}\` as \`${result.merged.commit.slice(0, 12)}\`` : '';
  return [`Commit \`${result.commit.slice(0, 12)}\` on \`${result.branch}\`${merged}${tests}.`, '', '```', result.diffStat, '```', ''];
}

export function reportMarkdown(r: RunReport): string {
  const money = (u: UsageRow) => `$${u.costUsd.toFixed(4)}${u.unpricedCalls ? ` (+${u.unpricedCalls} unpriced)` : ''}`;
  const lines = [`# agent-team report`, '', `Workspace: \`${r.location}\`  `, `Generated: ${r.generatedAt}`, ''];
  if (r.run) lines.push(`**Run ${r.run.status}**: ${r.run.reason} (${(r.run.durationMs / 1000).toFixed(1)} s, finished ${r.run.finishedAt})`, '');
  lines.push('## Tasks', '', `${r.counts.total} tasks: ${Object.entries(r.counts).filter(([k, v]) => k !== 'total' && v > 0).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}`, '');
  lines.push('| id | type | status | attempt | owner | description |', '|---|---|---|---|---|---|');
  for (const t of r.tasks) lines.push(`| ${md(t.id)} | ${t.type} | ${t.status} | ${t.attempt} | ${t.owner ?? ''} | ${md(t.description.slice(0, 120))} |`);
  lines.push('', '## Results', '');
  for (const t of r.tasks) {
    if (t.status === 'completed' && t.type !== 'review') lines.push(`### ${t.id}`, '', t.description, '', ...codingLines(t.result), fence(t.result), '');
    else if (t.reason) lines.push(`### ${t.id} (${t.status})`, '', t.description, '', `> ${md(t.reason)}`, '');
  }
  if (r.reviews.length) {
    lines.push('## Reviews', '', '| task | round | reviewer | verdict | outcome | feedback |', '|---|---|---|---|---|---|');
    for (const v of r.reviews) lines.push(`| ${md(v.taskId)} | ${v.round} | ${v.reviewer ?? ''} | ${v.verdict} | ${v.outcome} | ${md(v.feedback.slice(0, 200))} |`);
    lines.push('');
  }
  lines.push('## Usage and cost', '', '| agent | calls | input tokens | output tokens | cost |', '|---|---|---|---|---|');
  for (const [agent, u] of Object.entries(r.usage.byAgent)) lines.push(`| ${md(agent)} | ${u.calls} | ${u.inputTokens} | ${u.outputTokens} | ${money(u)} |`);
  const t = r.usage.total;
  lines.push(`| **total** | ${t.calls} | ${t.inputTokens} | ${t.outputTokens} | ${money(t)} |`, '');
  const caching = cacheLine(t);
  if (caching) lines.push(caching, '');
  return lines.join('\n');
}

export async function exportCommand(opts: GlobalOptions & { format: string; output?: string }): Promise<void> {
  if (opts.format !== 'json' && opts.format !== 'md' && opts.format !== 'html') throw new CliError(`--format must be json, md or html, got "${opts.format}"`);
  const backend = await openFromOptions(opts, { watch: false });
  try {
    let text: string;
    if (opts.format === 'html') {
      const [{ buildReportData }, { reportHtml }] = await Promise.all([import('../../report/data.js'), import('../../report/html.js')]);
      text = reportHtml(await buildReportData(backend));
    } else {
      const report = await buildReport(backend);
      text = opts.format === 'md' ? reportMarkdown(report) : `${JSON.stringify(report, null, 2)}\n`;
    }
    if (opts.output) {
      fs.writeFileSync(opts.output, text);
      console.error(`wrote ${opts.output}`);
    } else {
      process.stdout.write(text);
    }
  } finally {
    await backend.close();
  }
}

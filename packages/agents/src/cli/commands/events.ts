import type { TeamEvent, TeamEventType } from '@agent-team/core';
import { colors } from '../../team/summary.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';

/** "-10m", "-2h", an ISO date, or epoch ms. */
export function parseSince(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const rel = /^-(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value);
  if (rel) return Date.now() - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CliError(`--since must be like -10m, -2h, an ISO date or epoch ms, got "${value}"`);
  return t;
}

export function formatEvent(e: TeamEvent, c: ReturnType<typeof colors>): string {
  const skip = new Set(['ts', 'type', 'writer', 'seq', 'taskId', 'agentId', 'attempt']);
  const extra = Object.entries(e)
    .filter(([k, v]) => !skip.has(k) && v !== undefined && k !== 'summary')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const color = e.type.endsWith('failed') || e.type.endsWith('blocked') ? c.red : e.type.endsWith('completed') ? c.green : e.type.startsWith('task.') ? c.cyan : c.dim;
  return `${c.dim(new Date(e.ts).toISOString())} ${color(e.type.padEnd(16))} ${e.taskId ?? ''}${e.agentId ? ` ${c.dim('by')} ${e.agentId}` : ''}${e.attempt ? c.dim(` #${e.attempt}`) : ''}${extra ? ` ${c.dim(extra.slice(0, 300))}` : ''}`;
}

/** `events [--follow] [--json]`: the merged event log; JSON lines with --json. */
export async function eventsCommand(opts: GlobalOptions & { follow?: boolean; since?: string; type?: string; task?: string; agent?: string; limit?: number }): Promise<void> {
  const since = parseSince(opts.since);
  // Names from the command line: an unknown one simply matches nothing.
  const types = opts.type ? (opts.type.split(',').map((t) => t.trim()) as TeamEventType[]) : undefined;
  const filter = {
    ...(since !== undefined ? { since } : {}),
    ...(types ? { types } : {}),
    ...(opts.task ? { taskId: opts.task } : {}),
    ...(opts.agent ? { agentId: opts.agent } : {}),
  };
  const backend = await openFromOptions(opts, { watch: false });
  const c = colors(opts.color !== false && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
  const print = (e: TeamEvent) => process.stdout.write(`${opts.json ? JSON.stringify(e) : formatEvent(e, c)}\n`);
  try {
    if (!opts.follow) {
      let events = await backend.events.read(filter);
      if (opts.limit) events = events.slice(-opts.limit);
      for (const e of events) print(e);
      return;
    }
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      for await (const e of backend.events.follow({ ...filter, signal: controller.signal })) print(e);
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  } finally {
    await backend.close();
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { TASK_STATUSES, type TeamEvent } from '@agent-team/core';
import { colors } from '../../team/summary.js';
import { type GlobalOptions, openFromOptions } from '../context.js';
import { ago, clipLine, statusColor, table } from '../format.js';
import { collectStatus, type StatusData } from './status.js';
import { useColor } from '../progress.js';

interface Totals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** One frame of the dashboard, as text (colour codes only if `color`). */
export function renderDashboard(data: StatusData, recent: TeamEvent[], totals: Totals, options: { color: boolean; width: number; height: number }): string {
  const c = colors(options.color);
  const w = Math.max(60, options.width);
  const out: string[] = [];
  const clock = new Date().toISOString().slice(11, 19);
  out.push(`${c.bold('agent-team watch')} ${c.dim(`${data.location} (${data.backend})`)}`.padEnd(w - 10) + c.dim(`${clock}  q quits`));
  const n = data.counts;
  const barWidth = Math.min(30, Math.max(10, w - 70));
  const finished = n.completed + n.failed + n.blocked + n.cancelled;
  const filled = n.total ? Math.round((finished / n.total) * barWidth) : 0;
  out.push(
    `${c.bold('Tasks')}  ${c.cyan('█'.repeat(filled))}${c.dim('░'.repeat(barWidth - filled))} ${n.completed}/${n.total} done  ` +
      TASK_STATUSES.filter((s) => s !== 'completed' && n[s] > 0)
        .map((s) => statusColor(c, s)(`${n[s]} ${s}`))
        .join(' · '),
  );
  out.push(
    `${c.bold('Usage')}  ${(totals.inputTokens + totals.outputTokens).toLocaleString('en-US')} tokens (${totals.inputTokens.toLocaleString('en-US')} in / ${totals.outputTokens.toLocaleString('en-US')} out) · $${totals.costUsd.toFixed(4)} · ${totals.calls} calls`,
  );
  out.push('', c.bold('Agents'));
  if (data.agents.length === 0) out.push(c.dim('  none has joined yet'));
  else {
    out.push(
      ...table([
        ['  ID', 'ROLE', 'STATUS', 'DOING', 'DONE', 'SEEN'].map(c.dim),
        ...data.agents.map((a) => [
          `  ${a.id}`,
          a.role,
          a.responding ? statusColor(c, a.status)(a.status) : c.red('not responding'),
          clipLine(a.current.join(', ') || '-', 40),
          String(a.tasksDone),
          ago(a.lastSeen),
        ]),
      ]).split('\n'),
    );
  }
  const active = data.tasks.filter((t) => t.status === 'claimed' || t.status === 'review' || t.status === 'failed' || t.status === 'blocked');
  if (active.length) {
    out.push('', c.bold('In progress and problems'));
    out.push(
      ...table(
        active.slice(0, 8).map((t) => [`  ${t.id}`, statusColor(c, t.status)(t.status), t.owner ?? '-', clipLine(t.reason ?? t.description, Math.max(20, w - 60))]),
      ).split('\n'),
    );
  }
  out.push('', c.bold('Recent events'));
  const room = Math.max(3, options.height - out.length - 1);
  for (const e of recent.slice(-room)) {
    // A command agent's output line shows its text (command.output events).
    const said = e.type === 'command.output' ? `: ${e.line}` : '';
    out.push(`  ${c.dim(new Date(e.ts).toISOString().slice(11, 23))} ${e.type.padEnd(16)} ${clipLine(`${e.taskId ?? ''}${e.agentId ? ` by ${e.agentId}` : ''}${said}`, w - 45)}`);
  }
  return out.map((l) => l.slice(0, w + 40)).join('\n');
}

/** `watch`: a live dashboard; `--once` (or a non-terminal stdout) prints one frame and exits. */
export async function watchCommand(opts: GlobalOptions & { once?: boolean; interval: number }): Promise<void> {
  const backend = await openFromOptions(opts, { watch: false });
  const live = Boolean(process.stdout.isTTY) && !opts.once;
  const color = opts.color !== false && useColor(process.stdout);
  const recent: TeamEvent[] = [];
  const totals: Totals = { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  const note = (e: TeamEvent) => {
    if (e.type === 'model.call') {
      totals.calls += 1;
      totals.inputTokens += Number(e.inputTokens ?? 0);
      totals.outputTokens += Number(e.outputTokens ?? 0);
      if (typeof e.costUsd === 'number') totals.costUsd += e.costUsd;
      return;
    }
    if (e.type === 'message.sent' || e.type === 'moa.delta') return;
    recent.push(e);
    if (recent.length > 200) recent.splice(0, recent.length - 200);
  };
  const frame = async () =>
    renderDashboard(await collectStatus(backend), recent, totals, {
      color,
      width: process.stdout.columns ?? 100,
      height: process.stdout.rows ?? 40,
    });
  try {
    if (!live) {
      for (const e of await backend.events.read()) note(e);
      process.stdout.write(`${await frame()}\n`);
      return;
    }
    const controller = new AbortController();
    const following = (async () => {
      for await (const e of backend.events.follow({ signal: controller.signal, pollMs: 200, reorderWindowMs: 100 })) note(e);
    })();
    const stop = () => controller.abort();
    process.stdout.write('\x1b[?1049h\x1b[?25l');
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.resume();
      process.stdin.on('data', (key: Buffer) => {
        const k = key.toString();
        if (k === 'q' || k === '\u0003' || k === '\u001b') stop();
      });
    }
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      while (!controller.signal.aborted) {
        process.stdout.write(`\x1b[H\x1b[2J${await frame()}`);
        // Node's abortable sleep takes its abort listener off again: one per frame would pile up (MaxListenersExceededWarning).
        await sleep(opts.interval, undefined, { signal: controller.signal }).catch(() => {});
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.write('\x1b[?25h\x1b[?1049l');
      if (process.stdin.isTTY) {
        process.stdin.setRawMode(false);
        process.stdin.pause();
      }
      await following.catch(() => {});
    }
  } finally {
    await backend.close();
  }
}

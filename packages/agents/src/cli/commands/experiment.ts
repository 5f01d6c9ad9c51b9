import { colors } from '../../team/summary.js';
import { planExperiment, formatPlan } from '../../experiment/dry-run.js';
import { loadMatrix } from '../../experiment/matrix.js';
import { runExperiment } from '../../experiment/runner.js';
import type { ExperimentSummary } from '../../experiment/summary.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { interruptOnSignals } from '../interrupt.js';
import { useColor } from '../progress.js';

export interface ExperimentCommandOptions {
  workspace?: string;
  json?: boolean;
  replay?: boolean;
  cell?: string;
  dryRun?: boolean;
  concurrency?: number;
  color?: boolean;
  quiet?: boolean;
  backend?: string;
  namespace?: string;
}

/**
 * `agent-team experiment matrix.yaml`: runs (or resumes) an experiment and
 * prints its table; with --json the last line of stdout is the summary
 * object. Exit 0 when every case ran, 1 when the run stopped early (budget,
 * interrupt) or a replay differs from its recording, 2 for a bad matrix.
 */
export async function experimentCommand(file: string, opts: ExperimentCommandOptions): Promise<number> {
  const matrix = loadMatrix(file);
  if (opts.cell && !matrix.cells.some((c) => c.id === opts.cell)) {
    throw new CliError(`no cell "${opts.cell}" in ${file}; its cells are: ${matrix.cells.map((c) => c.id).join(', ')}`, 2);
  }
  if (opts.concurrency !== undefined && (opts.concurrency < 1 || opts.concurrency > 64)) throw new CliError('--concurrency must be 1 to 64', 2);
  if (opts.dryRun) {
    const plan = planExperiment(matrix, opts.cell ? { cell: opts.cell } : {});
    if (opts.json) process.stdout.write(`${JSON.stringify(plan)}\n`);
    else process.stdout.write(`${formatPlan(plan)}\n`);
    return 0;
  }
  if (opts.replay && !matrix.cache) throw new CliError(`${file}: --replay needs recordings: set cache: { mode: record, dir: ./experiment-cache } and run once`, 2);
  const c = colors(opts.color !== false && useColor(process.stderr));
  const interrupt = interruptOnSignals();
  let done = 0;
  const total = (opts.cell ? 1 : matrix.cells.length) * matrix.cases.length;
  try {
    const result = await runExperiment(matrix, {
      signal: interrupt.signal,
      ...(opts.workspace ? { workspace: opts.workspace } : {}),
      ...(opts.replay ? { replay: true } : {}),
      ...(opts.cell ? { cell: opts.cell } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.backend ? { backend: opts.backend } : {}),
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      onCase: (o) => {
        done += 1;
        if (opts.quiet) return;
        const mark = o.pass ? c.green('pass') : c.red(o.failure ?? 'fail');
        process.stderr.write(`[${done}] ${o.cell} / ${o.case}: ${mark} ${c.dim(`${o.tokens} tokens, ${(o.wallMs / 1000).toFixed(1)} s`)}\n`);
      },
    });
    const { summary } = result;
    if (!opts.json) {
      process.stdout.write(`${formatExperiment(summary, opts.color !== false && useColor(process.stdout))}\n\nResults: ${result.resultsDir}\n`);
    } else {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    }
    if (!opts.quiet && done < total && summary.status === 'complete') process.stderr.write(`(${total - done} cases were done before: resumed)\n`);
    const interrupted = interrupt.exitCode();
    if (interrupted !== null) return interrupted;
    if (summary.replayMismatches?.length) {
      process.stderr.write(`replay differs from the recording in ${summary.replayMismatches.length} cases (see summary.json)\n`);
      return 1;
    }
    return summary.status === 'complete' ? 0 : 1;
  } finally {
    interrupt.dispose();
  }
}

/** The cells as a terminal table, then the comparisons that Holm leaves below 0.05. */
export function formatExperiment(summary: ExperimentSummary, color = false): string {
  const c = colors(color);
  const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
  const rows = [['cell', 'passed', 'rate', '95% CI', 'tokens', 'cost', 'p50 s', 'p95 s', 'failures'].map((h) => c.bold(h))];
  for (const cell of summary.cells) {
    rows.push([
      cell.id,
      `${cell.passed}/${cell.cases}${cell.partial ? ` of ${cell.planned}` : ''}`,
      pct(cell.passRate),
      cell.ci95 ? `${pct(cell.ci95[0])}-${pct(cell.ci95[1])}` : '-',
      String(cell.tokens),
      `$${cell.costUsd.toFixed(4)}`,
      cell.wallMsP50 === null ? '-' : (cell.wallMsP50 / 1000).toFixed(2),
      cell.wallMsP95 === null ? '-' : (cell.wallMsP95 / 1000).toFixed(2),
      Object.entries(cell.failures).map(([k, n]) => `${k} ${n}`).join(', ') || '-',
    ]);
  }
  const lines = [
    `${c.bold('Experiment')} ${summary.experiment}: ${summary.status === 'complete' ? c.green('complete') : c.yellow(`partial (${summary.stoppedBy ?? 'not every case ran'})`)}`,
    '',
    table(rows),
  ];
  const notable = summary.comparisons.filter((p) => p.pHolm < 0.05);
  lines.push('', notable.length === 0
    ? `No difference between cells is significant (McNemar exact, Holm-adjusted p < 0.05, over ${summary.comparisons.length} pairs).`
    : `Significant differences (McNemar exact, Holm-adjusted p < 0.05):\n${notable.map((p) => `  ${p.a} vs ${p.b}: ${((p.difference ?? 0) * 100).toFixed(1)} pts (95% CI ${p.ci95 ? `${(p.ci95[0] * 100).toFixed(1)} to ${(p.ci95[1] * 100).toFixed(1)}` : '-'}), p = ${p.pHolm.toFixed(4)}`).join('\n')}`);
  return lines.join('\n');
}

/**
 * pnpm example:experiment: a 2 x 2 experiment (model x MoA samples) on eight
 * cases with the offline model: no key, no network, a few seconds. It runs
 * the matrix (resuming if it ran before), prints the cells, then replays the
 * recorded run and checks the summary is the same, byte for byte.
 *
 * The offline model's answers are deterministic text, not knowledge: the
 * numbers show the machinery (cells, scores, intervals, paired tests,
 * replay), not the merit of a model. docs/experiments.md has a real-provider
 * version of this matrix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runExperiment } from '@agent-team/agents';

const matrix = path.join(import.meta.dirname, '..', 'experiment', 'experiment.yaml');

const started = Date.now();
const run = await runExperiment(matrix, {
  onCase: (o) => process.stderr.write(`  ${o.pass ? 'pass' : (o.failure ?? 'fail').padEnd(4)}  ${o.cell} / ${o.case}\n`),
});
const { summary } = run;
console.log(`\nExperiment ${summary.experiment}: ${summary.status}, ${summary.cells.length} cells x ${summary.cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
for (const c of summary.cells) {
  const ci = c.ci95 ? `${(c.ci95[0] * 100).toFixed(0)}-${(c.ci95[1] * 100).toFixed(0)}%` : '-';
  console.log(`  ${c.id.padEnd(32)} ${String(c.passed).padStart(2)}/${c.cases}  ${((c.passRate ?? 0) * 100).toFixed(0).padStart(3)}%  CI ${ci.padEnd(8)}  ${String(c.tokens).padStart(6)} tokens  p50 ${((c.wallMsP50 ?? 0) / 1000).toFixed(2)} s`);
}
const best = [...summary.comparisons].sort((a, b) => a.pValue - b.pValue)[0];
if (best) {
  console.log(
    `\n  Largest paired difference: ${best.a} vs ${best.b}: ${((best.difference ?? 0) * 100).toFixed(1)} pts over ${best.shared} cases, ` +
      `95% CI ${best.ci95 ? `${(best.ci95[0] * 100).toFixed(1)} to ${(best.ci95[1] * 100).toFixed(1)}` : '-'} pts ` +
      `(McNemar exact p = ${best.pValue.toFixed(3)}, Holm ${best.pHolm.toFixed(3)})`,
  );
}
console.log(`\n  Results: ${path.relative(process.cwd(), run.resultsDir)}/ (outcomes.jsonl, summary.json, report.md)`);

// The same experiment again from the recordings: no model is called, and the summary is the same bytes.
const replay = await runExperiment(matrix, { replay: true });
const same =
  fs.readFileSync(path.join(replay.resultsDir, 'summary.json'), 'utf8') === fs.readFileSync(path.join(run.resultsDir, 'summary.json'), 'utf8');
console.log(`  Replay from the recordings: summary ${same ? 'identical, byte for byte' : 'DIFFERS (see summary.json)'}`);
if (!same) process.exitCode = 1;

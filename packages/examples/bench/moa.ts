/**
 * pnpm bench:moa [--json] [--items N] [--seed S]
 *
 * Offline Mixture-of-Agents benchmark: seeded synthetic proposers of known
 * accuracy on generated items (multiple choice with a known answer, and fact
 * sets), checked against the exact math. It measures the orchestration and
 * the aggregation, not the quality of any language model: see
 * docs/mixture-of-agents.md for evaluating real models (e.g. AlpacaEval 2.0).
 */
import { parseArgs } from 'node:util';
import { runLab } from '../src/moa-lab/scenarios.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    json: { type: 'boolean', default: false },
    items: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '2024' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('Usage: pnpm bench:moa [--json] [--items N] [--seed S]\n\n  --items N  items per accuracy scenario (default 2000)\n  --seed S   seed of every synthetic draw (default 2024)\n  --json     print one JSON object as the last line');
  process.exit(0);
}
const log = (line: string) => (values.json ? process.stderr.write(`${line}\n`) : console.log(line));
const started = Date.now();
const checks = await runLab({ items: Number(values.items), seed: Number(values.seed) });
log(`Mixture-of-Agents, offline: synthetic proposers of known accuracy, ${values.items} items per scenario, seed ${values.seed}`);
log('(measures orchestration and aggregation, not LLM quality)\n');
for (const check of checks) {
  log(`${check.pass ? 'PASS' : 'FAIL'}  ${check.name}: ${check.claim}`);
  log(`      ${check.detail}`);
}
const failed = checks.filter((c) => !c.pass);
log(`\n${checks.length - failed.length} of ${checks.length} checks as the math says (${((Date.now() - started) / 1000).toFixed(1)} s)`);
if (values.json) {
  const get = (name: string) => checks.find((c) => c.name === name);
  console.log(
    JSON.stringify({
      items: Number(values.items),
      seed: Number(values.seed),
      passed: checks.length - failed.length,
      failed: failed.length,
      voteAccuracy5x07: get('independent')?.measured ?? null,
      voteExpected5x07: get('independent')?.expected ?? null,
      wallTimeMs: get('wall-time')?.measured ?? null,
      wallTimeIdealMs: get('wall-time')?.expected ?? null,
      checks,
    }),
  );
}
process.exitCode = failed.length === 0 ? 0 : 1;

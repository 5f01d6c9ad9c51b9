/**
 * pnpm bench:experiment [--cases N] [--latency MS] [--concurrency C] [--dir DIR] [--json]
 *
 * What the experiment machinery costs per case. The same N one-task cases on
 * the offline model (each call takes --latency ms, like a fast model), run
 * two ways in the same run and folder:
 * - baseline: one team, N tasks in one workspace, C workers (what you would
 *   write by hand without isolation or scoring);
 * - experiment: runExperiment with one cell and concurrency C: each case a
 *   task on the experiment's queue, its own workspace and team, scored.
 * Prints both wall times and the ratio, and the overhead per case.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AgentTeam, offlineModel, runExperiment } from '@agent-team/agents';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    cases: { type: 'string', default: '40' },
    latency: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '4' },
    dir: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('Usage: pnpm bench:experiment [--cases N] [--latency MS] [--concurrency C] [--dir DIR] [--json]');
  process.exit(0);
}
const n = Number(values.cases);
const latencyMs = Number(values.latency);
const concurrency = Number(values.concurrency);
const base = values.dir ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
const root = fs.mkdtempSync(path.join(base, 'bench-experiment-'));
const log = (line: string) => (values.json ? process.stderr.write(`${line}\n`) : console.log(line));

try {
  const descriptions = Array.from({ length: n }, (_, i) => `Explain topic ${i} of task queues`);

  // Baseline: one team, every case a task of one workspace.
  const t0 = performance.now();
  const team = new AgentTeam({ workspace: path.join(root, 'baseline'), watch: false });
  for (let w = 0; w < concurrency; w++) team.addAgent(`worker-${w}`, 'worker', offlineModel({ latencyMs }));
  await team.addTasks(descriptions.map((description, i) => ({ id: `c${i}`, description })));
  const summary = await team.run();
  await team.close();
  const baselineMs = performance.now() - t0;
  if (summary.completed !== n) throw new Error(`baseline completed ${summary.completed} of ${n}`);

  // The experiment: the same cases, each isolated and scored.
  const dir = path.join(root, 'exp');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'team.yaml'), `version: 1\nagents:\n  - { id: worker-1, role: worker, model: { spec: offline, latencyMs: ${latencyMs} } }\ntasks:\n  - { description: x }\n`);
  fs.writeFileSync(path.join(dir, 'cases.jsonl'), descriptions.map((task, i) => JSON.stringify({ id: `c${i}`, task, expected: 'topic' })).join('\n'));
  fs.writeFileSync(path.join(dir, 'm.yaml'), `version: 1\nspec: ./team.yaml\ncases: ./cases.jsonl\nscore:\n  - { kind: contains }\nconcurrency: ${concurrency}\n`);
  const t1 = performance.now();
  const result = await runExperiment(path.join(dir, 'm.yaml'));
  const experimentMs = performance.now() - t1;
  if (result.summary.cells[0]?.cases !== n) throw new Error(`the experiment ran ${result.summary.cells[0]?.cases} of ${n} cases`);

  const ratio = experimentMs / baselineMs;
  const perCase = ((experimentMs - baselineMs) * concurrency) / n;
  log(`${n} one-task cases, offline model at ${latencyMs} ms a call, concurrency ${concurrency}, in ${root} (${base === '/dev/shm' ? 'tmpfs' : 'disk'})`);
  log(`  baseline (one team, one workspace): ${(baselineMs / 1000).toFixed(2)} s`);
  log(`  experiment (queue, a workspace and team per case, scored): ${(experimentMs / 1000).toFixed(2)} s`);
  log(`  ratio ${ratio.toFixed(2)}x; overhead about ${perCase.toFixed(0)} ms per case per runner slot`);
  if (values.json) console.log(JSON.stringify({ cases: n, latencyMs, concurrency, baselineMs: Math.round(baselineMs), experimentMs: Math.round(experimentMs), ratio: Number(ratio.toFixed(3)), overheadMsPerCase: Math.round(perCase) }));
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}

/**
 * pnpm bench:startup [--runs N] [--no-build] [--json]
 *
 * Start-up of the built packages, as a user who installed them meets it: the
 * `agent-team` CLI's `--version` and `--help`, and `import('@agent-team/agents')`
 * / `import('@agent-team/core')` in a fresh process, each beside `node -e 0`
 * measured in the same run (the runs interleave, so machine noise falls on
 * all alike). Medians of N runs. Target (issue 12): `--version` within 120 ms
 * of `node -e 0`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median, percentile, printTable } from './bench-utils.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    runs: { type: 'string', default: '15' },
    build: { type: 'boolean', default: true },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowNegative: true,
});
if (values.help) {
  console.log('Usage: pnpm bench:startup [--runs N] [--no-build] [--json]\n\n  --runs N     runs of each command (default 15)\n  --no-build   measure dist/ as it is (default: pnpm build first)\n  --json       print one JSON object as the last line');
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 3) throw new Error(`--runs must be an integer of at least 3, got "${values.runs}"`);
const log = (line: string) => (values.json ? process.stderr.write(`${line}\n`) : console.log(line));
const TARGET_MS = 120;

const root = path.join(import.meta.dirname, '..', '..', '..');
const examples = path.join(root, 'packages', 'examples');
const bin = path.join(root, 'packages', 'agents', 'bin', 'agent-team.js');
if (values.build) {
  log('building (pnpm build) ...');
  execFileSync('pnpm', ['-s', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

// The built packages, never the sources: no "@agent-team/source" condition, no tsx.
const env = { ...process.env, NODE_OPTIONS: '' };
const cases: Array<{ name: string; args: string[] }> = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'agent-team --version', args: [bin, '--version'] },
  { name: 'agent-team --help', args: [bin, '--help'] },
  { name: "import('@agent-team/core')", args: ['--input-type=module', '-e', "await import('@agent-team/core')"] },
  { name: "import('@agent-team/agents')", args: ['--input-type=module', '-e', "await import('@agent-team/agents')"] },
];

const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let i = 0; i < runs + 1; i++) {
  for (const c of cases) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, c.args, { cwd: examples, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) throw new Error(`${c.name} exited with ${result.status}: ${String(result.stderr)}`);
    // The first round warms the disk cache and is not counted.
    if (i > 0) times.get(c.name)!.push(ms);
  }
}

const baseline = median(times.get('node -e 0')!);
const results = cases.map((c) => {
  const t = times.get(c.name)!;
  const med = median(t);
  return { name: c.name, medianMs: round(med), p90Ms: round(percentile(t, 90)), overNodeMs: round(med - baseline) };
});
log(`Start-up of the built packages, node ${process.version}, median of ${runs} runs (a fresh process each)\n`);
printTable(log, [
  ['command', 'median', 'p90', 'over node -e 0'],
  ...results.map((r) => [r.name, `${r.medianMs} ms`, `${r.p90Ms} ms`, r.name === 'node -e 0' ? '(baseline)' : `+${r.overNodeMs} ms`]),
]);
const version = results.find((r) => r.name === 'agent-team --version')!;
const ok = version.overNodeMs <= TARGET_MS;
log(`\n--version: ${version.overNodeMs} ms over node -e 0 (target: within ${TARGET_MS} ms): ${ok ? 'met' : 'NOT met'}`);
if (values.json) console.log(JSON.stringify({ node: process.version, runs, targetMs: TARGET_MS, versionTargetMet: ok, results }));

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * pnpm bench:queue [--dir DIR] [--json] [--sizes 1000,10000,100000] [--procs 1,2,4] [--quick]
 *
 * End-to-end throughput of the file-backed task queue (add, claim, complete;
 * no-op work) with 1, 2 and 4 processes, at 1k, 10k and 100k tasks, in default
 * and durable (fsync) mode, next to the raw filesystem floor measured in the
 * same folder in the same run. The headline is the ratio to that floor: the
 * disks here are shared and noisy, so absolute rates are quoted with the
 * folder's filesystem. Not a test: nothing here passes or fails.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundle, describeFilesystem, median, printTable } from './bench-utils.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    dir: { type: 'string' },
    json: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '1000,10000,100000' },
    procs: { type: 'string', default: '1,2,4' },
    'durable-sizes': { type: 'string', default: '1000,10000' },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`Usage: pnpm bench:queue [--dir DIR] [--json] [--sizes LIST] [--procs LIST] [--durable-sizes LIST] [--quick]

  --dir DIR            folder to run in (default: a new folder under the OS temp dir)
  --json               print one JSON object as the last line
  --sizes LIST         task counts for default mode (default 1000,10000,100000)
  --procs LIST         process counts (default 1,2,4)
  --durable-sizes LIST task counts for durable mode (default 1000,10000)
  --quick              1000 and 10000 tasks only, one repetition`);
  process.exit(0);
}

// Workers run as one bundled JavaScript file, as a deployed worker would: no
// TypeScript loader in the measured processes (it alone costs ~40 MB of RSS).
const WORKER = await bundle(path.join(import.meta.dirname, 'queue-worker.ts'));
const base = path.resolve(values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'agent-team-bench-')));
fs.mkdirSync(base, { recursive: true });
const sizes = (values.quick ? '1000,10000' : values.sizes).split(',').map(Number);
const procs = values.procs.split(',').map(Number);
const durableSizes = (values.quick ? '1000' : values['durable-sizes']).split(',').map(Number);
const log = (line: string) => {
  if (!values.json) console.log(line);
  else process.stderr.write(`${line}\n`);
};

interface WorkerResult {
  added: number;
  done: number;
  addMs: number;
  drainMs: number;
  startAt: number;
  endAt: number;
  maxRssMb: number;
}

function runWorker(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').pop() ?? '') : reject(new Error(`worker exited ${code}`))));
  });
}

let runCounter = 0;
async function runQueue(processes: number, tasks: number, durable: boolean) {
  const dir = path.join(base, `run-${++runCounter}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const share = Math.ceil(tasks / processes);
  // Start together once every process has loaded (tsx start-up is not measured).
  const startAt = Date.now() + 1500 + processes * 300;
  const results = (
    await Promise.all(
      Array.from({ length: processes }, (_, i) =>
        runWorker([dir, String(i), String(processes), String(share), durable ? '1' : '0', String(startAt)]),
      ),
    )
  ).map((line) => JSON.parse(line) as WorkerResult);
  const total = results.reduce((sum, r) => sum + r.done, 0);
  const added = results.reduce((sum, r) => sum + r.added, 0);
  if (total !== added) throw new Error(`lost work: added ${added}, completed ${total}`);
  const wallMs = Math.max(...results.map((r) => r.endAt)) - Math.min(...results.map((r) => r.startAt));
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    tasksPerSec: (total / wallMs) * 1000,
    wallMs,
    maxRssMb: Math.max(...results.map((r) => r.maxRssMb)),
  };
}

async function runRaw(processes: number, perProcess: number) {
  const dir = path.join(base, `raw-${++runCounter}`);
  const startAt = Date.now() + 1000 + processes * 300;
  const results = (
    await Promise.all(
      Array.from({ length: processes }, (_, i) => runWorker(['--raw', dir, String(i), String(perProcess), String(startAt)])),
    )
  ).map((line) => JSON.parse(line) as { done: number; ms: number; exclUs: number; renameUs: number });
  fs.rmSync(dir, { recursive: true, force: true });
  const wallMs = Math.max(...results.map((r) => r.ms));
  return {
    tasksPerSec: ((processes * perProcess) / wallMs) * 1000,
    exclUs: median(results.map((r) => r.exclUs)),
    renameUs: median(results.map((r) => r.renameUs)),
  };
}

const fsInfo = describeFilesystem(base);
log(`agent-team queue benchmark: ${os.cpus().length} CPUs, Node ${process.version}`);
log(`folder: ${base} (${fsInfo})`);
log('');

log('Raw filesystem floor (same folder): a minimal claim-and-complete loop, one O_EXCL create + one temp+rename per task');
const raw: Record<number, Awaited<ReturnType<typeof runRaw>>> = {};
for (const p of procs) {
  const samples = [];
  for (let rep = 0; rep < (values.quick ? 1 : 2); rep++) samples.push(await runRaw(p, 5000));
  const best = samples.sort((a, b) => b.tasksPerSec - a.tasksPerSec)[0]!;
  raw[p] = best;
  log(`  ${p} process${p > 1 ? 'es' : ''}: ${Math.round(best.tasksPerSec)} tasks/s (O_EXCL create ${best.exclUs.toFixed(1)} us, temp+rename ${best.renameUs.toFixed(1)} us)`);
}
log('');

type Row = { mode: string; processes: number; tasks: number; tasksPerSec: number; ofFloor: number; maxRssMb: number };
const rows: Row[] = [];
const repsFor = (tasks: number) => (values.quick ? 1 : tasks <= 1000 ? 3 : tasks <= 10_000 ? 2 : 1);
for (const durable of [false, true]) {
  for (const tasks of durable ? durableSizes : sizes) {
    for (const p of procs) {
      const samples = [];
      for (let rep = 0; rep < repsFor(tasks); rep++) samples.push(await runQueue(p, tasks, durable));
      const rate = median(samples.map((s) => s.tasksPerSec));
      const row: Row = {
        mode: durable ? 'durable' : 'default',
        processes: p,
        tasks,
        tasksPerSec: rate,
        ofFloor: rate / (raw[p]?.tasksPerSec ?? NaN),
        maxRssMb: Math.max(...samples.map((s) => s.maxRssMb)),
      };
      rows.push(row);
      log(
        `  ${row.mode.padEnd(7)} ${String(p).padStart(2)} proc ${String(tasks).padStart(6)} tasks: ${String(Math.round(rate)).padStart(6)} tasks/s  (${(row.ofFloor * 100).toFixed(0)}% of the raw floor, worker max RSS ${row.maxRssMb.toFixed(0)} MB)`,
      );
    }
  }
}
log('');

const find = (mode: string, p: number, tasks: number) => rows.find((r) => r.mode === mode && r.processes === p && r.tasks === tasks);
const maxP = Math.max(...procs);
const headlineSize = sizes.includes(10_000) ? 10_000 : sizes[sizes.length - 1]!;
const headline = find('default', maxP, headlineSize);
const durableHeadline = find('durable', maxP, durableSizes.includes(10_000) ? 10_000 : durableSizes[durableSizes.length - 1]!);
const small = find('default', maxP, Math.min(...sizes));
const large = find('default', maxP, Math.max(...sizes));
const summary = {
  filesystem: fsInfo,
  dir: base,
  tasksPerSec4p: headline?.tasksPerSec ?? null,
  durableTasksPerSec4p: durableHeadline?.tasksPerSec ?? null,
  scale100kOver1k: large && small ? large.tasksPerSec / small.tasksPerSec : null,
  fsLimitRatio: headline ? headline.ofFloor : null,
  rawFloorTasksPerSec4p: raw[maxP]?.tasksPerSec ?? null,
  rawExclCreateUs: raw[1]?.exclUs ?? null,
  rawTempRenameUs: raw[1]?.renameUs ?? null,
  workerMaxRssMb: Math.max(...rows.map((r) => r.maxRssMb)),
  targets: { tasksPerSec4p: 5000, durableTasksPerSec4p: 1000, scale100kOver1k: 0.8, workerMaxRssMb: 100 },
  rows,
};
printTable(log, [
  ['figure', 'measured', 'target'],
  ['tasks/s, 4 processes', fmt(summary.tasksPerSec4p), '>= 5000'],
  ['durable tasks/s, 4 processes', fmt(summary.durableTasksPerSec4p), '>= 1000'],
  ['100k over 1k throughput', fmt(summary.scale100kOver1k, 2), '>= 0.8'],
  ['share of the raw floor (4 processes)', fmt(summary.fsLimitRatio, 2), '(ratio)'],
  ['worker max RSS (MB)', fmt(summary.workerMaxRssMb, 0), '< 100'],
]);
if (values.json) console.log(JSON.stringify(summary));
if (!values.dir) fs.rmSync(base, { recursive: true, force: true });

function fmt(value: number | null, digits = 0): string {
  return value === null ? 'n/a' : value.toFixed(digits);
}

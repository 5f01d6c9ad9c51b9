/**
 * pnpm bench:queue [--dir DIR] [--json] [--sizes 1000,10000,100000] [--procs 1,2,4] [--quick]
 *                   [--durable-sizes LIST] [--skip-memory] [--syscalls]
 * pnpm bench:queue --backend redis://HOST:PORT [--json] [--sizes ...] [--procs ...] [--quick]
 *
 * End-to-end throughput of the file-backed task queue (add, claim, complete;
 * no-op work) with 1, 2 and 4 processes, at 1k, 10k and 100k tasks, in default
 * and durable (fsync) mode, next to the raw filesystem floor measured in the
 * same folder in the same run. The headline is the ratio to that floor: the
 * disks here are shared and noisy, so absolute rates are quoted with the
 * folder's filesystem. Not a test: nothing here passes or fails.
 *
 * With --backend, the same workload runs on the Redis backend at that URL and,
 * in the same run on the same server, a plain BullMQ queue with no-op jobs
 * (one worker, concurrency 1 and 8) is the peer: the headline is the ratio to
 * it at equal concurrency (one process of ours with 8 slots against BullMQ's
 * one worker with concurrency 8).
 */
import { execFileSync, spawn } from 'node:child_process';
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
    'skip-memory': { type: 'boolean', default: false },
    syscalls: { type: 'boolean', default: false },
    backend: { type: 'string' },
    concurrency: { type: 'string', default: '1,8' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`Usage: pnpm bench:queue [--dir DIR] [--json] [--sizes LIST] [--procs LIST] [--durable-sizes LIST] [--quick]

  --dir DIR            folder to run in (default: a new folder under the OS temp dir)
  --json               print one JSON object as the last line
  --sizes LIST         task counts for default mode (default 1000,10000,100000)
  --procs LIST         process counts (default 1,2,4)
  --durable-sizes LIST task counts for durable mode (default 1000,10000; "" for none)
  --skip-memory        leave out the worker-memory run (a 100k-task fill and two drains)
  --syscalls           also count system calls per task (strace -f -c) of an add, a drain and the floor
  --quick              1000 and 10000 tasks only, one repetition
  --backend URL        run on the Redis backend at URL (redis://HOST:PORT), with BullMQ on the same server as the peer
  --concurrency LIST   with --backend: slots of one worker process, against BullMQ's worker at the same concurrency (default 1,8)`);
  process.exit(0);
}

// Workers run as one bundled JavaScript file, as a deployed worker would: no
// TypeScript loader in the measured processes (it alone costs ~40 MB of RSS).
const WORKER = await bundle(path.join(import.meta.dirname, 'queue-worker.ts'), ['ioredis', 'bullmq']);
if (values.backend) {
  await runRedisBench(values.backend);
  process.exit(0);
}
const base = path.resolve(values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'agent-team-bench-')));
fs.mkdirSync(base, { recursive: true });
const sizes = (values.quick ? '1000,10000' : values.sizes).split(',').map(Number);
const procs = values.procs.split(',').map(Number);
const durableSizes = (values.quick ? '1000' : values['durable-sizes']).split(',').filter(Boolean).map(Number);
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

function runWorker(args: string[], nodeFlags: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, WORKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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
        `  ${row.mode.padEnd(7)} ${String(p).padStart(2)} proc ${String(tasks).padStart(6)} tasks: ${String(Math.round(rate)).padStart(6)} tasks/s  (${(row.ofFloor * 100).toFixed(0)}% of the raw floor; a process that adds and drains peaks at ${row.maxRssMb.toFixed(0)} MB RSS)`,
      );
    }
  }
}
log('');

// Worker memory with 100k tasks in the workspace: a fresh process drains a
// workspace another process filled, once with V8's default heap sizing and once
// as `agent-team worker` runs (--optimize-for-size).
const memTasks = values.quick ? 10_000 : Math.max(...sizes);
type MemoryRun = { done: number; maxRssMb: number; heapAfterGcMb: number };
let memDefault: MemoryRun | null = null;
let memLean: MemoryRun | null = null;
if (!values['skip-memory']) {
  const memDir = path.join(base, 'memory');
  fs.rmSync(memDir, { recursive: true, force: true });
  await runWorker(['--fill', memDir, String(memTasks)]);
  const fresh = path.join(base, 'memory-copy');
  const drainWith = async (lean: boolean) => {
    fs.rmSync(fresh, { recursive: true, force: true });
    fs.cpSync(memDir, fresh, { recursive: true });
    const out = JSON.parse(await runWorker(['--drain', fresh, ...(lean ? ['lean'] : [])], ['--expose-gc'])) as MemoryRun;
    if (out.done !== memTasks) throw new Error(`the memory run drained ${out.done} of ${memTasks}`);
    return out;
  };
  memDefault = await drainWith(false);
  memLean = await drainWith(true);
  fs.rmSync(memDir, { recursive: true, force: true });
  fs.rmSync(fresh, { recursive: true, force: true });
  log(
    `Worker memory, draining ${memTasks} tasks another process added: peak RSS ${memLean.maxRssMb.toFixed(0)} MB as \`agent-team worker\` runs (V8 --optimize-for-size), ${memDefault.maxRssMb.toFixed(0)} MB with V8's default heap sizing; live heap after GC ${memLean.heapAfterGcMb.toFixed(1)} MB`,
  );
  log('');
}

// System calls per task (file and folder calls only, every thread, start-up
// subtracted): one process adds N tasks, another drains them, and the floor's
// loop runs N times, each under strace -f -c.
let syscalls: { tasks: number; add: number; drain: number; floor: number } | null = null;
if (values.syscalls) {
  const n = 10_000;
  const dirFor = (name: string) => path.join(base, `syscalls-${name}`);
  const count = (args: string[]) => {
    const out = path.join(base, 'strace.txt');
    execFileSync('strace', ['-f', '-c', '-o', out, process.execPath, WORKER, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    const calls = countFsCalls(fs.readFileSync(out, 'utf8'));
    fs.rmSync(out, { force: true });
    return calls;
  };
  try {
    const fill = (tasks: number) => count(['--fill', dirFor(`ws${tasks}`), String(tasks)]);
    const drain = (tasks: number) => count(['--drain', dirFor(`ws${tasks}`)]);
    const raw = (tasks: number) => count(['--raw', dirFor(`raw${tasks}`), '0', String(tasks), '0']);
    const add = (fill(n) - fill(0)) / n;
    const drained = (drain(n) - drain(0)) / n;
    const floor = (raw(n) - raw(0)) / n;
    syscalls = { tasks: n, add, drain: drained, floor };
    log(`System calls per task (strace -f -c, file and folder calls, ${n} tasks, start-up subtracted): add ${add.toFixed(1)}, claim + complete ${drained.toFixed(1)}; the floor's loop ${floor.toFixed(1)}`);
    log('');
  } catch (err) {
    log(`System calls: not counted (${(err as Error).message.split('\n')[0]}; is strace installed?)`);
    log('');
  } finally {
    for (const name of ['ws0', `ws${n}`, 'raw0', `raw${n}`]) fs.rmSync(dirFor(name), { recursive: true, force: true });
  }
}

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
  workerMaxRssMb: memLean?.maxRssMb ?? null,
  workerMaxRssMbDefaultV8: memDefault?.maxRssMb ?? null,
  workerHeapAfterGcMb: memLean?.heapAfterGcMb ?? null,
  workerMemoryTasks: memLean ? memTasks : null,
  syscallsPerTask: syscalls,
  targets: { tasksPerSec4p: 5000, durableTasksPerSec4p: 1000, scale100kOver1k: 0.8, workerMaxRssMb: 100 },
  rows,
};
printTable(log, [
  ['figure', 'measured', 'target'],
  [`tasks/s, ${maxP} processes`, fmt(summary.tasksPerSec4p), '>= 5000 (4 processes)'],
  [`durable tasks/s, ${maxP} processes`, fmt(summary.durableTasksPerSec4p), '>= 1000 (4 processes)'],
  ['100k over 1k throughput', fmt(summary.scale100kOver1k, 2), '>= 0.8'],
  [`share of the raw floor (${maxP} processes)`, fmt(summary.fsLimitRatio, 2), '(ratio)'],
  [`worker max RSS, ${memTasks} tasks (MB)`, `${fmt(summary.workerMaxRssMb, 0)} (default V8: ${fmt(summary.workerMaxRssMbDefaultV8, 0)})`, '< 100'],
  ...(syscalls
    ? [['system calls per task: add, claim + complete', `${syscalls.add.toFixed(1)} + ${syscalls.drain.toFixed(1)} (floor ${syscalls.floor.toFixed(1)})`, '(count)']]
    : []),
]);
if (values.json) console.log(JSON.stringify(summary));
if (!values.dir) fs.rmSync(base, { recursive: true, force: true });

function fmt(value: number | null, digits = 0): string {
  return value === null ? 'n/a' : value.toFixed(digits);
}

/** File and folder system calls in a `strace -c` summary (threads' futex, memory and event-loop calls left out). */
function countFsCalls(summary: string): number {
  const fsCalls = new Set([
    'open', 'openat', 'close', 'read', 'pread64', 'write', 'pwrite64', 'writev', 'access', 'faccessat', 'faccessat2',
    'stat', 'lstat', 'fstat', 'newfstatat', 'statx', 'unlink', 'unlinkat', 'link', 'linkat', 'rename', 'renameat',
    'renameat2', 'ftruncate', 'truncate', 'fsync', 'fdatasync', 'getdents64', 'mkdir', 'mkdirat', 'utimensat', 'futimesat',
  ]);
  let total = 0;
  for (const line of summary.split('\n')) {
    const cells = line.trim().split(/\s+/);
    const name = cells[cells.length - 1] ?? '';
    if (!fsCalls.has(name)) continue;
    // % time, seconds, usecs/call, calls, [errors], syscall
    total += Number(cells[3]);
  }
  return total;
}

/**
 * The same add/claim/complete workload on the Redis backend, and BullMQ with
 * no-op jobs on the same server as the peer, measured in the same run.
 */
async function runRedisBench(url: string): Promise<void> {
  const say = (line: string) => (values.json ? process.stderr.write(`${line}\n`) : console.log(line));
  const { Redis } = await import('ioredis');
  const admin = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: true });
  admin.on('error', () => {});
  const shown = url.replace(/\/\/[^@/]*@/, '//***@');
  try {
    await admin.connect();
  } catch (err) {
    console.error(`cannot connect to ${shown}: ${(err as Error).message}`);
    process.exit(1);
  }
  const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
  const config = async (name: string) => ((await admin.config('GET', name)) as string[])[1] ?? '?';
  const persistence = `appendonly ${await config('appendonly')}, appendfsync ${await config('appendfsync')}, save "${await config('save')}"`;
  const sizes = (values.quick ? '1000,10000' : values.sizes).split(',').map(Number);
  const procs = values.procs.split(',').map(Number);
  say(`agent-team queue benchmark on Redis: ${os.cpus().length} CPUs, Node ${process.version}`);
  say(`server: ${shown}, Redis ${version} (${persistence})`);
  say('');

  let run = 0;
  const dropKeys = async (pattern: string) => {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  };
  const runOne = async (processes: number, tasks: number, concurrency: number) => {
    const namespace = `bench-${process.pid}-${++run}`;
    const share = Math.ceil(tasks / processes);
    const startAt = Date.now() + 1000 + processes * 300;
    const results = (
      await Promise.all(
        Array.from({ length: processes }, (_, i) =>
          runWorker(['--redis', url, namespace, String(i), String(processes), String(share), String(startAt), String(concurrency)]),
        ),
      )
    ).map((line) => JSON.parse(line) as WorkerResult);
    await dropKeys(`agent-team:{${namespace}}:*`);
    await dropKeys(`bench:{${namespace}}:*`);
    const total = results.reduce((sum, r) => sum + r.done, 0);
    const added = results.reduce((sum, r) => sum + r.added, 0);
    if (total !== added) throw new Error(`lost work: added ${added}, completed ${total}`);
    const wallMs = Math.max(...results.map((r) => r.endAt)) - Math.min(...results.map((r) => r.startAt));
    return { tasksPerSec: (total / wallMs) * 1000, maxRssMb: Math.max(...results.map((r) => r.maxRssMb)) };
  };
  const runBullmq = async (jobs: number, concurrency: number) => {
    const name = `agent-team-bench-${process.pid}-${++run}`;
    const line = await runWorker(['--bullmq', url, name, String(jobs), String(concurrency), String(Date.now() + 800)]);
    const result = JSON.parse(line) as { done: number; ms: number };
    await dropKeys(`bull:${name}:*`);
    return (result.done / result.ms) * 1000;
  };

  const reps = (tasks: number) => (values.quick ? 1 : tasks <= 1000 ? 3 : tasks <= 10_000 ? 2 : 1);
  const concurrencies = values.concurrency.split(',').map(Number);
  const peerSize = sizes.includes(10_000) ? 10_000 : sizes[sizes.length - 1]!;
  type RedisRow = { processes: number; concurrency: number; tasks: number; tasksPerSec: number; maxRssMb: number };
  const rows: RedisRow[] = [];
  const equalRows: RedisRow[] = [];
  const measure = async (p: number, c: number, tasks: number, into = rows) => {
    const samples = [];
    for (let rep = 0; rep < reps(tasks); rep++) samples.push(await runOne(p, tasks, c));
    const row: RedisRow = {
      processes: p,
      concurrency: c,
      tasks,
      tasksPerSec: median(samples.map((x) => x.tasksPerSec)),
      maxRssMb: Math.max(...samples.map((x) => x.maxRssMb)),
    };
    into.push(row);
    say(
      `  ${String(p).padStart(2)} proc x ${String(c).padStart(2)} slot${c > 1 ? 's' : ' '} ${String(tasks).padStart(6)} tasks: ${String(Math.round(row.tasksPerSec)).padStart(6)} tasks/s  (worker max RSS ${row.maxRssMb.toFixed(0)} MB)`,
    );
  };
  const peer: Record<number, number> = {};
  const runPeer = async (concurrency: number) => {
    const samples = [];
    for (let rep = 0; rep < (values.quick ? 1 : 2); rep++) samples.push(await runBullmq(peerSize, concurrency));
    peer[concurrency] = median(samples);
    say(`  BullMQ, one worker, concurrency ${concurrency}, ${peerSize} jobs: ${Math.round(peer[concurrency])} jobs/s`);
  };
  say('agent-team on Redis: add, claim, complete (no-op work); a worker with slots claims several at once, then completes and claims the next in one call');
  for (const tasks of sizes) for (const p of procs) await measure(p, 1, tasks);
  say('');
  // Equal concurrency, one process each, interleaved with the peer so load changes hit both alike.
  say(`Equal concurrency, ${peerSize} tasks, same server: one process of ours with N slots against BullMQ's one worker with concurrency N`);
  for (const c of [...new Set([1, 8, ...concurrencies])]) {
    await measure(1, c, peerSize, equalRows);
    await runPeer(c);
    const ours = equalRows.find((r) => r.concurrency === c)?.tasksPerSec ?? NaN;
    say(`  ratio at concurrency ${c}: ${(ours / peer[c]!).toFixed(2)} (load average ${os.loadavg()[0]!.toFixed(2)})`);
  }
  say('');

  const find = (p: number, tasks: number, c = 1) => rows.find((r) => r.processes === p && r.tasks === tasks && r.concurrency === c);
  const maxP = Math.max(...procs);
  const headline = find(maxP, peerSize);
  const small = find(maxP, Math.min(...sizes));
  const large = find(maxP, Math.max(...sizes));
  const tasksPerSec4p = headline?.tasksPerSec ?? null;
  const equal = (c: number) => equalRows.find((r) => r.concurrency === c)?.tasksPerSec ?? null;
  const oneC1 = equal(1);
  const oneC8 = equal(8);
  const summary = {
    backend: shown,
    redisVersion: version,
    persistence,
    tasksPerSec4p,
    tasksPerSec1p: oneC1,
    tasksPerSec1pC8: oneC8,
    bullmqTasksPerSec: peer[8] ?? null,
    bullmqTasksPerSecC1: peer[1] ?? null,
    // The headline: equal concurrency, one worker process each (8 slots against BullMQ's concurrency 8).
    ratioToBullmq: oneC8 !== null && peer[8] ? oneC8 / peer[8] : null,
    ratioToBullmqEqualC1: oneC1 !== null && peer[1] ? oneC1 / peer[1] : null,
    ratioToBullmqEqualC8: oneC8 !== null && peer[8] ? oneC8 / peer[8] : null,
    // Several single-slot processes against one BullMQ worker (the figure before slots existed).
    ratio4pToBullmq: tasksPerSec4p !== null && peer[8] ? tasksPerSec4p / peer[8] : null,
    byConcurrency: Object.fromEntries(
      Object.keys(peer).map((c) => [c, { ours: equal(Number(c)), bullmq: peer[Number(c)], ratio: (equal(Number(c)) ?? NaN) / peer[Number(c)]! }]),
    ),
    scale100kOver1k: large && small ? large.tasksPerSec / small.tasksPerSec : null,
    workerMaxRssMb: Math.max(...rows.map((r) => r.maxRssMb)),
    loadAverage: os.loadavg(),
    rows,
    equalRows,
  };
  printTable(say, [
    ['figure', 'measured'],
    [`tasks/s, 1 process x 8 slots (${peerSize} tasks)`, fmt(summary.tasksPerSec1pC8)],
    [`tasks/s, 1 process x 1 slot`, fmt(summary.tasksPerSec1p)],
    [`tasks/s, ${maxP} processes x 1 slot`, fmt(summary.tasksPerSec4p)],
    ['BullMQ jobs/s, concurrency 8', fmt(summary.bullmqTasksPerSec)],
    ['BullMQ jobs/s, concurrency 1', fmt(summary.bullmqTasksPerSecC1)],
    ['ratio to BullMQ, equal concurrency 8 (headline)', fmt(summary.ratioToBullmq, 2)],
    ['ratio to BullMQ, equal concurrency 1', fmt(summary.ratioToBullmqEqualC1, 2)],
    [`${maxP} single-slot processes / BullMQ c=8`, fmt(summary.ratio4pToBullmq, 2)],
    [`${Math.max(...sizes)} over ${Math.min(...sizes)} tasks throughput`, fmt(summary.scale100kOver1k, 2)],
    ['worker max RSS (MB)', fmt(summary.workerMaxRssMb, 0)],
    ['load average (1, 5, 15 min) at the end', os.loadavg().map((l) => l.toFixed(2)).join(', ')],
  ]);
  if (values.json) console.log(JSON.stringify(summary));
  await admin.quit();
}

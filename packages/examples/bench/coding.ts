/**
 * pnpm bench:coding [--tasks N] [--workers N] [--model-ms N] [--json]
 *
 * What a coding team costs per task besides the model and the test command:
 * the task's worktree, its commit, and its merge through the merge queue
 * (into mergeInto by compare-and-swap). It runs on a clone of this repository,
 * 20 tasks by default and 4 workers. The model is scripted and instant: it
 * writes one new file per task. There is no test command. Beside it, in the
 * same run, it measures `git worktree add` alone on the same clone.
 * Target (issue 11): under 150 ms p50 per task. With --model-ms N the scripted
 * model takes N ms per call, as a real one takes seconds: git then trusts the
 * stat data of a fresh checkout (see docs/coding-teams.md on racy git).
 *
 * Three figures per task:
 * - git work: worktree + commit + merge, as TeamRepo spends them, merge-lock waits excluded;
 * - claim to complete: the task's wall time, including the wait for the merge queue;
 * - the same git work one task at a time (TeamRepo driven directly, one agent), which
 *   shows what a task costs when no other worker competes for the cores.
 * Then every git process the team started, by command, with its mean time, and
 * the load average (the machine may be shared: compare with the same-run baseline).
 */
import childProcess, { execFileSync } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AgentRole, AgentTeam, TeamRepo, fromFunction } from '@agent-team/agents';
import { median, percentile, printTable } from './bench-utils.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    tasks: { type: 'string', default: '20' },
    workers: { type: 'string', default: '4' },
    'model-ms': { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('Usage: pnpm bench:coding [--tasks N] [--workers N] [--model-ms N] [--json]');
  process.exit(0);
}
const taskCount = Number(values.tasks);
const workerCount = Number(values.workers);
if (!Number.isInteger(taskCount) || taskCount < 2) throw new Error(`--tasks must be an integer of at least 2, got "${values.tasks}"`);
if (!Number.isInteger(workerCount) || workerCount < 1) throw new Error(`--workers must be an integer of at least 1, got "${values.workers}"`);
if (!/^\d+$/.test(values['model-ms'])) throw new Error(`--model-ms must be a whole number of ms, got "${values['model-ms']}"`);
const log = (line: string) => (values.json ? process.stderr.write(`${line}\n`) : console.log(line));

const root = path.join(import.meta.dirname, '..', '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-coding-'));
const repo = path.join(dir, 'repo');
execFileSync('git', ['clone', '--quiet', '--no-hardlinks', root, repo]);
const files = execFileSync('git', ['ls-files'], { cwd: repo, encoding: 'utf8' }).split('\n').filter(Boolean).length;
log(`A clone of this repository: ${files} tracked files, in ${dir}`);

// Baseline: git worktree add (and its removal) alone, on the same clone.
const baseline: number[] = [];
for (let i = 0; i < 10; i++) {
  const wt = path.join(dir, `baseline-${i}`);
  const t0 = performance.now();
  execFileSync('git', ['worktree', 'add', '--quiet', '--detach', wt, 'HEAD'], { cwd: repo });
  baseline.push(performance.now() - t0);
  fs.rmSync(wt, { recursive: true, force: true });
  execFileSync('git', ['worktree', 'prune'], { cwd: repo });
}

// A second baseline: the cheapest git process (git rev-parse HEAD), started as the team starts them.
const trivial: number[] = [];
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => childProcess.execFile('git', ['rev-parse', 'HEAD'], { cwd: repo }, (err) => (err ? reject(new Error(err.message)) : resolve())));
  trivial.push(performance.now() - t0);
}

// Every git process the team starts, by subcommand: how many per task, and how long each takes.
const processes = new Map<string, { count: number; ms: number }>();
let counting = false;
const execFile = childProcess.execFile;
childProcess.execFile = function countedExecFile(this: unknown, ...args: unknown[]) {
  const [file, argv] = args as [string, readonly string[]];
  const done = args.at(-1) as (...a: unknown[]) => void;
  if (!counting || file !== 'git' || typeof done !== 'function') return (execFile as (...a: unknown[]) => unknown).apply(this, args);
  let sub = '';
  for (let i = 0; i < argv.length && !sub; i++) {
    if (argv[i] === '-c' || argv[i] === '-C') i++;
    else if (!argv[i]?.startsWith('-')) sub = argv[i] === 'worktree' ? `worktree ${argv[i + 1] ?? ''}` : (argv[i] as string);
  }
  const t0 = performance.now();
  return (execFile as (...a: unknown[]) => unknown).apply(this, [
    ...args.slice(0, -1),
    (...result: unknown[]) => {
      const entry = processes.get(sub) ?? { count: 0, ms: 0 };
      entry.count += 1;
      entry.ms += performance.now() - t0;
      processes.set(sub, entry);
      done(...result);
    },
  ]);
} as typeof childProcess.execFile;
syncBuiltinESMExports();

// The team's git work per task, as TeamRepo spends it (its methods timed in place).
const gitMs = new Map<string, number>();
const lockWaitMs = new Map<string, number>();
const proto = TeamRepo.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
for (const method of ['worktreeFor', 'commit', 'merge', 'park', 'removeWorktree'] as const) {
  const original = proto[method] as (...args: unknown[]) => Promise<unknown>;
  proto[method] = async function timed(this: unknown, ...args: unknown[]) {
    const taskId = String(method === 'commit' ? args[1] : args[0]);
    const t0 = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      gitMs.set(taskId, (gitMs.get(taskId) ?? 0) + performance.now() - t0);
    }
  };
}
// The merge lock's wait is queueing, not work: measured apart.
const { ResourceLocks } = await import('@agent-team/core');
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with apply on the instance below
const acquire = ResourceLocks.prototype.acquire;
let mergingTask = '';
ResourceLocks.prototype.acquire = async function timedAcquire(this: InstanceType<typeof ResourceLocks>, ...args: Parameters<typeof acquire>) {
  const t0 = performance.now();
  const task = mergingTask;
  try {
    return await acquire.apply(this, args);
  } finally {
    if (task) lockWaitMs.set(task, (lockWaitMs.get(task) ?? 0) + performance.now() - t0);
  }
};
const merge = proto.merge as (...args: unknown[]) => Promise<unknown>;
proto.merge = function mergeNoting(this: unknown, ...args: unknown[]) {
  mergingTask = String(args[0]);
  return merge.apply(this, args);
};

const modelMs = Number(values['model-ms']);
const writer = fromFunction(async function writer(_prompt, request) {
  if (modelMs > 0) await new Promise((resolve) => setTimeout(resolve, modelMs));
  const id = /Task: (\S+)/.exec(request.messages.find((m) => m.role === 'user')?.content ?? '')?.[1] ?? 'x';
  if (request.messages.some((m) => m.role === 'tool')) return `wrote notes/${id}.md`;
  return { text: '', toolCalls: [{ name: 'write_file', arguments: { path: `notes/${id}.md`, content: `# ${id}\n\nA note from the benchmark.\n` } }] };
});
const team = new AgentTeam({ workspace: path.join(dir, 'workspace'), teamId: 'bench', codebase: { repo } });
for (let w = 1; w <= workerCount; w++) team.addAgent(`w${w}`, AgentRole.WORKER, writer, { codebase: 'write' });
for (let i = 1; i <= taskCount; i++) await team.addTask(`Write a note for task ${i}`, { id: `note-${i}` });
const claimed = new Map<string, number>();
const wall = new Map<string, number>();
team.on('task.claimed', (e) => claimed.set(e.taskId, performance.now()));
team.on('task.completed', (e) => {
  const t = claimed.get(e.taskId);
  if (t !== undefined) wall.set(e.taskId, performance.now() - t);
});
const started = performance.now();
const loadBefore = os.loadavg()[0] as number;
counting = true;
const summary = await team.run();
counting = false;
const totalMs = performance.now() - started;
const load = [loadBefore, os.loadavg()[0] as number];
await team.close();
if (summary.status !== 'completed') throw new Error(`the team did not complete: ${summary.status}`);
// The same git work one task at a time (no other worker competing for the cores): what a task costs by itself.
const solo: number[] = [];
const soloRepo = await TeamRepo.open('solo', { repo }, path.join(dir, 'solo-workspace'));
for (let i = 1; i <= 10; i++) {
  const t0 = performance.now();
  const wt = await soloRepo.worktreeFor(`solo-${i}`, 'solo');
  fs.mkdirSync(path.join(wt, 'notes'), { recursive: true });
  fs.writeFileSync(path.join(wt, 'notes', `solo-${i}.md`), `# solo ${i}\n`);
  await soloRepo.commit(wt, `solo-${i}`, `Write a note ${i}`, 'solo');
  const outcome = await soloRepo.merge(`solo-${i}`, 'solo');
  if (!outcome.merged) throw new Error(`solo-${i} did not merge: ${outcome.reason}`);
  await soloRepo.park(`solo-${i}`, 'solo');
  solo.push(performance.now() - t0);
}
await soloRepo.close();

const merged = execFileSync('git', ['log', '--merges', '--format=%s', 'agent-team/bench'], { cwd: repo, encoding: 'utf8' }).split('\n').filter((s) => s.startsWith('Merge task ')).length;

const work = [...gitMs.entries()].filter(([id]) => id.startsWith('note-')).map(([id, ms]) => ms - (lockWaitMs.get(id) ?? 0));
const walls = [...wall.values()];
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
log(`\n${taskCount} tasks, ${workerCount} workers${modelMs ? ` (a model taking ${modelMs} ms a call)` : ''}, ${merged} merges into agent-team/bench, ${(totalMs / 1000).toFixed(2)} s in all (${(taskCount / (totalMs / 1000)).toFixed(1)} tasks/s)\n`);
printTable(log, [
  ['per task', 'p50', 'p99'],
  ['git work (worktree + commit + merge, lock waits excluded)', fmt(median(work)), fmt(percentile(work, 99))],
  ['claim to complete (with the merge queue wait)', fmt(median(walls)), fmt(percentile(walls, 99))],
  ['the same git work, one task at a time (10 tasks, 1 agent)', fmt(median(solo)), fmt(percentile(solo, 99))],
  ['baseline: git worktree add alone', fmt(median(baseline)), fmt(percentile(baseline, 99))],
  ['baseline: one git rev-parse HEAD', fmt(median(trivial)), fmt(percentile(trivial, 99))],
]);
const ratio = median(work) / median(baseline);
log(`\ngit work per task is ${ratio.toFixed(2)}x one git worktree add (one task at a time: ${(median(solo) / median(baseline)).toFixed(2)}x); p50 ${median(work) < 150 ? 'meets' : 'misses'} the 150 ms target`);
log(`load average (1 min) ${load.map((l) => l.toFixed(2)).join(' -> ')} on ${os.cpus().length} cores`);
const allProcesses = [...processes.values()].reduce((sum, p) => sum + p.count, 0);
log(`\ngit processes: ${(allProcesses / taskCount).toFixed(1)} per task (team start and close included)\n`);
printTable(log, [
  ['git command', 'per task', 'mean ms'],
  ...[...processes.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([sub, p]) => [sub, (p.count / taskCount).toFixed(2), (p.ms / p.count).toFixed(1)]),
]);
if (values.json) {
  console.log(JSON.stringify({ tasks: taskCount, workers: workerCount, files, gitWorkMs: { p50: median(work), p99: percentile(work, 99) }, wallMs: { p50: median(walls), p99: percentile(walls, 99) }, worktreeAddMs: { p50: median(baseline), p99: percentile(baseline, 99) }, ratio, revParseMs: { p50: median(trivial), p99: percentile(trivial, 99) }, soloMs: { p50: median(solo), p99: percentile(solo, 99) }, loadAverage: load, gitProcessesPerTask: allProcesses / taskCount }));
}
fs.rmSync(dir, { recursive: true, force: true });

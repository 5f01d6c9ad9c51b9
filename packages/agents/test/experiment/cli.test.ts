import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gone, tempDir } from '../helpers.js';

const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'agent-team.js');

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
function newDir(): string {
  const dir = tempDir('exp-cli-');
  dirs.push(dir);
  return dir;
}

function cli(args: string[], cwd: string): Promise<Result> & { child: ChildProcess } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Result>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }))) as Promise<Result> & { child: ChildProcess };
  done.child = child;
  return done;
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** An offline team (each call takes 120 ms, so a run lasts long enough to be killed) and six task cases. */
function fixture(dir: string, extra = '', latencyMs = 120): void {
  fs.writeFileSync(
    path.join(dir, 'team.yaml'),
    `version: 1
agents:
  - { id: worker-1, role: worker, model: { spec: offline, latencyMs: ${latencyMs} } }
tasks:
  - { description: placeholder }
`,
  );
  const topics = ['leases', 'fencing', 'idempotency', 'backoff', 'quarantine', 'watchers'];
  fs.writeFileSync(path.join(dir, 'cases.jsonl'), topics.map((t) => JSON.stringify({ id: t, task: `Explain ${t} in a task queue`, expected: t })).join('\n'));
  fs.writeFileSync(
    path.join(dir, 'matrix.yaml'),
    `version: 1
spec: ./team.yaml
cases: ./cases.jsonl
matrix:
  model: [offline:1, offline:2]
score:
  - { kind: contains, ignoreCase: true }
  - { kind: regex, pattern: "^Work report" }
concurrency: 1
leaseMs: 1500
${extra}`,
  );
}

function events(queueDir: string): Array<{ type: string; taskId?: string }> {
  const dir = path.join(queueDir, 'events');
  return fs
    .readdirSync(dir)
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; taskId?: string });
}

function count<T>(items: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

describe('agent-team experiment', () => {
  it('a run killed with SIGKILL mid-way resumes: no case runs twice, none is missing', async () => {
    const dir = newDir();
    fixture(dir);
    const queue = path.join(dir, 'experiments', 'matrix', 'queue');
    const first = cli(['experiment', 'matrix.yaml', '-q'], dir);
    // Kill it once a few cases are done (and one is likely in flight).
    const results = path.join(queue, 'results');
    const until = Date.now() + 50_000;
    while (!(fs.existsSync(results) && fs.readdirSync(results).filter((f) => f.endsWith('.json')).length >= 4)) {
      if (Date.now() > until) throw new Error(`no progress: ${(await Promise.race([first, new Promise((r) => setTimeout(r, 10, null))])) ? 'the run ended' : 'still running'}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    const killed = await first;
    expect(killed.signal).toBe('SIGKILL');
    expect(await gone(first.child.pid as number)).toBe(true);
    const doneBefore = fs.readdirSync(results).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    expect(doneBefore.length).toBeGreaterThanOrEqual(4);
    expect(doneBefore.length).toBeLessThan(12);
    expect(fs.existsSync(path.join(dir, 'experiments', 'matrix', 'results', 'summary.json'))).toBe(false);

    const second = await cli(['experiment', 'matrix.yaml', '--json'], dir);
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout.trim().split('\n').pop() as string) as { status: string; cells: Array<{ id: string; cases: number; passed: number }> };
    expect(summary.status).toBe('complete');
    expect(summary.cells.map((c) => [c.id, c.cases, c.passed])).toEqual([
      ['model-offline-1', 6, 6],
      ['model-offline-2', 6, 6],
    ]);
    // Every case once in the outcomes.
    const lines = fs.readFileSync(path.join(dir, 'experiments', 'matrix', 'results', 'outcomes.jsonl'), 'utf8').trim().split('\n');
    const keys = lines.map((l) => { const o = JSON.parse(l) as { cell: string; case: string }; return `${o.cell}/${o.case}`; });
    expect(keys).toHaveLength(12);
    expect(new Set(keys).size).toBe(12);
    // In the queue's event log: every case completed exactly once, and a case completed before the kill never started again.
    const log = events(queue);
    const completed = count(log.filter((e) => e.type === 'task.completed').map((e) => e.taskId));
    expect(completed.size).toBe(12);
    expect([...completed.values()].every((n) => n === 1)).toBe(true);
    const started = count(log.filter((e) => e.type === 'task.started').map((e) => e.taskId));
    for (const id of doneBefore) expect(started.get(id), id).toBe(1);
  });

  it('agent-team worker --experiment processes share the run', async () => {
    const dir = newDir();
    // Calls of 400 ms: the runner's 12 cases, one at a time, last far longer than the worker takes to start.
    fixture(dir, '', 400);
    const queue = path.join(dir, 'experiments', 'matrix', 'queue');
    const main = cli(['experiment', 'matrix.yaml', '--json', '-q'], dir);
    const until = Date.now() + 30_000;
    while (!fs.existsSync(path.join(queue, 'team.json'))) {
      if (Date.now() > until) throw new Error('the experiment made no queue');
      await new Promise((r) => setTimeout(r, 20));
    }
    const worker = await cli(['worker', '--experiment', '--id', 'helper', '-w', queue, '--json'], dir);
    const done = await main;
    expect(done.code, done.stderr).toBe(0);
    expect(worker.code, worker.stderr).toBe(0);
    const helped = (JSON.parse(worker.stdout) as { tasksDone: number }).tasksDone;
    const summary = JSON.parse(done.stdout.trim().split('\n').pop() as string) as { status: string; cells: Array<{ cases: number }> };
    expect(summary.status).toBe('complete');
    expect(summary.cells.map((c) => c.cases)).toEqual([6, 6]);
    // The worker took part.
    expect(helped).toBeGreaterThan(0);
    const completed = count(events(queue).filter((e) => e.type === 'task.completed').map((e) => e.taskId));
    expect(completed.size).toBe(12);
    expect([...completed.values()].every((n) => n === 1)).toBe(true);
  });

  it('replay reproduces the recorded summary byte for byte, with no model; --dry-run and --cell', async () => {
    const dir = newDir();
    fixture(dir, 'cache: { mode: record, dir: ./cache }\n');
    const recorded = await cli(['experiment', 'matrix.yaml', '--json', '-q'], dir);
    expect(recorded.code, recorded.stderr).toBe(0);
    const replayed = await cli(['experiment', 'matrix.yaml', '--json', '-q', '--replay'], dir);
    expect(replayed.code, replayed.stderr).toBe(0);
    const last = (r: Result) => r.stdout.trim().split('\n').pop();
    expect(last(replayed)).toBe(last(recorded));
    expect(fs.readFileSync(path.join(dir, 'experiments', 'matrix-replay', 'results', 'summary.json'), 'utf8')).toBe(
      fs.readFileSync(path.join(dir, 'experiments', 'matrix', 'results', 'summary.json'), 'utf8'),
    );
    // A replay with a recording deleted fails that case as a replay miss, and says so.
    const cellCache = path.join(dir, 'cache', 'model-offline-2', 'models');
    for (const f of fs.readdirSync(cellCache)) fs.rmSync(path.join(cellCache, f));
    const missing = await cli(['experiment', 'matrix.yaml', '--json', '-q', '--replay', '--cell', 'model-offline-2'], dir);
    expect(missing.code).toBe(1);
    const one = JSON.parse(last(missing) as string) as { cells: Array<{ id: string; passed: number; failures: Record<string, number> }> };
    expect(one.cells).toEqual([expect.objectContaining({ id: 'model-offline-2', passed: 0, failures: { 'replay-miss': 6 } })]);

    const dry = await cli(['experiment', 'matrix.yaml', '--dry-run', '--json'], dir);
    expect(dry.code).toBe(0);
    const plan = JSON.parse(last(dry) as string) as { calls: number; cells: Array<{ id: string; calls: number }> };
    expect(plan.cells.map((c) => [c.id, c.calls])).toEqual([['model-offline-1', 6], ['model-offline-2', 6]]);
  });

  it('refuses bad matrix files with exit 2, naming the field', async () => {
    const dir = newDir();
    fixture(dir);
    const matrix = fs.readFileSync(path.join(dir, 'matrix.yaml'), 'utf8');
    const bad = async (text: string, cases?: string) => {
      fs.writeFileSync(path.join(dir, 'bad.yaml'), text);
      if (cases !== undefined) fs.writeFileSync(path.join(dir, 'cases.jsonl'), cases);
      const r = await cli(['experiment', 'bad.yaml'], dir);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      return r.stderr;
    };
    expect(await bad(matrix.replace('model: [offline:1, offline:2]', 'agents.tempreture: [0, 1]'))).toMatch(/matrix\.agents\.tempreture: unknown override path/);
    expect(await bad(matrix.replace('model: [offline:1, offline:2]', 'model: []'))).toMatch(/matrix\.model: an axis needs at least one value/);
    expect(await bad(matrix, '{"id":"a","task":"x","expected":"x"}\n{"id":"a","task":"y","expected":"y"}\n')).toMatch(/cases\.jsonl:2\.id: "a" is used twice/);
    expect(await bad(matrix.replace('model: [offline:1, offline:2]', 'model: [offline:1]\n  seed: [1.5]'), '{"id":"a","task":"x","expected":"x"}\n')).toMatch(/matrix\.seed: seeds must be whole numbers/);
    fixture(dir);
    const noCell = await cli(['experiment', 'matrix.yaml', '--cell', 'nope'], dir);
    expect(noCell.code).toBe(2);
    expect(noCell.stderr).toMatch(/no cell "nope".*model-offline-1, model-offline-2/);
    const noCache = await cli(['experiment', 'matrix.yaml', '--replay'], dir);
    expect(noCache.code).toBe(2);
    expect(noCache.stderr).toMatch(/--replay needs recordings/);
  });
});

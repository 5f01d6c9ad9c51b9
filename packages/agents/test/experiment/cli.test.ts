import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_SERVER, RedisServer } from '../../../core/test/helpers/redis-server.js';
import { gone, tempDir } from '../helpers.js';
import { FakeServer } from '../models/helpers/fake-server.js';

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

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Result> & { child: ChildProcess } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
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

  it('SIGINT hands the cases in flight back, writes partial results and exits 130; the next run completes them', async () => {
    const dir = newDir();
    fixture(dir, '', 300);
    const results = path.join(dir, 'experiments', 'matrix', 'queue', 'results');
    const first = cli(['experiment', 'matrix.yaml', '--json', '-q'], dir);
    const until = Date.now() + 30_000;
    while (!(fs.existsSync(results) && fs.readdirSync(results).filter((f) => f.endsWith('.json')).length >= 2)) {
      if (Date.now() > until) throw new Error('no progress');
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGINT');
    const stopped = await first;
    expect(stopped.code).toBe(130);
    const partial = JSON.parse(stopped.stdout.trim().split('\n').pop() as string) as { status: string; stoppedBy: string; cells: Array<{ cases: number; partial: boolean }> };
    expect(partial.status).toBe('partial');
    expect(partial.stoppedBy).toMatch(/SIGINT/);
    const ran = partial.cells.reduce((n, c) => n + c.cases, 0);
    expect(ran).toBeGreaterThanOrEqual(2);
    expect(ran).toBeLessThan(12);
    // Nothing is left claimed: the case in flight was handed back, not left to its lease.
    expect(fs.readdirSync(path.join(dir, 'experiments', 'matrix', 'queue', 'claims'))).toEqual([]);
    const second = await cli(['experiment', 'matrix.yaml', '--json', '-q'], dir);
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout.trim().split('\n').pop() as string) as { status: string; cells: Array<{ cases: number }> };
    expect(summary.status).toBe('complete');
    expect(summary.cells.map((c) => c.cases)).toEqual([6, 6]);
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

  it('a run recorded against a provider (a fake Anthropic API on 127.0.0.1) replays with no key and no network', async () => {
    const dir = newDir();
    const server = await FakeServer.start((request) => {
      const body = request.body as { system?: string | Array<{ text: string }>; messages: Array<{ content: string | Array<{ text?: string }> }> };
      const system = typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text).join('');
      const last = body.messages[body.messages.length - 1]?.content;
      const prompt = typeof last === 'string' ? last : (last ?? []).map((b) => b.text ?? '').join('');
      const text = system.includes('evaluator')
        ? JSON.stringify({ pass: !prompt.includes('Answer to judge:\nI cannot'), score: 1, reason: 'checked' })
        : /fencing/.test(prompt) ? 'I cannot say.' : `Answer: ${/Explain (\w+)/.exec(prompt)?.[1] ?? 'nothing'} keep a queue safe.`;
      return {
        kind: 'json',
        delayMs: 350,
        body: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 40, output_tokens: 10 } },
      };
    });
    try {
      fs.writeFileSync(path.join(dir, 'team.yaml'), 'version: 1\nagents:\n  - { id: worker-1, role: worker, model: anthropic:claude-haiku-4-5 }\ntasks:\n  - { description: x }\n');
      fs.writeFileSync(path.join(dir, 'cases.jsonl'), ['leases', 'fencing', 'backoff'].map((t) => JSON.stringify({ id: t, task: `Explain ${t} in a queue`, expected: t })).join('\n'));
      fs.writeFileSync(
        path.join(dir, 'matrix.yaml'),
        `version: 1
spec: ./team.yaml
cases: ./cases.jsonl
matrix:
  agents.temperature: [0, 1]
score:
  - { kind: judge, model: anthropic:claude-sonnet-4-6, rubric: Pass when the answer explains the mechanism. }
cache: { mode: record, dir: ./cache }
concurrency: 1
`,
      );
      const { ANTHROPIC_API_KEY: _k, ANTHROPIC_BASE_URL: _u, ...clean } = process.env;
      const recording = cli(['experiment', 'matrix.yaml', '--json', '-q'], dir, { ...clean, ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key', ANTHROPIC_BASE_URL: server.url });
      // A worker without the key joins once a case is done: it hands the case it took back and stops, naming the key.
      const results = path.join(dir, 'experiments', 'matrix', 'queue', 'results');
      const until = Date.now() + 30_000;
      while (!(fs.existsSync(results) && fs.readdirSync(results).some((f) => f.endsWith('.json')))) {
        if (Date.now() > until) throw new Error('no case completed');
        await new Promise((r) => setTimeout(r, 20));
      }
      const keyless = await cli(['worker', '--experiment', '--id', 'keyless', '-w', path.join(dir, 'experiments', 'matrix', 'queue')], dir, clean);
      expect(keyless.code, keyless.stderr + keyless.stdout).toBe(2);
      expect(keyless.stderr).toMatch(/keyless stopped taking cases: cell temperature-\d: .*ANTHROPIC_API_KEY/);
      const recorded = await recording;
      expect(recorded.code, recorded.stderr).toBe(0);
      const calls = server.requests.length;
      // 3 cases x 2 cells, each one worker call and one judge call.
      expect(calls).toBe(12);
      const summary = JSON.parse(recorded.stdout.trim().split('\n').pop() as string) as {
        cells: Array<{ passed: number; tokens: number; costUsd: number; judge: { calls: number }; failures: Record<string, number> }>;
      };
      expect(summary.cells.map((c) => [c.passed, c.tokens, c.judge.calls, c.failures])).toEqual([
        [2, 150, 3, { wrong: 1 }],
        [2, 150, 3, { wrong: 1 }],
      ]);
      // Haiku 4.5 at $1/$5 per million tokens: 3 x (40 in + 10 out).
      expect(summary.cells[0]?.costUsd).toBeCloseTo((120 * 1 + 30 * 5) / 1e6, 12);
      await server.close();
      const replayed = await cli(['experiment', 'matrix.yaml', '--json', '-q', '--replay'], dir, clean);
      expect(replayed.code, replayed.stderr).toBe(0);
      expect(replayed.stdout.trim().split('\n').pop()).toBe(recorded.stdout.trim().split('\n').pop());
      expect(server.requests.length).toBe(calls);
      // Without --replay and without a key, the same matrix is refused at once, naming the variable.
      const noKey = await cli(['experiment', 'matrix.yaml', '--workspace', 'other', '-q'], dir, clean);
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toMatch(/ANTHROPIC_API_KEY/);
      expect(fs.existsSync(path.join(dir, 'other'))).toBe(false);
      // The key reached no file: not the recordings, the queue, the case workspaces or the results.
      const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      expect(files.length).toBeGreaterThan(20);
      for (const f of files) expect(fs.readFileSync(path.join(f.parentPath, f.name), 'utf8')).not.toContain('sk-ant-test-not-a-key');
    } finally {
      await server.close().catch(() => {});
    }
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

describe.skipIf(!REDIS_SERVER)('agent-team experiment on Redis', () => {
  const server = new RedisServer();
  beforeAll(async () => {
    await server.start();
  }, 30_000);
  afterAll(async () => {
    await server.destroy();
  });

  it('keeps its queue in Redis, shared with a worker --experiment process', async () => {
    const dir = newDir();
    // One case at a time of 600 ms here (7 s for all twelve), so the worker, which needs a second or two
    // to start on a loaded machine, always finds cases left to run.
    fixture(dir, '', 600);
    const url = server.url;
    const main = cli(['experiment', 'matrix.yaml', '--backend', url, '--json', '-q', '--concurrency', '1'], dir);
    // The worker joins once the experiment has added its cases.
    let helper: Promise<Result> | null = null;
    const until = Date.now() + 30_000;
    while (helper === null) {
      const probe = await cli(['status', '--backend', url, '--namespace', 'experiment-matrix', '--json'], dir);
      const total = probe.code === 0 ? (JSON.parse(probe.stdout) as { counts?: { total?: number } }).counts?.total : 0;
      if (total === 12) helper = cli(['worker', '--experiment', '--id', 'helper', '--backend', url, '--namespace', 'experiment-matrix', '--json'], dir);
      else if (Date.now() > until) throw new Error('the experiment added no cases to Redis');
      else await new Promise((r) => setTimeout(r, 100));
    }
    const [done, worker] = await Promise.all([main, helper]);
    expect(done.code, done.stderr).toBe(0);
    expect(worker.code, worker.stderr).toBe(0);
    const summary = JSON.parse(done.stdout.trim().split('\n').pop() as string) as { status: string; cells: Array<{ cases: number; passed: number }> };
    expect(summary).toMatchObject({ status: 'complete' });
    expect(summary.cells.map((c) => [c.cases, c.passed])).toEqual([[6, 6], [6, 6]]);
    expect(fs.existsSync(path.join(dir, 'experiments', 'matrix', 'queue'))).toBe(false);
    expect((JSON.parse(worker.stdout) as { tasksDone: number }).tasksDone).toBeGreaterThan(0);
    // --replay and --cell run in a folder of their own.
    const refused = await cli(['experiment', 'matrix.yaml', '--backend', url, '--cell', 'model-offline-1'], dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/without --backend/);
  });
});

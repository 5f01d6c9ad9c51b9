import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TaskQueue } from '@agent-team/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_SERVER, RedisServer } from '../../core/test/helpers/redis-server.js';
import { tempDir } from './helpers.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'agent-team.js');

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process. */
function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> & { child: ChildProcess } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Result>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }))) as Promise<Result> & {
    child: ChildProcess;
  };
  done.child = child;
  return done;
}

const completedEvents = (ws: string) =>
  fs
    .readdirSync(path.join(ws, 'events'))
    .flatMap((f) => fs.readFileSync(path.join(ws, 'events', f), 'utf8').split('\n'))
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; taskId?: string })
    .filter((e) => e.type === 'task.completed');

describe('agent-team CLI', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the sample spec from init to the end; status --json reports every task completed', async () => {
    dir = tempDir('cli-');
    const init = await cli(['init', 'ws', '--spec', 'team.yaml'], { cwd: dir });
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/Created workspace/);
    expect(fs.readFileSync(path.join(dir, 'team.yaml'), 'utf8')).toMatch(/role: lead/);
    const run = await cli(['run', 'team.yaml'], { cwd: dir });
    expect(run.stderr).toMatch(/completed/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Run completed: all \d+ tasks completed/);
    const status = await cli(['status', '--json', '--workspace', 'ws'], { cwd: dir });
    expect(status.code).toBe(0);
    const data = JSON.parse(status.stdout) as {
      counts: { total: number; completed: number };
      tasks: Array<{ id: string; status: string; attempt: number; owner: string | null }>;
      agents: Array<{ id: string; status: string }>;
    };
    expect(data.counts.total).toBeGreaterThan(3);
    expect(data.counts.completed).toBe(data.counts.total);
    expect(data.tasks).toHaveLength(data.counts.total);
    for (const t of data.tasks) {
      expect(t.status).toBe('completed');
      expect(t.attempt).toBeGreaterThanOrEqual(1);
      expect(typeof t.owner).toBe('string');
    }
    expect(data.agents.map((a) => [a.id, a.status]).sort()).toEqual([
      ['lead', 'stopped'],
      ['reviewer', 'stopped'],
      ['worker-1', 'stopped'],
      ['worker-2', 'stopped'],
    ]);
    // Running the same spec again resumes instead of failing on existing tasks.
    const again = await cli(['run', 'team.yaml', '--json'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'completed', total: data.counts.total });
  });

  it('reproduces a run on the offline model, and from a replay cache, whichever agent takes which task', async () => {
    dir = tempDir('cli-');
    const spec = (cache: object | undefined) =>
      JSON.stringify({
        agents: [
          { id: 'lead', role: 'lead', model: 'offline' },
          { id: 'w1', role: 'worker', model: 'offline', concurrency: 2 },
          { id: 'w2', role: 'worker', model: 'offline' },
          { id: 'w3', role: 'worker', model: 'offline' },
          { id: 'rev', role: 'reviewer', model: 'offline' },
        ],
        goal: 'Plan a migration of the billing database to a new schema',
        tasks: [{ description: 'List the tables' }, { description: 'Draft the rollback plan', review: true }],
        moa: [{ id: 'risks', prompt: 'What can go wrong in a schema migration?', proposers: { samples: 3 }, layers: 2 }],
        ...(cache ? { cache } : {}),
      });
    // Every answer, with the measured durations (timings, not answers) left out.
    const results = async (ws: string) => {
      const text = (await cli(['export', '--format', 'json', '-w', ws])).stdout;
      const report = JSON.parse(text, (key, value: unknown) => (key === 'durationMs' ? undefined : value)) as {
        tasks: Array<{ id: string; status: string; result?: unknown }>;
      };
      return Object.fromEntries(report.tasks.map((t) => [t.id, [t.status, t.result]]));
    };
    fs.writeFileSync(path.join(dir, 'plain.json'), spec(undefined));
    fs.writeFileSync(path.join(dir, 'record.json'), spec({ mode: 'record', dir: 'recordings' }));
    fs.writeFileSync(path.join(dir, 'replay.json'), spec({ mode: 'replay', dir: 'recordings' }));
    const runs: Array<Record<string, unknown>> = [];
    for (const [file, ws] of [['plain.json', 'a'], ['plain.json', 'b'], ['record.json', 'c'], ['replay.json', 'd']] as const) {
      const run = await cli(['run', file, '-w', ws], { cwd: dir });
      expect(run.code, run.stderr).toBe(0);
      runs.push(await results(path.join(dir, ws)));
    }
    expect(Object.keys(runs[0]!).length).toBeGreaterThan(10);
    for (const other of runs.slice(1)) expect(other).toEqual(runs[0]);
    expect(fs.readdirSync(path.join(dir, 'recordings')).length).toBeGreaterThan(0);
  });

  it('three worker processes, one killed with SIGKILL mid-run: every task completes exactly once', async () => {
    dir = tempDir('cli-');
    const ws = path.join(dir, 'ws');
    expect((await cli(['init', ws, '--spec', path.join(dir, 'spec.yaml')])).code).toBe(0);
    // The tasks go in through the library (20 CLI starts would only slow the test down).
    const queue = TaskQueue.open({ workspace: ws, watch: false });
    const ids = (await queue.addMany(Array.from({ length: 20 }, (_, i) => ({ id: `job-${i}`, description: `Job ${i}` })))).map((t) => t.id);
    await queue.close();
    const start = (id: string) => {
      const run = cli(['worker', '--id', id, '--role', 'worker', '--latency', '150-300', '--lease-ms', '1500', '-w', ws]);
      children.push(run.child);
      return run;
    };
    const workers = [start('w1'), start('w2'), start('victim')];
    // Kill the victim while it holds a task.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const claims = fs.readdirSync(path.join(ws, 'claims'));
      const held = claims.some((c) => {
        try {
          return (JSON.parse(fs.readFileSync(path.join(ws, 'claims', c), 'utf8')) as { agentId: string }).agentId === 'victim';
        } catch {
          return false;
        }
      });
      if (held) break;
      if (Date.now() > deadline) throw new Error('the victim never claimed a task');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    workers[2]!.child.kill('SIGKILL');
    const results = await Promise.all(workers);
    expect(results[0]!.code).toBe(0);
    expect(results[1]!.code).toBe(0);
    expect(results[2]!.signal).toBe('SIGKILL');
    const status = JSON.parse((await cli(['status', '--json', '-w', ws])).stdout) as {
      counts: Record<string, number>;
      tasks: Array<{ id: string; status: string; attempt: number; owner: string }>;
    };
    expect(status.counts).toMatchObject({ total: 20, completed: 20 });
    const completed = completedEvents(ws);
    expect(completed).toHaveLength(20);
    expect(new Set(completed.map((e) => e.taskId))).toEqual(new Set(ids));
    // The victim's task came back after its lease and was finished by a survivor.
    const requeued = status.tasks.filter((t) => t.attempt === 2);
    expect(requeued.length).toBeGreaterThanOrEqual(1);
    for (const t of requeued) expect(['w1', 'w2']).toContain(t.owner);
  });

  it('refuses a bad spec and a bad flag with exit 2, a clear message, and nothing written', async () => {
    dir = tempDir('cli-');
    fs.writeFileSync(
      path.join(dir, 'bad.yaml'),
      'agents:\n  - id: lead\n    role: boss\n    model: offline\ntasks:\n  - description: x\n    colour: red\n',
    );
    const bad = await cli(['run', 'bad.yaml', '-w', 'ws'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml is not a valid team spec/);
    expect(bad.stderr).toMatch(/agents\[0\]\.role: .*"lead".*\(got "boss"\)/);
    expect(bad.stderr).toMatch(/tasks\[0\]: unknown field "colour"/);
    fs.writeFileSync(path.join(dir, 'deps.json'), JSON.stringify({ agents: [{ id: 'w', role: 'worker', model: 'offline' }], tasks: [{ description: 'x', dependencies: ['nope'] }] }));
    const deps = await cli(['run', 'deps.json', '-w', 'ws'], { cwd: dir });
    expect(deps.code).toBe(2);
    expect(deps.stderr).toMatch(/tasks\[0\]\.dependencies: "nope" is not the id of a task in this spec/);
    const model = await cli(['worker', '--id', 'x', '--role', 'worker', '--model', 'gpt-4', '-w', 'ws'], { cwd: dir });
    expect(model.code).toBe(2);
    expect(model.stderr).toMatch(/gpt-4/);
    const flag = await cli(['status', '--bogus'], { cwd: dir });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown option '--bogus'/);
    const missing = await cli(['status', '-w', 'nowhere'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
    expect(fs.readdirSync(dir).sort()).toEqual(['bad.yaml', 'deps.json']);
  });

  it('manages tasks and messages, shows events, recovers and exports', async () => {
    dir = tempDir('cli-');
    const ws = path.join(dir, 'ws');
    const a = (args: string[]) => cli([...args, '-w', ws]);
    expect((await a(['init', ws, '--spec', path.join(dir, 't.yaml')])).code).toBe(0);
    const first = (await a(['tasks', 'add', 'Write the parser', '--id', 'parser'])).stdout.trim();
    expect(first).toBe('parser');
    const second = await a(['tasks', 'add', 'Test the parser', '--deps', 'parser', '--requires', 'testing', '--json']);
    const added = JSON.parse(second.stdout) as { id: string; status: string; requires: string };
    expect(added).toMatchObject({ status: 'pending', requires: 'testing' });
    const unknown = await a(['tasks', 'add', 'x', '--deps', 'ghost']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown dependency "ghost"/);
    const list = await a(['tasks', 'list', '--json']);
    expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((t) => t.id).sort()).toEqual([added.id, 'parser'].sort());
    expect((await a(['tasks', 'cancel', 'parser', '--reason', 'changed plans'])).code).toBe(0);
    const shown = JSON.parse((await a(['tasks', 'show', added.id, '--json'])).stdout) as { status: string; reason: string };
    expect(shown).toMatchObject({ status: 'blocked', reason: 'dependency "parser" cancelled' });
    expect((await a(['tasks', 'retry', 'parser'])).stdout).toMatch(/parser is ready again/);
    expect(JSON.parse((await a(['tasks', 'show', added.id, '--json'])).stdout)).toMatchObject({ status: 'pending' });
    const cancelAgain = await a(['tasks', 'show', 'nope']);
    expect(cancelAgain.code).toBe(2);

    expect((await a(['send', '--to', 'lead', 'ship it', '--from', 'ops'])).code).toBe(0);
    const inbox = JSON.parse((await a(['inbox', 'lead', '--json'])).stdout) as Array<{ from: string; body: string }>;
    expect(inbox).toMatchObject([{ from: 'ops', body: 'ship it' }]);
    expect(JSON.parse((await a(['inbox', 'lead', '--json', '--ack'])).stdout)).toHaveLength(1);
    expect(JSON.parse((await a(['inbox', 'lead', '--json'])).stdout)).toEqual([]);
    expect(JSON.parse((await a(['inbox', 'lead', '--json', '--all'])).stdout)).toHaveLength(1);
    expect((await a(['send', '--to', '../x', 'hi'])).code).toBe(2);

    const events = (await a(['events', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['task.added', 'task.cancelled', 'task.blocked', 'task.retried', 'message.sent']));
    const human = await a(['events', '--type', 'task.cancelled']);
    expect(human.stdout).toMatch(/task\.cancelled\s+parser/);

    const recover = JSON.parse((await a(['recover', '--json'])).stdout) as { requeued: unknown[]; quarantined: unknown[] };
    expect(recover).toMatchObject({ requeued: [], quarantined: [] });
    const md = await a(['export', '--format', 'md']);
    expect(md.stdout).toMatch(/^# agent-team report/);
    expect(md.stdout).toMatch(/\| parser \| task \| ready \|/);
    const json = JSON.parse((await a(['export', '--format', 'json'])).stdout) as { tasks: unknown[]; usage: { total: { calls: number } } };
    expect(json.tasks).toHaveLength(2);
    expect((await a(['export', '--format', 'pdf'])).code).toBe(2);
    const frame = await a(['watch', '--once']);
    expect(frame.code).toBe(0);
    expect(frame.stdout).toMatch(/Tasks .* 0\/2 done/);
    expect(frame.stdout).not.toContain('\u001b[');
  });

  it('has --help for every command, and a worker hands its claim back on SIGTERM', async () => {
    dir = tempDir('cli-');
    for (const args of [[], ['init'], ['run'], ['worker'], ['status'], ['tasks', 'add'], ['tasks', 'list'], ['send'], ['inbox'], ['events'], ['watch'], ['recover'], ['export']]) {
      const help = await cli([...args, '--help']);
      expect(help.code, args.join(' ')).toBe(0);
      expect(help.stdout).toMatch(/Usage: agent-team/);
    }
    const ws = path.join(dir, 'ws');
    await cli(['init', ws, '--spec', path.join(dir, 's.yaml')]);
    await cli(['tasks', 'add', 'Slow job', '--id', 'slow', '-w', ws]);
    const worker = cli(['worker', '--id', 'w', '--role', 'worker', '--latency', '20000', '-w', ws]);
    children.push(worker.child);
    for (let i = 0; i < 200 && !fs.existsSync(path.join(ws, 'claims', 'slow')); i++) await new Promise((r) => setTimeout(r, 25));
    expect(fs.existsSync(path.join(ws, 'claims', 'slow'))).toBe(true);
    worker.child.kill('SIGTERM');
    const result = await worker;
    expect(result.code).toBe(143);
    expect(fs.readdirSync(path.join(ws, 'claims'))).toEqual([]);
    const task = JSON.parse((await cli(['tasks', 'show', 'slow', '--json', '-w', ws])).stdout) as { status: string; attempt: number };
    expect(task).toMatchObject({ status: 'ready', attempt: 1 });
  });
});

describe.skipIf(!REDIS_SERVER)('agent-team CLI on Redis', () => {
  const server = new RedisServer();
  let dir: string;
  beforeAll(async () => {
    await server.start();
  }, 30_000);
  afterAll(async () => {
    await server.destroy();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs a spec, adds tasks and serves workers with --backend redis://', async () => {
    dir = tempDir('cli-redis-');
    const url = server.url;
    const spec = path.join(dir, 'team.json');
    fs.writeFileSync(
      spec,
      JSON.stringify({
        agents: [
          { id: 'lead', role: 'lead', model: 'offline' },
          { id: 'w1', role: 'worker', model: 'offline:1' },
          { id: 'rev', role: 'reviewer', model: 'offline:2' },
        ],
        goal: 'Write a note on idempotency keys',
      }),
    );
    const run = await cli(['run', spec, '--backend', url, '--namespace', 'cli-run', '--json']);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { status: string; total: number; completed: number };
    expect(summary.status).toBe('completed');
    const status = JSON.parse((await cli(['status', '--json', '--backend', url, '--namespace', 'cli-run'])).stdout) as {
      backend: string;
      counts: { total: number; completed: number };
    };
    expect(status).toMatchObject({ backend: 'redis', counts: { total: summary.total, completed: summary.total } });
    // Another namespace is another team.
    expect((await cli(['tasks', 'add', 'Elsewhere', '--id', 'x', '--backend', url, '--namespace', 'other'])).stdout.trim()).toBe('x');
    const worker = await cli(['worker', '--id', 'w9', '--role', 'worker', '--backend', url, '--namespace', 'other']);
    expect(worker.code).toBe(0);
    expect(worker.stderr).toMatch(/1 task done/);
    expect(dir && fs.readdirSync(dir)).toEqual(['team.json']);
  });
});

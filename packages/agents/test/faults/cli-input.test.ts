import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { MessageBus, TaskQueue } from '@agent-team/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_SERVER, RedisServer } from '../../../core/test/helpers/redis-server.js';
import { tempDir } from '../helpers.js';
import { cli, snapshot } from './cli-harness.js';

// Bad input: each refused with one clear line naming the value, exit 2, and nothing written.
// A closed stdout pipe: every command stops quietly.

describe('faults: a closed stdout pipe (EPIPE)', () => {
  let dir: string;
  let ws: string;
  beforeAll(async () => {
    dir = tempDir('fault-epipe-');
    ws = path.join(dir, 'ws');
    const queue = TaskQueue.open({ workspace: ws, watch: false });
    await queue.addMany(Array.from({ length: 30 }, (_, i) => ({ id: `t${i}`, description: `task ${i} ${'x'.repeat(200)}` })));
    await queue.close();
    const bus = MessageBus.open({ workspace: ws, watch: false });
    await bus.send({ from: 'cli', to: 'w1', kind: 'text', body: 'hello' });
    await bus.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const commands: string[][] = [
    ['status'],
    ['status', '--json'],
    ['tasks', 'list'],
    ['tasks', 'list', '--json'],
    ['tasks', 'show', 't1'],
    ['events'],
    ['events', '--json'],
    ['inbox', 'w1'],
    ['export'],
    ['export', '--format', 'json'],
    ['recover'],
    ['--help'],
  ];
  it.each(commands.map((c) => [c.join(' '), c]))('`%s | head -c 0` exits quietly', async (_name, args) => {
    const run = await cli([...args, '-w', ws], { closedStdout: true });
    expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(run.code).toBe(0);
  });
});

describe.skipIf(!REDIS_SERVER)('faults: a closed stdout pipe on the Redis backend', () => {
  const server = new RedisServer();
  beforeAll(async () => {
    await server.start();
  }, 30_000);
  afterAll(async () => {
    await server.destroy();
  });

  it.each([['status'], ['tasks', 'list', '--json'], ['events'], ['export']])('`%s | head -c 0` exits quietly', async (...args) => {
    const add = await cli(['tasks', 'add', 'a task', '--backend', server.url, '--namespace', 'epipe']);
    expect(add.code).toBe(0);
    const run = await cli([...args, '--backend', server.url, '--namespace', 'epipe'], { closedStdout: true });
    expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(run.code).toBe(0);
  });

  it('a bad flag is refused before the server is touched', async () => {
    const run = await cli(['worker', '--id', 'w1', '--role', 'worker', '--concurrency', '0', '--backend', server.url]);
    expect(run.stderr).toMatch(/--concurrency must be an integer from 1 to 256, got "0"/);
    expect(run.code).toBe(2);
  });
});

describe('faults: bad flags are refused before anything is written (exit 2, naming the value)', () => {
  let dir: string;
  let ws: string;
  beforeAll(async () => {
    dir = tempDir('fault-flags-');
    ws = path.join(dir, 'ws');
    const queue = TaskQueue.open({ workspace: ws, watch: false });
    await queue.add({ id: 'a', description: 'a task' });
    await queue.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    [['worker', '--id', 'w1', '--role', 'worker', '--concurrency', '0'], /--concurrency must be an integer from 1 to 256, got "0"/],
    [['worker', '--id', 'w1', '--role', 'worker', '--lease-ms', '0'], /--lease-ms must be an integer from 10 to 2147483647, got "0"/],
    [['worker', '--id', 'w1', '--role', 'worker', '--lease-ms', '3000000000'], /--lease-ms must be an integer from 10 to 2147483647, got "3000000000"/],
    [['worker', '--id', 'w1', '--role', 'worker', '--max-tokens=-5'], /--max-tokens must be an integer of at least 1, got "-5"/],
    [['worker', '--id', 'w1', '--role', 'worker', '--concurrency', '1.5'], /--concurrency must be an integer from 1 to 256, got "1.5"/],
    [['worker', '--id', 'w1', '--role', 'worker', '--latency', '99999999999'], /--latency must be ms or min-max from 0 to 2147483647/],
    [['worker', '--id', 'w1', '--command', 'cat', '--timeout', '999999h'], /--timeout must be a number of milliseconds from 1 to 2147483647/],
    [['tasks', 'list', '--limit', '0'], /--limit must be an integer of at least 1, got "0"/],
    [['tasks', 'add', 'x', '--max-attempts', '0'], /--max-attempts must be an integer from 1 to 1000, got "0"/],
  ])('%j', async (args, message) => {
    const before = snapshot(ws);
    const run = await cli([...args, '-w', ws]);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(2);
    expect(snapshot(ws)).toEqual(before);
  });
});

describe('faults: bad spec files are refused before anything is written', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('fault-spec-');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const agents = [{ id: 'lead', role: 'lead', model: 'offline' }, { id: 'w', role: 'worker', model: 'offline' }];
  it.each([
    ['a timeout that rounds to 0 ms', { agents, tasks: [{ description: 'x' }], timeout: '0.0001ms' }, /timeout: must be from 1 ms to 2147483647 ms/],
    ['a timeout over the 2^31 ms timer limit', { agents, tasks: [{ description: 'x' }], timeout: '600h' }, /timeout: must be from 1 ms to 2147483647 ms/],
    ['a lease over the timer limit', { agents, tasks: [{ description: 'x' }], leaseMs: 3_000_000_000 }, /leaseMs: must be at most 2147483647 ms/],
    [
      'an offline latency over the timer limit',
      { agents: [{ id: 'w', role: 'worker', model: { spec: 'offline', latencyMs: 3_000_000_000 } }], tasks: [{ description: 'x' }] },
      /latencyMs: must be at most 2147483647 ms/,
    ],
    [
      'a dependency cycle',
      { agents, tasks: [{ id: 'a', description: 'a', dependencies: ['b'] }, { id: 'b', description: 'b', dependencies: ['a'] }] },
      /a cycle "a" -> "b" -> "a"/,
    ],
  ])('%s', async (_name, spec, message) => {
    const file = path.join(dir, `spec-${Math.random().toString(36).slice(2)}.json`);
    const ws = path.join(dir, `ws-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(file, JSON.stringify({ ...spec, workspace: ws }));
    const run = await cli(['run', file]);
    expect(run.stderr).toMatch(message);
    expect(run.code).toBe(2);
    expect(fs.existsSync(ws)).toBe(false);
  });

  it('a FIFO as the spec file: a clear error, no hang', async () => {
    const fifo = path.join(dir, 'team.yaml');
    execFileSync('mkfifo', [fifo]);
    const ws = path.join(dir, 'ws-fifo');
    const run = await cli(['run', fifo, '-w', ws], { killAfterMs: 20_000 });
    expect(run.signal).toBeNull();
    expect(run.stderr).toMatch(/it is a FIFO \(named pipe\); give a JSON or YAML file/);
    expect(run.code).toBe(2);
    expect(fs.existsSync(ws)).toBe(false);
  });

  it('a folder as the spec file', async () => {
    const run = await cli(['run', dir, '-w', path.join(dir, 'ws-dir')]);
    expect(run.stderr).toMatch(/it is a folder/);
    expect(run.code).toBe(2);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Backend, FileBackend, TaskQueue, ValidationError, openBackend } from '@agent-team/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_SERVER, RedisServer } from '../../../core/test/helpers/redis-server.js';
import { eventCursor, parseCursor, streamStart } from '../../src/serve/cursor.js';
import { type Dashboard, checkListenOptions, startDashboard } from '../../src/serve/server.js';
import { tempDir } from '../helpers.js';

const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'agent-team.js');

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];

/** The real CLI in a child process; `firstLine` resolves with stdout's first line (the served URL). */
function cli(args: string[]): Promise<Result> & { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  let gotLine: (line: string) => void = () => {};
  const firstLine = new Promise<string>((resolve) => (gotLine = resolve));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('\n')) gotLine(stdout.slice(0, stdout.indexOf('\n')));
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Result>((resolve) =>
    child.on('exit', (code, signal) => {
      gotLine('');
      resolve({ code, signal, stdout, stderr });
    }),
  ) as Promise<Result> & { child: ChildProcess; firstLine: Promise<string> };
  done.child = child;
  done.firstLine = firstLine;
  return done;
}

function request(url: string, options: http.RequestOptions = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, options, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface SseEvent {
  id: string;
  data: { type: string; taskId?: string; ts: number };
}

/** An open /api/events stream, parsed; `until` resolves when an event matching `test` has arrived. */
function openStream(url: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  const waiters: Array<{ test: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
  let buffer = '';
  const req = http.get(url, { headers }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id === undefined || data === undefined) continue;
        const e = { id, data: JSON.parse(data) as SseEvent['data'] };
        events.push(e);
        for (const w of waiters.splice(0)) {
          if (w.test(e)) w.resolve(e);
          else waiters.push(w);
        }
      }
    });
  });
  req.on('error', () => {});
  return {
    events,
    until(test: (e: SseEvent) => boolean): Promise<SseEvent> {
      const seen = events.find(test);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ test, resolve }));
    },
    close: () => req.destroy(),
  };
}

async function seed(ws: string): Promise<void> {
  const backend = FileBackend.open(ws, { watch: false });
  const queue = TaskQueue.open({ backend });
  await queue.add({ id: 'plan', description: 'Plan the work' });
  await queue.add({ id: 'build', description: 'Build it', dependencies: ['plan'] });
  const claim = await queue.claim({ agentId: 'w1' });
  await queue.complete(claim!.ref, { answer: 'planned' });
  const now = Date.now();
  await backend.agents.report({ id: 'w1', role: 'worker', model: 'offline', capabilities: ['worker'], status: 'working', current: ['build'], tasksDone: 1, pid: process.pid, host: 'here', startedAt: now, lastSeen: now });
  await queue.close();
  await backend.close();
}

let dir: string;
beforeAll(async () => {
  dir = tempDir('serve-');
  await seed(path.join(dir, 'ws'));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('agent-team serve (the CLI)', () => {
  it('serves /api/status equal to status --json, streams an event another process appends, refuses POST, and exits 0 on SIGTERM', async () => {
    const ws = path.join(dir, 'ws');
    const serve = cli(['serve', '-w', ws, '--port', '0', '--json']);
    const listening = JSON.parse(await serve.firstLine) as { url: string; port: number; host: string; location: string };
    expect(listening).toMatchObject({ host: '127.0.0.1', location: ws });
    expect(listening.url).toBe(`http://127.0.0.1:${listening.port}/`);

    const [api, status] = await Promise.all([request(`${listening.url}api/status`), cli(['status', '--json', '-w', ws])]);
    expect(api.status).toBe(200);
    expect(api.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(api.body)).toEqual(JSON.parse(status.stdout));
    expect((JSON.parse(api.body) as { agents: Array<{ current: string[] }> }).agents[0]!.current).toEqual(['build']);

    const stream = openStream(`${listening.url}api/events`);
    // The history first, from the start of the log.
    await stream.until((e) => e.data.type === 'task.completed' && e.data.taskId === 'plan');
    const added = await cli(['tasks', 'add', 'Added elsewhere', '--id', 'late', '-w', ws]);
    expect(added.code).toBe(0);
    const late = await stream.until((e) => e.data.type === 'task.added' && e.data.taskId === 'late');
    expect(parseCursor(late.id)).toMatchObject({ ts: late.data.ts });
    stream.close();

    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await request(`${listening.url}api/status`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
    expect((await request(`${listening.url}nothing`)).status).toBe(404);

    serve.child.kill('SIGTERM');
    const done = await serve;
    expect(done).toMatchObject({ code: 0, signal: null });
  });

  it('exits 0 on SIGINT; a port in use is exit 1 naming the port; a bad --host or --port is exit 2', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const ws = path.join(dir, 'ws');
    try {
      const [busy, badHost, badPort, help, missing] = await Promise.all([
        cli(['serve', '-w', ws, '--port', String(port)]),
        cli(['serve', '-w', ws, '--host', 'not a host']),
        cli(['serve', '-w', ws, '--port', '70000']),
        cli(['serve', '--help']),
        cli(['serve', '-w', path.join(dir, 'no-such-workspace'), '--port', '0']),
      ]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no-such-workspace');
      expect(fs.existsSync(path.join(dir, 'no-such-workspace'))).toBe(false);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(badHost.code).toBe(2);
      expect(badHost.stderr).toContain('"not a host"');
      expect(badPort.code).toBe(2);
      expect(badPort.stderr).toContain('--port must be an integer from 0 to 65535, got "70000"');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('/api/events');
      expect(help.stdout).toContain('--host <address>');
    } finally {
      blocker.close();
    }
    const serve = cli(['serve', '-w', ws, '--port', '0']);
    expect(await serve.firstLine).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    serve.child.kill('SIGINT');
    expect(await serve).toMatchObject({ code: 0, signal: null });
  });

  it('serves on a non-loopback host only when --host says so, with a warning; a name it was not given is refused (DNS rebinding)', async () => {
    const serve = cli(['serve', '-w', path.join(dir, 'ws'), '--port', '0', '--host', '0.0.0.0', '--allowed-host', 'dashboard.example', '--json']);
    const listening = JSON.parse(await serve.firstLine) as { port: number };
    const status = (host: string) => request(`http://127.0.0.1:${listening.port}/api/status`, { headers: { host } }).then((r) => r.status);
    // An IP address, this machine's name and the names given are answered; a page of another name pointed here is not.
    expect(await status('dashboard.example:80')).toBe(200);
    expect(await status(`192.0.2.7:${listening.port}`)).toBe(200);
    expect(await status(`${os.hostname()}:${listening.port}`)).toBe(200);
    expect(await status('attacker.example:80')).toBe(403);
    serve.child.kill('SIGTERM');
    const done = await serve;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/^warning: serving on 0\.0\.0\.0, not only on this machine/m);
  });
});

describe('the dashboard server', () => {
  let backend: Backend;
  let dashboard: Dashboard;
  beforeAll(async () => {
    backend = FileBackend.open(path.join(dir, 'ws'), { watch: false });
    dashboard = await startDashboard(backend, { port: 0 });
  });
  afterAll(async () => {
    await dashboard.close();
    await backend.close();
  });

  it('refuses a non-loopback host unless allowed, and requests naming another host (DNS rebinding)', async () => {
    expect(() => checkListenOptions({ host: '0.0.0.0' })).toThrow(ValidationError);
    expect(() => checkListenOptions({ host: '192.168.1.10' })).toThrow(/not a loopback address.*--host 192\.168\.1\.10/);
    expect(checkListenOptions({ host: '0.0.0.0', allowRemote: true })).toEqual({ host: '0.0.0.0', port: 7070 });
    expect(checkListenOptions({ host: 'localhost', port: 0 })).toEqual({ host: 'localhost', port: 0 });
    const refused = await request(`${dashboard.url}api/status`, { headers: { host: 'attacker.example' } });
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('attacker.example');
    expect((await request(`${dashboard.url}api/status`, { headers: { host: `localhost:${dashboard.port}` } })).status).toBe(200);
  });

  it('serves the page with a nonce policy and no external reference', async () => {
    const page = await request(dashboard.url);
    expect(page.status).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'none'; script-src 'nonce-[^']+'/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    // Every script and style carries it; nothing is loaded from anywhere.
    expect(page.body.match(/<script[^>]*>/g)!.every((tag) => tag.includes(`nonce="${nonce}"`))).toBe(true);
    expect(page.body).not.toMatch(/\s(src|href)=/i);
    expect(page.body).toContain('id="agents"');
    const report = JSON.parse((await request(`${dashboard.url}api/report`)).body) as { tasks: Array<{ id: string }>; attempts: unknown[] };
    expect(report.tasks.map((t) => t.id)).toEqual(expect.arrayContaining(['plan', 'build']));
  });

  it('resumes a stream after Last-Event-ID or ?since=, without repeating or losing events', async () => {
    const all = openStream(`${dashboard.url}api/events`);
    await all.until((e) => e.data.type === 'task.completed' && e.data.taskId === 'plan');
    const cut = all.events.findIndex((e) => e.data.type === 'task.claimed');
    const after = all.events.slice(cut + 1).map((e) => e.id);
    all.close();
    expect(after.length).toBeGreaterThan(0);

    const resumed = openStream(`${dashboard.url}api/events`, { 'Last-Event-ID': all.events[cut]!.id });
    await resumed.until((e) => e.id === after[after.length - 1]);
    expect(resumed.events.map((e) => e.id).slice(0, after.length)).toEqual(after);
    resumed.close();

    const bySince = openStream(`${dashboard.url}api/events?since=${encodeURIComponent(all.events[cut]!.id)}`);
    await bySince.until((e) => e.id === after[after.length - 1]);
    expect(bySince.events[0]!.id).toBe(after[0]);
    bySince.close();

    // Filters, as agent-team events takes them.
    const claims = openStream(`${dashboard.url}api/events?type=task.claimed,task.completed&task=plan`);
    await claims.until((e) => e.data.type === 'task.completed');
    expect(claims.events.map((e) => [e.data.type, e.data.taskId])).toEqual([
      ['task.claimed', 'plan'],
      ['task.completed', 'plan'],
    ]);
    claims.close();

    const bad = await request(`${dashboard.url}api/events?since=yesterday-ish`);
    expect(bad.status).toBe(400);
    expect((JSON.parse(bad.body) as { error: string }).error).toContain('"yesterday-ish"');
    const badId = await request(`${dashboard.url}api/events`, { headers: { 'Last-Event-ID': 'x' } });
    expect(badId.status).toBe(400);
  });

  it('reads ids and times as stream starts', () => {
    const e = { ts: 1700000000000.123, seq: 7, writer: 'host~12~ab' };
    expect(parseCursor(eventCursor(e))).toEqual(e);
    expect(streamStart(undefined, '1700000000000')).toEqual({ since: 1700000000000 });
    expect(streamStart(undefined, '2026-01-01T00:00:00Z')).toEqual({ since: Date.parse('2026-01-01T00:00:00Z') });
    expect(streamStart(eventCursor(e), '5')).toMatchObject({ after: e });
    expect(streamStart(undefined, null)).toEqual({});
  });
});

describe.skipIf(!REDIS_SERVER)('the dashboard of a redis:// team', () => {
  const server = new RedisServer();
  beforeAll(async () => {
    await server.start();
  }, 30_000);
  afterAll(async () => {
    await server.destroy();
  });

  it('streams events another connection writes and serves the status', async () => {
    const backend = await openBackend(server.url, { namespace: 'dash', watch: false });
    const other = await openBackend(server.url, { namespace: 'dash', watch: false });
    const dashboard = await startDashboard(backend, { port: 0 });
    try {
      const stream = openStream(`${dashboard.url}api/events`);
      const queue = TaskQueue.open({ backend: other });
      await queue.add({ id: 'from-elsewhere', description: 'Added through another connection' });
      await stream.until((e) => e.data.type === 'task.added' && e.data.taskId === 'from-elsewhere');
      stream.close();
      const status = JSON.parse((await request(`${dashboard.url}api/status`)).body) as { backend: string; counts: { total: number } };
      expect(status).toMatchObject({ backend: 'redis', counts: { total: 1 } });
      await queue.close();
    } finally {
      await dashboard.close();
      await backend.close();
      await other.close();
    }
  });
});

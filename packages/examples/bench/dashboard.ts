/**
 * pnpm bench:dashboard [--tasks N] [--probes N] [--runs N] [--json]
 *
 * What the live dashboard (`agent-team serve`) costs, on a workspace of N
 * tasks (half of them done, with model calls):
 * - delivery: from this process adding a task to its `task.added` event
 *   arriving on `/api/events`, against `agent-team events --follow --json`
 *   (the same follower, no HTTP) in the same run, for the same events;
 * - refresh: the time of `GET /api/report` (what the page fetches after
 *   events) against `GET /api/status` in the same run, interleaved.
 * Medians; the server and the follower are real child processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FileBackend, TaskQueue } from '@agent-team/core';
import { median, percentile, printTable } from './bench-utils.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    tasks: { type: 'string', default: '500' },
    probes: { type: 'string', default: '30' },
    runs: { type: 'string', default: '15' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('Usage: pnpm bench:dashboard [--tasks N] [--probes N] [--runs N] [--json]\n\n  --tasks N    tasks in the workspace (default 500)\n  --probes N   tasks added one by one to time the event delivery (default 30)\n  --runs N     requests of each endpoint (default 15)\n  --json       print one JSON object as the last line');
  process.exit(0);
}
const count = (name: 'tasks' | 'probes' | 'runs', min: number): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}, got "${values[name]}"`);
  return n;
};
const tasks = count('tasks', 1);
const probes = count('probes', 3);
const runs = count('runs', 3);
const log = (line: string) => (values.json ? process.stderr.write(`${line}\n`) : console.log(line));
const round = (ms: number) => Math.round(ms * 10) / 10;

const bin = path.join(import.meta.dirname, '..', '..', 'agents', 'bin', 'agent-team.js');
const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'bench-dashboard-'));
const ws = path.join(dir, 'ws');
const children: ChildProcess[] = [];
const env = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, '--conditions=@agent-team/source'].filter(Boolean).join(' '), NO_COLOR: '1' };

/** Calls `onLine` with each line the child prints on stdout. */
function child(args: string[], onLine: (line: string) => void): ChildProcess {
  const c = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  let rest = '';
  c.stdout.on('data', (d: Buffer) => {
    const text = rest + d.toString();
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  return c;
}

function get(url: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

try {
  log(`seeding ${tasks} tasks ...`);
  const backend = FileBackend.open(ws, { watch: false });
  const queue = TaskQueue.open({ backend });
  await queue.addMany(Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, description: `Step ${i} of the plan`, dependencies: i >= 20 ? [`t${i - 20}`] : [] })));
  for (let i = 0; i < tasks / 2; i++) {
    const claim = await queue.claim({ agentId: `agent-${i % 4}` });
    if (!claim) break;
    backend.events.append({ type: 'model.call', agentId: claim.agentId, taskId: claim.task.id, model: 'offline', inputTokens: 200, outputTokens: 50, costUsd: 0.001, durationMs: 5 });
    await queue.complete(claim.ref, { answer: `done ${claim.task.id}` });
  }

  // The two readers, and when each saw each probe.
  const seen = { sse: new Map<string, number>(), follow: new Map<string, number>() };
  const since = Date.now();
  const url = await new Promise<string>((resolve) => child(['serve', '-w', ws, '--port', '0', '--json'], (line) => resolve((JSON.parse(line) as { url: string }).url)));
  child(['events', '--follow', '--json', '--type', 'task.added', '--since', String(since), '-w', ws], (line) => {
    const e = JSON.parse(line) as { taskId: string };
    seen.follow.set(e.taskId, performance.now());
  });
  let buffer = '';
  const stream = http.get(`${url}api/events?since=${since}`, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) !== -1) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, cut))?.[1];
        buffer = buffer.slice(cut + 2);
        if (!data) continue;
        const e = JSON.parse(data) as { type: string; taskId?: string };
        if (e.type === 'task.added' && e.taskId) seen.sse.set(e.taskId, performance.now());
      }
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 1500)); // both readers running

  log(`timing ${probes} events ...`);
  const delivery = { sse: [] as number[], follow: [] as number[] };
  for (let i = 0; i < probes; i++) {
    const id = `probe-${i}`;
    // A random pause first: both readers poll every 100 ms, and probes in lockstep with the polls would measure their phase.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 100));
    const started = performance.now();
    await queue.add({ id, description: 'A probe' });
    const until = Date.now() + 10_000;
    while (!(seen.sse.has(id) && seen.follow.has(id))) {
      if (Date.now() > until) throw new Error(`${id} did not arrive within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    delivery.sse.push(seen.sse.get(id)! - started);
    delivery.follow.push(seen.follow.get(id)! - started);
  }
  stream.destroy();

  log(`timing ${runs} requests of each endpoint ...`);
  const refresh = { report: [] as number[], status: [] as number[] };
  await get(`${url}api/report`); // warm
  for (let i = 0; i < runs; i++) {
    refresh.status.push(await get(`${url}api/status`));
    refresh.report.push(await get(`${url}api/report`));
  }
  await queue.close();
  await backend.close();

  const row = (name: string, t: number[], base: number[] | null) => [name, `${round(median(t))} ms`, `${round(percentile(t, 90))} ms`, base ? `${(median(t) / median(base)).toFixed(2)}x` : '(baseline)'];
  log(`\nagent-team serve on ${tasks + probes} tasks, node ${process.version}: medians\n`);
  printTable(log, [
    ['what', 'median', 'p90', 'ratio'],
    row('event to events --follow', delivery.follow, null),
    row('event to /api/events (SSE)', delivery.sse, delivery.follow),
    row('GET /api/status', refresh.status, null),
    row('GET /api/report', refresh.report, refresh.status),
  ]);
  if (values.json) {
    const m = (t: number[]) => round(median(t));
    console.log(JSON.stringify({ node: process.version, tasks, probes, runs, deliveryMs: { follow: m(delivery.follow), sse: m(delivery.sse) }, refreshMs: { status: m(refresh.status), report: m(refresh.report) } }));
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}

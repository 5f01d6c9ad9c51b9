/**
 * Several `agent-team worker` processes sharing one workspace. Run:
 *   pnpm example:multi-process [workers] [tasks]
 * Adds the tasks, starts the workers (each its own OS process, like separate
 * terminals would), and shows who did what. Kill one with Ctrl-\ or `kill -9`
 * while it runs: its task comes back after the lease and another finishes it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TaskQueue } from '@agent-team/core';

const workers = Number(process.argv[2] ?? 3);
const tasks = Number(process.argv[3] ?? 24);
const bin = path.join(import.meta.dirname, '..', '..', 'agents', 'bin', 'agent-team.js');
const workspace = path.join(os.tmpdir(), 'agent-team-multi-process');
fs.rmSync(workspace, { recursive: true, force: true });

const queue = TaskQueue.open({ workspace });
await queue.addMany(Array.from({ length: tasks }, (_, i) => ({ id: `job-${String(i + 1).padStart(2, '0')}`, description: `Process batch ${i + 1}` })));
await queue.close();
console.log(`${tasks} tasks in ${workspace}; starting ${workers} worker processes:\n`);

// The workers run the CLI as this script runs: from source under the repo's "@agent-team/source" condition.
const conditions = process.execArgv.filter((arg) => arg.startsWith('--conditions') || arg.startsWith('-C'));
const started = Date.now();
const exits = Array.from({ length: workers }, (_, i) => {
  const id = `worker-${i + 1}`;
  const child = spawn(process.execPath, [...conditions, bin, 'worker', '--id', id, '--role', 'worker', '--latency', '100-400', '--lease-ms', '3000', '-w', workspace], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  child.stderr.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (/completed|claimed|requeued|done;/.test(line)) console.log(`[pid ${child.pid}] ${line.trim()}`);
  });
  return new Promise<number | null>((resolve) => child.on('exit', resolve));
});
const codes = await Promise.all(exits);

const after = TaskQueue.open({ workspace });
const records = await after.list();
const byOwner = new Map<string, string[]>();
for (const t of records) byOwner.set(t.owner ?? '-', [...(byOwner.get(t.owner ?? '-') ?? []), t.id]);
console.log(`\nAll workers exited (${codes.join(', ')}) after ${Date.now() - started} ms. Who did what:`);
for (const [owner, ids] of [...byOwner].sort()) console.log(`  ${owner}: ${ids.length} tasks`);
const counts = await after.counts();
console.log(`\n${counts.completed}/${counts.total} completed. Inspect with: node ${path.relative(process.cwd(), bin)} status -w ${workspace}`);
await after.close();

// A command agent's worker process dies by SIGKILL while its program runs:
// the program's supervisor sees the worker go and kills the program's process
// group (no orphan keeps editing), the claim's lease runs out, and another
// worker redoes the task.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TaskQueue } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { gone, tempDir } from '../helpers.js';

const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'agent-team.js');

function worker(ws: string, id: string, command: string[], extra: string[] = []) {
  const child = spawn(process.execPath, [BIN, 'worker', '--workspace', ws, '--id', id, '--command', command.join(' '), ...extra], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, exited };
}

async function waitFor<T>(probe: () => T | undefined, what: string, withinMs = 20_000): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('a command agent whose worker is killed', () => {
  let dir = '';
  const children: ChildProcess[] = [];
  const orphans: number[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const pid of orphans.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loses its claim when the lease runs out, and another worker redoes the task', async () => {
    dir = tempDir('cmd-kill-');
    const ws = path.join(dir, 'ws');
    const queue = TaskQueue.open({ workspace: ws });
    await queue.add({ id: 'job', description: 'Fix the bug' });
    await queue.close();

    const pidFile = path.join(dir, 'slow.pid');
    const slow = path.join(dir, 'slow.mjs');
    fs.writeFileSync(slow, `import fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nsetInterval(() => {}, 1000);\n`);
    const fast = path.join(dir, 'fast.mjs');
    fs.writeFileSync(fast, `let input = ''; for await (const c of process.stdin) input += c;\nconsole.log(JSON.stringify({ by: process.env.AGENT_TEAM_AGENT_ID, attempt: process.env.AGENT_TEAM_ATTEMPT }));\n`);

    const first = worker(ws, 'w1', [process.execPath, slow], ['--lease-ms', '800']);
    children.push(first.child);
    const programPid = await waitFor(() => (fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : undefined), 'the program to start');
    orphans.push(programPid);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = worker(ws, 'w2', [process.execPath, fast]);
    children.push(second.child);
    const { code, stderr } = await second.exited;
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/worker w2 \(worker\): 1 task done/);

    const check = TaskQueue.open({ workspace: ws });
    const record = await check.get('job');
    await check.close();
    expect(record).toMatchObject({ status: 'completed', attempt: 2, result: { by: 'w2', attempt: '2' } });
    expect(record?.errors.map((e) => e.message).join('\n')).toMatch(/lease/i);
    // The dead worker's program did not outlive it.
    expect(await gone(programPid)).toBe(true);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EventLog, TaskQueue } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { gone, tempDir } from '../helpers.js';

const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'agent-team.js');

function worker(args: string[], env: Record<string, string> = {}): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, 'worker', ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, withinMs = 20_000): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a command agent whose worker is killed with SIGKILL mid-command', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes the command down with it; the lease expires and another worker redoes the task', async () => {
    dir = tempDir('cmd-kill-');
    const ws = path.join(dir, 'ws');
    const queue = TaskQueue.open({ workspace: ws });
    await queue.add({ id: 'job', description: 'Edit the file' });
    await queue.close();
    // The first attempt hangs after recording its pid; the second finishes.
    const tool = path.join(dir, 'tool.mjs');
    fs.writeFileSync(
      tool,
      `import fs from 'node:fs';
let input = ''; for await (const c of process.stdin) input += c;
const attempt = process.env.AGENT_TEAM_ATTEMPT;
fs.writeFileSync(${JSON.stringify(dir)} + '/pid-' + attempt, String(process.pid));
if (attempt === '1') setInterval(() => {}, 1000);
else { fs.appendFileSync('out.txt', 'attempt ' + attempt + '\\n'); console.log(JSON.stringify({ attempt: Number(attempt) })); }
`,
    );
    const command = `${process.execPath} ${tool}`;
    const common = ['--workspace', ws, '--command', command, '--cwd', dir, '--lease-ms', '1500'];
    const first = worker(['--id', 'w1', ...common]);
    children.push(first.child);
    const pid = Number(await waitFor('the first attempt to start', () => fs.existsSync(path.join(dir, 'pid-1')) && fs.readFileSync(path.join(dir, 'pid-1'), 'utf8')));
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe(null);
    // Nobody could signal it, yet the command does not outlive its worker.
    expect(await gone(pid, 10_000)).toBe(true);

    const second = worker(['--id', 'w2', ...common]);
    children.push(second.child);
    expect(await second.exited).toBe(0);
    const after = TaskQueue.open({ workspace: ws });
    const record = await after.get('job');
    await after.close();
    expect(record).toMatchObject({ status: 'completed', owner: 'w2', attempt: 2, result: { attempt: 2 } });
    expect(record?.errors.map((e) => e.kind)).toEqual(['lease_expired']);
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('attempt 2\n');
    const started = EventLog.read(path.join(ws, 'events'), { types: ['command.started'] }).map((e) => [e.agentId, e.attempt]);
    expect(started).toEqual([
      ['w1', 1],
      ['w2', 2],
    ]);
  });
});

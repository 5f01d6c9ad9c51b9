import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TaskQueue } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { runScript } from '../../core/test/helpers/processes.js';
import { tempDir } from './helpers.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'agent-team.js');

async function untilExists(file: string): Promise<void> {
  for (let i = 0; i < 400 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 25));
  expect(fs.existsSync(file), file).toBe(true);
}

// Issue 18, F16: `agent-team run` exits 130 on SIGINT and 143 on SIGTERM
// (shell conventions), after handing its claims back and printing the summary.
describe('agent-team run under real signals', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('on %s hands the task back and exits %i', async (sig, expected) => {
    dir = tempDir('signals-');
    const ws = path.join(dir, 'ws');
    const spec = path.join(dir, 'team.json');
    fs.writeFileSync(
      spec,
      JSON.stringify({
        workspace: './ws',
        agents: [{ id: 'w1', role: 'worker', model: { spec: 'offline', latencyMs: 30_000 } }],
        tasks: [{ id: 'slow', description: 'A slow job' }],
      }),
    );
    const child = spawn(process.execPath, [BIN, 'run', spec, '--json'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      await untilExists(path.join(ws, 'claims', 'slow'));
      child.kill(sig);
      expect(await exited, stderr).toEqual({ code: expected, signal: null });
    } finally {
      child.kill('SIGKILL');
    }
    const summary = JSON.parse(stdout) as { status: string; reason: string; released: Array<{ taskId: string }> };
    expect(summary).toMatchObject({ status: 'aborted', released: [{ taskId: 'slow' }] });
    expect(summary.reason).toContain(sig);
    expect(fs.readdirSync(path.join(ws, 'claims'))).toEqual([]);
    const queue = TaskQueue.open({ workspace: ws });
    expect(await queue.get('slow')).toMatchObject({ status: 'ready', attempt: 1 });
    await queue.close();
  });
});

// Issue 12.9: a library does not own the process's signals unless asked.
describe('AgentTeam and signals', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('installs no handlers by default: SIGTERM ends the process as Node does', async () => {
    dir = tempDir('signals-');
    const child = runScript(path.join(import.meta.dirname, 'fixtures', 'team-signals.ts'), [path.join(dir, 'ws'), 'default']);
    const line = await child.waitFor((l) => l.startsWith('claimed'));
    expect(line).toBe('claimed; listeners SIGINT=0 SIGTERM=0');
    child.proc.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('with handleSignals: true, SIGTERM ends the run and hands the task back; the script goes on', async () => {
    dir = tempDir('signals-');
    const child = runScript(path.join(import.meta.dirname, 'fixtures', 'team-signals.ts'), [path.join(dir, 'ws'), 'handle']);
    expect(await child.waitFor((l) => l.startsWith('claimed'))).toBe('claimed; listeners SIGINT=1 SIGTERM=1');
    child.proc.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.lines.at(-1)).toBe('run ended: aborted; released slow');
  });
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentRole, AgentTeam, offlineModel } from '../src/index.js';
import { tempDir } from './helpers.js';

const root = path.join(import.meta.dirname, '..', '..', '..');

/** The README's Quick Start code block, exactly as printed. */
function readmeQuickStart(): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error('README.md has no ```ts block under "## Quick start"');
  return block[1];
}

describe('the README Quick Start, pasted into a file and run with node', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finishes every task and exits by itself (no close() in it)', async () => {
    dir = tempDir('quick-');
    const code = readmeQuickStart();
    expect(code).not.toContain('close()');
    fs.writeFileSync(path.join(dir, 'quick.mjs'), code);
    // The user's project: the package in node_modules (here, this repo's, run from its sources through tsx).
    fs.mkdirSync(path.join(dir, 'node_modules', '@agent-team'), { recursive: true });
    fs.symlinkSync(path.join(root, 'packages', 'agents'), path.join(dir, 'node_modules', '@agent-team', 'agents'));
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), 'quick.mjs'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    clearTimeout(killer);
    // SIGKILL means it hung after printing: something still held the event loop.
    expect({ ...exit, out }).toEqual({ code: 0, signal: null, out: 'Completed: 4/4\n' });
    expect(fs.existsSync(path.join(dir, 'workspace', 'team.json'))).toBe(true);
  });
});

describe('AgentTeam.close()', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is idempotent, also when called at once from two places', async () => {
    dir = tempDir('close-');
    const team = new AgentTeam({ workspace: path.join(dir, 'ws') });
    team.addAgent('worker-1', AgentRole.WORKER, offlineModel());
    await team.addTask('one task');
    const summary = await team.run({ timeoutMs: 10_000 });
    expect(summary.completed).toBe(1);
    await Promise.all([team.close(), team.close()]);
    await expect(team.close()).resolves.toBeUndefined();
    await expect(team.addTask('after close')).rejects.toThrow(/closed/);
  });
});

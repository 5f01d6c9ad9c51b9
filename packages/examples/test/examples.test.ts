import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '..', '..', '..');

function run(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'packages/examples/src', script), ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** The README's example commands keep working (each runs offline). */
describe('examples', () => {
  it('quickstart: the seed Quick Start completes every task', async () => {
    const { code, out } = await run('quickstart.ts');
    expect(code).toBe(0);
    expect(out).toMatch(/Completed: 4\/4/);
  });

  it('demo: goal to plan to work to review to synthesis, in seconds', async () => {
    const started = Date.now();
    const dir = path.join(root, 'workspace', `demo-test-${process.pid}`);
    const { code, out } = await run('demo.ts', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0);
    expect(out).toMatch(/Run completed: all \d+ tasks completed/);
    expect(out).toMatch(/planned/);
    expect(out).toMatch(/approved/);
    expect(out).toMatch(/Final answer \(demo\.synthesis\)/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('coding-team: three workers fix three bugs on worktrees, a reviewer reads the diffs, the merge queue ends green', async () => {
    const { code, out } = await run('coding-team.ts');
    expect(code, out).toBe(0);
    for (const task of ['fix-add', 'fix-multiply', 'fix-clamp']) expect(out).toMatch(new RegExp(`merged ${task} into agent-team/demo`));
    expect(out).toContain('3 of 3 pass');
    expect(out).toContain('main is untouched: main at "tiny-math with three bugs", working tree clean: true');
    expect(out).toContain('Tests are green on agent-team/demo.');
  });

  it('anthropic and openai: without a key they say what to set and exit 0', async () => {
    const env = { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', OPENAI_BASE_URL: '' };
    const a = await run('providers.ts', ['anthropic'], env);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/Set ANTHROPIC_API_KEY to run it/);
    const o = await run('providers.ts', ['openai'], env);
    expect(o.code).toBe(0);
    expect(o.out).toMatch(/Set OPENAI_API_KEY to run it/);
  });
});

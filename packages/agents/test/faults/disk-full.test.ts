import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EventLog, TaskQueue } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { BIN } from './cli-harness.js';

// A full disk and a workspace that is not writable, with real worker processes.
// Where this process may mount (root), the workspace is on a real small tmpfs
// that the test fills up; elsewhere ENOSPC is injected through the file layer
// (fixtures/disk-full-preload.mjs) while a flag file exists.

const PRELOAD = path.join(import.meta.dirname, 'fixtures', 'disk-full-preload.mjs');

function mount(args: string[]): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('mount', args, { stdio: 'ignore' }).status === 0;
}
function umount(target: string): void {
  spawnSync('umount', ['-l', target], { stdio: 'ignore' });
}

function worker(ws: string, extra: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, 'worker', '--id', 'w1', '--role', 'worker', '--lease-ms', '5000', '-w', ws, ...extra], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

async function waitFor(what: string, probe: () => boolean, withinMs = 30_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (!probe()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).length : 0);

describe('faults: a full disk', () => {
  let dir: string;
  let mnt: string | null = null;
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    if (mnt) umount(mnt);
    mnt = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a worker reports "disk full" in one line, leaves no empty or torn file, and finishes every task once space returns', async () => {
    dir = tempDir('fault-enospc-');
    const disk = path.join(dir, 'disk');
    fs.mkdirSync(disk);
    // AGENT_TEAM_FAULTS_INJECT=1 forces the injected fallback (to check it where mounting works).
    const real = process.env.AGENT_TEAM_FAULTS_INJECT !== '1' && mount(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]);
    if (real) mnt = disk;
    const ws = path.join(disk, 'ws');
    const flag = path.join(dir, 'disk-full.flag');
    const queue = TaskQueue.open({ workspace: ws, watch: false });
    await queue.addMany(Array.from({ length: 30 }, (_, i) => ({ id: `t${i}`, description: `task ${i}` })));
    await queue.close();

    const env: Record<string, string> = real
      ? {}
      : { AGENT_TEAM_TEST_DISK_FULL: flag, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${PRELOAD}` };
    const w = worker(ws, ['--latency', '60'], env);
    children.push(w.child);
    await waitFor('a few tasks done', () => count(path.join(ws, 'results')) >= 3);

    // Fill the disk.
    const filler = path.join(disk, 'filler');
    if (real) {
      const fd = fs.openSync(filler, 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) fs.writeSync(fd, chunk);
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
    } else {
      fs.writeFileSync(flag, '');
    }
    await waitFor('the worker to report the full disk', () => /disk full/.test(w.stderr()));
    const doneWhileFull = count(path.join(ws, 'results'));
    // While full: the worker lives, no empty or torn claim or record is left behind.
    for (let i = 0; i < 10; i++) {
      for (const name of fs.readdirSync(path.join(ws, 'claims'))) {
        const text = fs.readFileSync(path.join(ws, 'claims', name), 'utf8');
        if (text.length > 0) expect(() => JSON.parse(text) as unknown).not.toThrow();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(w.child.exitCode).toBeNull();

    // Space returns: work resumes by itself.
    if (real) fs.rmSync(filler);
    else fs.rmSync(flag);
    const code = await w.exited;
    const stderr = w.stderr();
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr.match(/disk full/g)?.length ?? 0).toBeLessThanOrEqual(2);
    expect(stderr).toMatch(/resuming/);
    expect(code).toBe(0);
    expect(doneWhileFull).toBeLessThan(30);
    const results = fs.readdirSync(path.join(ws, 'results'));
    expect(results).toHaveLength(30);
    for (const name of results) expect(() => JSON.parse(fs.readFileSync(path.join(ws, 'results', name), 'utf8')) as unknown).not.toThrow();
    expect(fs.readdirSync(path.join(ws, 'claims'))).toEqual([]);
    // No result without its event, and none completed twice.
    const completed = EventLog.read(path.join(ws, 'events'), { types: ['task.completed'] }).map((e) => e.taskId);
    expect(completed.sort()).toEqual(results.map((n) => n.slice(0, -5)).sort());
  });
});

describe('faults: a folder of the workspace that is not writable', () => {
  let dir: string;
  const mounts: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const m of mounts.splice(0)) umount(m);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Root ignores permission bits, so a read-only bind mount stands in for `chmod a-w` (EROFS instead of EACCES).
  const canBind = (() => {
    if (process.getuid?.() !== 0) return false;
    const probe = tempDir('fault-bind-probe-');
    const ok = mount(['--bind', probe, probe]);
    if (ok) umount(probe);
    fs.rmSync(probe, { recursive: true, force: true });
    return ok;
  })();

  it.skipIf(!canBind).each([['results'], ['claims']])('%s/ read-only: the worker says so in one line and exits 1; no task is lost', async (folder) => {
    dir = tempDir('fault-rofs-');
    const ws = path.join(dir, 'ws');
    const queue = TaskQueue.open({ workspace: ws, watch: false });
    await queue.addMany([{ id: 'a', description: 'a' }, { id: 'b', description: 'b' }]);
    const target = path.join(ws, folder);
    expect(mount(['--bind', target, target])).toBe(true);
    mounts.push(target);
    expect(mount(['-o', 'remount,bind,ro', target])).toBe(true);

    const w = worker(ws);
    children.push(w.child);
    const code = await w.exited;
    const stderr = w.stderr();
    expect(stderr).toMatch(/read-only file system \(EROFS\)/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(1);
    umount(target);
    mounts.pop();
    const counts = await queue.counts();
    expect(counts.ready + counts.claimed).toBe(2);
    await queue.recover();
    expect((await queue.counts()).completed).toBe(0);
    await queue.close();
  });
});

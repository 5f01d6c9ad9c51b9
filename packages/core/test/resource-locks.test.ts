import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortError,
  ManualClock,
  PathOutsideRootError,
  ResourceLockLostError,
  ResourceLockedError,
  ResourceLocks,
  ValidationError,
} from '../src/index.js';
import { OWNER_FILE, STALE_FOLDER, judgeTakeover, lockFolderName, moveAside, readOwner } from '../src/locks/lock-folder.js';
import { type Child, fixture, runScript, tempDir } from './helpers/processes.js';

const WORKER = fixture('lock-worker.ts');

/** A lock folder left by a holder that stopped heartbeating `ageMs` ago (a crash on another host). */
function plantStaleLock(lockDir: string, key: string, ageMs = 60_000, withOwner = true): string {
  const lockPath = path.join(lockDir, lockFolderName(key));
  fs.mkdirSync(lockPath, { recursive: true });
  if (withOwner) {
    const record = { format: 1, path: key, owner: 'crashed', pid: 424242, host: 'elsewhere', since: Date.now() - ageMs, token: 'deadbeefdeadbeefdeadbeef' };
    fs.writeFileSync(path.join(lockPath, OWNER_FILE), JSON.stringify(record));
  }
  const old = new Date(Date.now() - ageMs);
  fs.utimesSync(lockPath, old, old);
  return lockPath;
}

/** Waits until every child is at its barrier, then lets them all go at once. */
async function startTogether(children: Child[], goFile: string): Promise<void> {
  await Promise.all(children.map((child) => child.waitFor((line) => line === 'ready')));
  fs.writeFileSync(goFile, '');
}

function parseLog(file: string): Array<{ kind: string; owner: string; pid: string }> {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind = '', owner = '', pid = ''] = line.split(' ');
      return { kind, owner, pid };
    });
}

/** start/end markers strictly alternate and each end closes the start of the same process: nobody edited concurrently. */
function expectNoOverlap(entries: Array<{ kind: string; owner: string; pid: string }>): void {
  expect(entries.length % 2).toBe(0);
  for (let i = 0; i < entries.length; i += 2) {
    const start = entries[i];
    const end = entries[i + 1];
    expect(start?.kind).toBe('start');
    expect(end?.kind).toBe('end');
    expect(end?.pid).toBe(start?.pid);
  }
}

describe('ResourceLocks', () => {
  let root: string;
  const opened: ResourceLocks[] = [];
  const children: Child[] = [];

  const setup = (options: { staleMs?: number; clock?: ManualClock } = {}) => {
    root = tempDir('locks-');
    fs.mkdirSync(path.join(root, 'src'), { recursive: true });
    fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 1;\n');
    const locks = new ResourceLocks({ root, staleMs: options.staleMs ?? 2000, updateMs: 1000, clock: options.clock });
    opened.push(locks);
    return locks;
  };
  const spawn = (mode: string, locks: ResourceLocks, target: string, env: Record<string, string>) => {
    const child = runScript(WORKER, [mode, locks.root, locks.lockDir, target], env);
    children.push(child);
    return child;
  };

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    for (const locks of opened.splice(0)) await locks.releaseAll();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('two holders in one process: the second fails clearly at once, or waits and gets it after release', async () => {
    const locks = setup();
    const other = new ResourceLocks({ root, staleMs: 2000, updateMs: 1000 });
    opened.push(other);
    const first = await locks.acquire('src/a.ts', { owner: 'w1' });
    expect(first.path).toBe('src/a.ts');

    const error = await other.acquire('./src//a.ts', { owner: 'w2', waitMs: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceLockedError);
    expect((error as Error).message).toMatch(
      new RegExp(`^path "src/a.ts" is locked by agent "w1" \\(pid ${process.pid} on host [^)]+\\) since \\d{4}-\\d\\d-\\d\\dT`),
    );
    expect((error as ResourceLockedError).holder?.owner).toBe('w1');

    const started = Date.now();
    const waiting = other.acquire('src/a.ts', { owner: 'w2', waitMs: 5000 });
    setTimeout(() => void first.release(), 150);
    const second = await waiting;
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(second.owner).toBe('w2');
    expect(first.released).toBe(true);
    await second.release();
    await second.release(); // idempotent
    expect(locks.list()).toEqual([]);
  });

  it('keys locks by the real path inside the root and refuses paths that escape it', async () => {
    const locks = setup();
    fs.symlinkSync('a.ts', path.join(root, 'src', 'alias.ts'));
    fs.symlinkSync('/etc', path.join(root, 'etc-link'));
    const lock = await locks.acquire('src/a.ts', { owner: 'w1' });
    // The alias is the same file, so the same lock.
    await expect(locks.acquire('src/alias.ts', { owner: 'w2' })).rejects.toBeInstanceOf(ResourceLockedError);
    expect(locks.keyOf('src/alias.ts')).toBe('src/a.ts');
    expect(locks.keyOf('src/new/file.ts')).toBe('src/new/file.ts');
    for (const bad of ['../x', 'src/../../x', '/etc/passwd', 'C:\\x', 'a\0b', 'etc-link/passwd']) {
      await expect(locks.acquire(bad, { owner: 'w1' })).rejects.toBeInstanceOf(PathOutsideRootError);
    }
    await expect(locks.acquire('.', { owner: 'w1' })).rejects.toThrow(/cannot lock the codebase root itself/);
    await expect(locks.acquire('src/a.ts', { owner: '../evil' })).rejects.toThrow(/invalid agent id/);
    expect(() => new ResourceLocks({ root, staleMs: 500 })).toThrow(ValidationError);
    expect(() => new ResourceLocks({ root, staleMs: 10_000, updateMs: 9000 })).toThrow(/updateMs must be between 1000 and staleMs \/ 2/);
    await lock.release();
  });

  it('list() shows each lock with its owner and age; waiting is abortable', async () => {
    const clock = new ManualClock();
    const locks = setup({ clock });
    const lock = await locks.acquire('src/a.ts', { owner: 'w1' });
    clock.advance(4200);
    const [info, ...rest] = locks.list();
    expect(rest).toEqual([]);
    expect(info).toMatchObject({ path: 'src/a.ts', holder: { owner: 'w1', pid: process.pid }, ageMs: 4200, stale: false, mine: true });

    const controller = new AbortController();
    const waiting = locks.acquire('src/a.ts', { owner: 'w2', waitMs: 30_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await lock.release();
  });

  it('test 4: two processes asking for one file lock, waiting: neither edits while the other holds it', async () => {
    const locks = setup();
    const log = path.join(root, 'edits.log');
    const go = path.join(root, 'go');
    const workers = ['p1', 'p2'].map((owner) =>
      spawn('edit', locks, 'src/a.ts', { OWNER: owner, WAIT_MS: '20000', HOLD_MS: '150', LOG: log, GO_FILE: go }),
    );
    await startTogether(workers, go);
    const exits = await Promise.all(workers.map((w) => w.exited));
    expect(exits.map((e) => e.code), workers.map((w) => w.stderr()).join('\n')).toEqual([0, 0]);
    expect(workers.every((w) => w.lines.includes('done'))).toBe(true);
    const entries = parseLog(log);
    expect(entries).toHaveLength(4);
    expectNoOverlap(entries);
    expect(new Set(entries.map((e) => e.owner))).toEqual(new Set(['p1', 'p2']));
    expect(locks.list()).toEqual([]);
  });

  it('test 4: with waitMs 0 the second process fails clearly, naming the holder, and edits nothing', async () => {
    const locks = setup();
    const log = path.join(root, 'edits.log');
    fs.writeFileSync(log, '');
    const holder = spawn('hold', locks, 'src/a.ts', { OWNER: 'holder' });
    await holder.waitFor((l) => l.startsWith('held '));
    const contender = spawn('edit', locks, 'src/a.ts', { OWNER: 'contender', WAIT_MS: '0', LOG: log });
    expect((await contender.exited).code).toBe(0);
    const busy = contender.lines.find((l) => l.startsWith('busy '));
    expect(busy).toMatch(
      new RegExp(`^busy path "src/a.ts" is locked by agent "holder" \\(pid ${holder.proc.pid} on host [^)]+\\) since .+; gave up after waiting \\d+ ms`),
    );
    expect(fs.readFileSync(log, 'utf8')).toBe('');
    expect(locks.list().map((l) => l.holder?.owner)).toEqual(['holder']);
  });

  it('a holder killed with SIGKILL does not block the file until the stale time: its dead pid frees the lock', async () => {
    const locks = setup({ staleMs: 60_000 });
    const holder = spawn('hold', locks, 'src/a.ts', { OWNER: 'doomed', STALE_MS: '60000' });
    await holder.waitFor((l) => l.startsWith('held '));
    holder.proc.kill('SIGKILL');
    await holder.exited;
    expect(locks.list()[0]).toMatchObject({ holder: { owner: 'doomed' }, stale: true });
    const lock = await locks.acquire('src/a.ts', { owner: 'heir' });
    expect(readOwner(lock.lockPath)).toMatchObject({ state: 'owned', record: { owner: 'heir' } });
    await lock.release();
  });

  it('four processes racing to take over one stale lock: exactly one wins', async () => {
    const locks = setup();
    const log = path.join(root, 'edits.log');
    const lockPath = plantStaleLock(locks.lockDir, 'src/a.ts');
    const go = path.join(root, 'go');
    const racers = Array.from({ length: 4 }, (_, i) =>
      spawn('edit', locks, 'src/a.ts', { OWNER: `r${i}`, WAIT_MS: '0', HOLD_MS: '300', LOG: log, GO_FILE: go }),
    );
    await startTogether(racers, go);
    const exits = await Promise.all(racers.map((r) => r.exited));
    expect(exits.map((e) => e.code), racers.map((r) => r.stderr()).join('\n')).toEqual(Array(4).fill(0));
    const winners = racers.filter((r) => r.lines.includes('done'));
    const losers = racers.filter((r) => r.lines.some((l) => l.startsWith('busy ')));
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(3);
    const entries = parseLog(log);
    expect(entries).toHaveLength(2);
    expectNoOverlap(entries);
    // The stale folder went to a tombstone, not back into play.
    expect(fs.readdirSync(path.join(locks.lockDir, STALE_FOLDER))).toHaveLength(1);
    expect(fs.existsSync(lockPath)).toBe(false);
  });

  it('many in-process takers racing over stale locks, round after round: one winner each round', async () => {
    const locks = setup();
    const takers = Array.from({ length: 6 }, () => new ResourceLocks({ root, staleMs: 2000, updateMs: 1000 }));
    opened.push(...takers);
    for (let round = 0; round < 40; round++) {
      plantStaleLock(locks.lockDir, 'src/a.ts', 60_000, round % 3 !== 0);
      const results = await Promise.allSettled(takers.map((t, i) => t.acquire('src/a.ts', { owner: `t${i}` })));
      const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<ResourceLocks['acquire']>>> => r.status === 'fulfilled');
      expect(won, `round ${round}`).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ResourceLockedError);
      await won[0]?.value.release();
    }
  });

  it('a late taker acting on an old judgement never removes the fresh lock taken meanwhile (proper-lockfile #121)', async () => {
    const locks = setup();
    for (const withOwner of [true, false]) {
      const lockPath = plantStaleLock(locks.lockDir, 'src/a.ts', 60_000, withOwner);
      // Taker B judges the lock stale... then stalls.
      const judged = judgeTakeover(lockPath, locks.staleMs, 'stale');
      expect(judged).toBeDefined();
      // Taker A takes it over and now holds a fresh lock at the same path.
      const fresh = await locks.acquire('src/a.ts', { owner: 'a' });
      // B wakes up and acts on its judgement: nothing happens to A's lock.
      expect(moveAside(locks.lockDir, lockPath, judged!, { owner: 'b', token: 'feedfacefeedfacefeedface' }).outcome).toBe('changed');
      expect(() => fresh.assertHeld()).not.toThrow();
      expect(readOwner(lockPath)).toMatchObject({ state: 'owned', record: { owner: 'a', token: fresh.token } });
      await fresh.release();
    }

    // The judged folder was released by its (slow) holder and a fresh lock took the name: B puts it back.
    const lockPath = plantStaleLock(locks.lockDir, 'src/a.ts');
    const judged = judgeTakeover(lockPath, locks.staleMs, 'stale')!;
    fs.rmSync(lockPath, { recursive: true });
    const fresh = await locks.acquire('src/a.ts', { owner: 'a' });
    expect(moveAside(locks.lockDir, lockPath, judged, { owner: 'b', token: 'feedfacefeedfacefeedface' }).outcome).toBe('changed');
    expect(() => fresh.assertHeld()).not.toThrow();
    await fresh.release();
  });

  it('a lost lock is reported through lost/onLost, refuses use, and does not crash the process', async () => {
    setup();
    const reported: string[] = [];
    const lostLocks = new ResourceLocks({ root, staleMs: 2000, updateMs: 1000, onLost: (_lock, reason) => reported.push(reason) });
    opened.push(lostLocks);
    const lock = await lostLocks.acquire('src/a.ts', { owner: 'w1' });
    const lost = new Promise<string>((resolve) => lock.onLost(resolve));
    // Someone removes the folder under the holder (an operator, or a takeover).
    fs.rmSync(lock.lockPath, { recursive: true });
    // The write-time check sees it at once...
    expect(() => lock.assertHeld()).toThrow(ResourceLockLostError);
    expect(lock.lost).toBe(true);
    expect(await lost).toMatch(/its lock folder was removed/);
    expect(() => lock.assertHeld()).toThrow(/the lock on path "src\/a.ts" held by agent "w1" was lost: .*acquire the lock again/);

    // ...and the heartbeat reports it without any check: proper-lockfile's compromise goes to onLost, not a throw.
    const second = await lostLocks.acquire('src/a.ts', { owner: 'w1' });
    const secondLost = new Promise<string>((resolve) => second.onLost(resolve));
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(second.lockPath, old, old);
    expect(await secondLost).toMatch(/changed by someone else/);
    expect(second.lost).toBe(true);
    expect(reported).toHaveLength(2);
    await lock.release();
    await second.release();
    // Late subscribers hear about it too.
    await expect(new Promise((resolve) => second.onLost(resolve))).resolves.toBeTypeOf('string');
  });

  it('a holder process stalled past the stale time is taken over; on resuming it reports the loss and refuses to write', async () => {
    const locks = setup();
    const holder = spawn('hold', locks, 'src/a.ts', { OWNER: 'sleeper', STALE_MS: '2000' });
    const token = (await holder.waitFor((l) => l.startsWith('held '))).slice('held '.length);
    // Freeze it (as a long GC pause or a swapped-out process would) and let its heartbeat age.
    holder.proc.kill('SIGSTOP');
    const lockPath = path.join(locks.lockDir, lockFolderName('src/a.ts'));
    const old = new Date(Date.now() - 10_000);
    fs.utimesSync(lockPath, old, old);
    const heir = await locks.acquire('src/a.ts', { owner: 'heir' });
    expect(readOwner(lockPath)).toMatchObject({ record: { owner: 'heir' } });
    holder.proc.kill('SIGCONT');
    const lost = await holder.waitFor((l) => l.startsWith('lost '));
    expect(lost).toMatch(/^lost it was taken over by agent "heir" \(pid \d+ on host [^)]+\) after its heartbeat stalled$/);
    expect(await holder.waitFor((l) => l.startsWith('refused '))).toContain('ResourceLockLostError');
    const exit = await holder.exited;
    expect(exit.code, holder.stderr()).toBe(0);
    // Its release did not touch the heir's lock.
    expect(() => heir.assertHeld()).not.toThrow();
    expect(readOwner(lockPath)).toMatchObject({ record: { owner: 'heir' } });
    expect(token).not.toBe(heir.token);
    await heir.release();
  });
});

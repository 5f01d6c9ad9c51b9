import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Clock, sleep, systemClock } from '../clock.js';
import { AbortError, AgentTeamError, ValidationError, describeValue, errnoCode, errorMessage } from '../errors.js';
import { currentHost } from '../fs/file-io.js';
import { assertValidId, randomToken } from '../ids.js';
import { type LockHolder, ResourceLockLostError, ResourceLockedError } from './lock-errors.js';
import {
  LOCK_SUFFIX,
  OWNER_FORMAT,
  type OwnerRecord,
  isDeadHere,
  keyFromFolderName,
  linkOwner,
  lockFolderName,
  readOwner,
  removeIfOwned,
  sweepLockFolder,
  takeOverStale,
} from './lock-folder.js';
import { isInside, realRoot, resolveConfined } from './path-confinement.js';

/** The folder name used for locks when none is given: `<root>/.agent-team-locks`. */
export const DEFAULT_LOCK_FOLDER = '.agent-team-locks';

export interface ResourceLocksOptions {
  /** The codebase root. Locked paths are relative to it and may not escape it (symbolic links included). */
  root: string;
  /**
   * The folder that holds the lock folders. Every process that must exclude
   * the others has to use the same one; a workspace's folder
   * (`<workspace>/locks`) is a good choice when the team shares a workspace.
   * It must be on a local filesystem (or NFSv3+), where `mkdir`, `link` and
   * `rename` are atomic.
   * @default `<root>/.agent-team-locks`
   */
  lockDir?: string;
  /**
   * A lock whose heartbeat (its folder's mtime) is older than this is stale
   * and may be taken over. proper-lockfile's minimum is 2,000.
   * @default 30_000
   */
  staleMs?: number;
  /**
   * How often a holder refreshes its heartbeat. Between 1,000 and `staleMs / 2`.
   * @default staleMs / 3
   */
  updateMs?: number;
  /** Time source for `since` and ages in {@link ResourceLocks.list}. @default the system clock */
  clock?: Clock;
  /**
   * Take over at once a lock whose holder ran on this host (same host name)
   * and whose process is gone, instead of waiting out `staleMs`. Turn off when
   * processes in separate containers share the lock folder under one host name.
   * @default true
   */
  takeOverDeadHolders?: boolean;
  /** Called when any lock taken through this instance is lost, after the lock's own callbacks. */
  onLost?: (lock: ResourceLock, reason: string) => void;
}

export interface AcquireOptions {
  /** Who takes the lock: an agent id, shown to others in "locked by" errors and in {@link ResourceLocks.list}. */
  owner: string;
  /**
   * How long to wait for a lock held by someone else, polling with backoff;
   * 0 fails at once with {@link ResourceLockedError}.
   * @default 0
   */
  waitMs?: number;
  /** Stops waiting with an {@link AbortError}. */
  signal?: AbortSignal;
}

/** One current lock, for `status` displays. */
export interface LockInfo {
  /** The locked path, relative to the root. */
  path: string;
  /** The holder, or undefined while its record is being written (or was never written: a crash). */
  holder: LockHolder | undefined;
  /** `since` as an ISO timestamp, when known. */
  since: string | undefined;
  /** How long it has been held, by this instance's clock. */
  ageMs: number | undefined;
  /** Time since the holder's last heartbeat. */
  heartbeatAgeMs: number;
  /** Another agent could take it over now (heartbeat too old, or the holder's process is gone). */
  stale: boolean;
  /** Held through this {@link ResourceLocks} instance. */
  mine: boolean;
}

/** @internal What a {@link ResourceLock} needs from the instance that made it. */
interface LockControl {
  /** proper-lockfile's release: stops the heartbeat and removes the folder (if still ours). */
  unlock: () => Promise<void>;
  staleMs: number;
  onLost: (lock: ResourceLock, reason: string) => void;
  onReleased: (lock: ResourceLock) => void;
}

/** What proper-lockfile reports through our `fs` when it wants to remove a stale lock folder. */
const STALE_SIGNAL = 'EAGENTTEAM_STALE';

/** Owners are agent ids, checked by the id rules: they are stored in owner records and shown in messages. */
const OWNER_KIND = 'agent';

/**
 * A lock on one path, held until {@link release}. Check {@link lost} (or use
 * {@link assertHeld}) before writing through it: a lock whose heartbeat stalled
 * past the stale time may have been taken over by another agent.
 */
export class ResourceLock {
  private isReleased = false;
  private reason: string | undefined;
  private readonly callbacks = new Set<(reason: string) => void>();
  private releasing: Promise<void> | undefined;

  /** @internal Made by {@link ResourceLocks.acquire}. */
  constructor(
    /** The locked path, relative to the root (`/`-separated, links resolved). */
    readonly path: string,
    /** The agent that holds it. */
    readonly owner: string,
    /** Unique to this acquisition; the owner record on disk carries it. */
    readonly token: string,
    /** When it was taken (epoch ms, by the instance's clock). */
    readonly since: number,
    /** @internal The lock folder. */
    readonly lockPath: string,
    private readonly control: LockControl,
  ) {}

  /** True once the lock was found lost; it stays true, also after {@link release}. */
  get lost(): boolean {
    return this.reason !== undefined;
  }

  /** True after {@link release}. */
  get released(): boolean {
    return this.isReleased;
  }

  /** Why the lock was lost, when it was. */
  get lostReason(): string | undefined {
    return this.reason;
  }

  /**
   * Calls `callback` once if the lock is lost (at once, asynchronously, if it
   * already was). A lock released while still held is never lost. Returns a
   * function that removes the callback.
   */
  onLost(callback: (reason: string) => void): () => void {
    const reason = this.reason;
    if (reason !== undefined) {
      queueMicrotask(() => callback(reason));
      return () => {};
    }
    if (this.isReleased) return () => {};
    this.callbacks.add(callback);
    return () => {
      this.callbacks.delete(callback);
    };
  }

  /**
   * Throws unless the lock is still ours at this moment: not released, not
   * reported lost, its owner record on disk still carries our token, and its
   * heartbeat is not overdue. A failed check marks the lock lost. Call it right
   * before the commit point of a write (the rename), as a fencing check.
   *
   * @throws ResourceLockLostError
   */
  assertHeld(): void {
    if (this.reason === undefined && this.isReleased) {
      throw new ResourceLockLostError(this.path, this.owner, 'it was already released');
    }
    if (this.reason === undefined) {
      const foreign = notOurs(this.lockPath, this.token);
      if (foreign !== undefined) {
        this.markLost(foreign);
      } else {
        let mtimeMs: number | undefined;
        try {
          mtimeMs = fs.statSync(this.lockPath).mtimeMs;
        } catch {
          mtimeMs = undefined;
        }
        if (mtimeMs === undefined || mtimeMs < Date.now() - this.control.staleMs) {
          this.markLost(
            `its heartbeat is more than ${this.control.staleMs} ms old, so another agent may take it over at any moment`,
          );
        }
      }
    }
    if (this.reason !== undefined) throw new ResourceLockLostError(this.path, this.owner, this.reason);
  }

  /**
   * Releases the lock: removes its folder if it is still ours. Idempotent; a
   * lost lock is released too (it stops any heartbeat and cleans up if the
   * folder is still ours).
   */
  release(): Promise<void> {
    this.releasing ??= this.doRelease();
    return this.releasing;
  }

  private async doRelease(): Promise<void> {
    this.isReleased = true;
    this.callbacks.clear();
    try {
      await this.control.unlock();
    } catch (err) {
      // ERELEASED: proper-lockfile already dropped it (it reported the lock compromised).
      if (errnoCode(err) !== 'ERELEASED') throw err;
    } finally {
      this.control.onReleased(this);
    }
    if (this.reason !== undefined) removeIfOwned(this.lockPath, this.token);
  }

  /** @internal Marks the lock lost and tells the callbacks; later calls do nothing. */
  markLost(reason: string): void {
    if (this.isReleased || this.reason !== undefined) return;
    this.reason = reason;
    const callbacks = [...this.callbacks];
    this.callbacks.clear();
    for (const callback of callbacks) {
      try {
        callback(reason);
      } catch {
        // A failing callback must not stop the others, nor crash the process from a timer.
      }
    }
    try {
      this.control.onLost(this, reason);
    } catch {
      // same
    }
  }
}

/**
 * Locks on paths of a codebase, shared by every process that uses the same
 * lock folder, so two agents never edit one file at once.
 *
 * Built on proper-lockfile (a lock is a folder made with `mkdir`, kept fresh
 * by a heartbeat on its mtime, stale when the heartbeat stops), with two
 * guards proper-lockfile lacks: its stale takeover (`rmdir` then `mkdir`, not
 * atomic) is replaced by {@link takeOverStale}, and the holder's owner record
 * is linked in whole as the commit point of an acquire; and its default
 * `onCompromised` (which throws from a timer and kills the process) is
 * replaced by reporting: the lock becomes {@link ResourceLock.lost} and its
 * `onLost` callbacks run. See docs/codebase.md.
 *
 * @example
 * const locks = new ResourceLocks({ root: '/repo', lockDir: '/repo/workspace/locks' });
 * const lock = await locks.acquire('src/a.ts', { owner: 'w1', waitMs: 5_000 });
 * try { lock.assertHeld(); edit(); } finally { await lock.release(); }
 */
export class ResourceLocks {
  /** The real path of the root. */
  readonly root: string;
  /** The absolute lock folder. */
  readonly lockDir: string;
  readonly staleMs: number;
  readonly updateMs: number;
  private readonly clock: Clock;
  private readonly takeOverDead: boolean;
  private readonly onLostOption: ((lock: ResourceLock, reason: string) => void) | undefined;
  private readonly held = new Set<ResourceLock>();

  constructor(options: ResourceLocksOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError('ResourceLocks needs options with at least { root }');
    }
    this.root = realRoot(options.root);
    this.staleMs = options.staleMs ?? 30_000;
    if (!Number.isFinite(this.staleMs) || this.staleMs < 2000) {
      throw new ValidationError(
        `staleMs must be a number >= 2000 (proper-lockfile's minimum), got ${describeValue(options.staleMs)}`,
      );
    }
    this.updateMs = options.updateMs ?? Math.max(1000, Math.floor(this.staleMs / 3));
    if (!Number.isFinite(this.updateMs) || this.updateMs < 1000 || this.updateMs > this.staleMs / 2) {
      throw new ValidationError(
        `updateMs must be between 1000 and staleMs / 2 (${this.staleMs / 2}), got ${describeValue(options.updateMs)}: ` +
          'a heartbeat slower than half the stale time lets a live lock look stale',
      );
    }
    this.clock = options.clock ?? systemClock;
    this.takeOverDead = options.takeOverDeadHolders ?? true;
    this.onLostOption = options.onLost;
    this.lockDir = path.resolve(options.lockDir ?? path.join(this.root, DEFAULT_LOCK_FOLDER));
    fs.mkdirSync(this.lockDir, { recursive: true });
  }

  /**
   * The lock key of `target`: its real path relative to the root.
   * @throws PathOutsideRootError when it escapes the root.
   */
  keyOf(target: string): string {
    const resolved = resolveConfined(this.root, target);
    if (resolved.relative === '') {
      throw new ValidationError(`cannot lock the codebase root itself ("${target}"): lock a file or folder inside it`);
    }
    if (isInside(this.lockDir, resolved.absolute)) {
      throw new ValidationError(`cannot lock "${target}": it is inside the lock folder "${this.lockDir}"`);
    }
    return resolved.relative;
  }

  /**
   * Takes the lock on `target` for `owner`, waiting up to `waitMs` while
   * another holder has it.
   *
   * @throws ResourceLockedError when it is still held by someone else after `waitMs`.
   * @throws AbortError when `signal` aborts.
   * @throws PathOutsideRootError when `target` escapes the root.
   */
  async acquire(target: string, options: AcquireOptions): Promise<ResourceLock> {
    assertValidId(OWNER_KIND, options.owner);
    const waitMs = options.waitMs ?? 0;
    if (!Number.isFinite(waitMs) || waitMs < 0) {
      throw new ValidationError(`waitMs must be a number >= 0, got ${describeValue(options.waitMs)}`);
    }
    const key = this.keyOf(target);
    const lockPath = path.join(this.lockDir, lockFolderName(key));
    const started = performance.now();
    let delay = 10;
    let retries = 0;
    for (;;) {
      if (options.signal?.aborted) throw new AbortError(`gave up waiting for the lock on path "${key}": aborted`);
      const outcome = await this.tryAcquire(key, lockPath, options.owner);
      if (outcome.kind === 'acquired') return outcome.lock;
      if (outcome.kind === 'retry' && retries < 10) {
        // Lost a race for a free or stale lock; the next attempt decides at once.
        retries += 1;
        continue;
      }
      retries = 0;
      const waited = performance.now() - started;
      if (waited >= waitMs) {
        const holder = outcome.kind === 'busy' ? outcome.holder : undefined;
        throw new ResourceLockedError(key, holder ?? (await this.settledHolder(lockPath)), waited, this.clock.now());
      }
      const pause = Math.min(delay * (0.5 + Math.random()), waitMs - waited);
      await sleep(Math.max(1, pause), options.signal).catch((err: unknown) => {
        throw err instanceof AbortError ? new AbortError(`gave up waiting for the lock on path "${key}": aborted`) : err;
      });
      delay = Math.min(delay * 1.7, 500);
    }
  }

  /** The current holder of `target`'s lock, or undefined when it is free. Stale locks are reported as held. */
  holderOf(target: string): LockHolder | undefined {
    const read = readOwner(path.join(this.lockDir, lockFolderName(this.keyOf(target))));
    return read.state === 'owned' ? toHolder(read.record) : undefined;
  }

  /** Every lock in the lock folder, from any process, sorted by path. */
  list(): LockInfo[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.lockDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    const now = this.clock.now();
    const mine = new Set([...this.held].map((lock) => lock.token));
    const infos: LockInfo[] = [];
    for (const name of names) {
      if (!name.endsWith(LOCK_SUFFIX)) continue;
      const lockPath = path.join(this.lockDir, name);
      let mtimeMs: number;
      try {
        mtimeMs = fs.statSync(lockPath).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      const read = readOwner(lockPath);
      const record = read.state === 'owned' ? read.record : undefined;
      const key = record?.path ?? keyFromFolderName(name) ?? name;
      const heartbeatAgeMs = Math.max(0, Date.now() - mtimeMs);
      infos.push({
        path: key,
        holder: record ? toHolder(record) : undefined,
        since: record ? new Date(record.since).toISOString() : undefined,
        ageMs: record ? Math.max(0, now - record.since) : undefined,
        heartbeatAgeMs,
        stale: heartbeatAgeMs > this.staleMs || (record !== undefined && this.takeOverDead && isDeadHere(record)),
        mine: record !== undefined && mine.has(record.token),
      });
    }
    return infos.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The locks taken through this instance and not yet released. */
  heldLocks(): ResourceLock[] {
    return [...this.held];
  }

  /** Releases every lock taken through this instance. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.held].map((lock) => lock.release()));
  }

  /** The holder's record, giving a winner that has just made the folder a moment to link it (for the error message). */
  private async settledHolder(lockPath: string): Promise<LockHolder | undefined> {
    for (let i = 0; i < 5; i++) {
      const read = readOwner(lockPath);
      if (read.state === 'owned') return toHolder(read.record);
      if (read.state !== 'missing') return undefined;
      await sleep(5);
    }
    return undefined;
  }

  private async tryAcquire(
    key: string,
    lockPath: string,
    owner: string,
  ): Promise<{ kind: 'acquired'; lock: ResourceLock } | { kind: 'busy'; holder: LockHolder | undefined } | { kind: 'retry' }> {
    const token = randomToken(12);
    // The heartbeat can report a loss before the ResourceLock exists (in theory); keep it for then.
    const made: { lock?: ResourceLock; early?: string } = {};
    const reportLost = (reason: string) => {
      if (made.lock) made.lock.markLost(reason);
      else made.early ??= reason;
    };
    const guard = new GuardedFs(lockPath, token, reportLost);
    let unlock: () => Promise<void>;
    try {
      // Loaded on first use: proper-lockfile (and graceful-fs, which it patches in) cost start-up time that most processes never need.
      const { default: lockfile } = await import('proper-lockfile');
      unlock = await lockfile.lock(path.join(this.lockDir, `${token}.handle`), {
        lockfilePath: lockPath,
        realpath: false,
        stale: this.staleMs,
        update: this.updateMs,
        retries: 0,
        fs: guard.fs,
        // Never proper-lockfile's default, which throws from a timer and kills the process.
        onCompromised: (err: Error) => reportLost(compromisedReason(err, this.staleMs)),
      });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ELOCKED') {
        const read = readOwner(lockPath);
        if (this.takeOverDead && read.state === 'owned' && isDeadHere(read.record)) {
          this.takeOver(lockPath, 'dead-holder', owner, token);
          return { kind: 'retry' };
        }
        return { kind: 'busy', holder: read.state === 'owned' ? toHolder(read.record) : undefined };
      }
      if (code === STALE_SIGNAL) {
        this.takeOver(lockPath, 'stale', owner, token);
        return { kind: 'retry' };
      }
      if (code === 'ENOENT' && !fs.existsSync(this.lockDir)) {
        fs.mkdirSync(this.lockDir, { recursive: true });
        return { kind: 'retry' };
      }
      throw new AgentTeamError(`could not lock path "${key}" in "${this.lockDir}": ${errorMessage(err)}`, { cause: err });
    }

    // proper-lockfile made the folder. The commit point is linking our owner record into it.
    const abandon = async () => {
      guard.phase = 'abandon';
      await unlock().catch(() => {});
    };
    const probed = guard.probed;
    const since = this.clock.now();
    const record: OwnerRecord = { format: OWNER_FORMAT, path: key, owner, pid: process.pid, host: currentHost(), since, token };
    const linked = linkOwner(this.lockDir, lockPath, record);
    if (linked !== 'linked' || !probed) {
      if (linked === 'linked') removeIfOwned(lockPath, token);
      await abandon();
      return { kind: 'retry' };
    }
    // Linking changed the folder's mtime; put back the one proper-lockfile recorded,
    // or its next heartbeat would take the change for a takeover.
    let intact = false;
    try {
      fs.utimesSync(lockPath, probed.atime, probed.mtime);
      const now = fs.statSync(lockPath);
      const read = readOwner(lockPath);
      intact = now.ino === probed.ino && read.state === 'owned' && read.record.token === token;
    } catch {
      intact = false;
    }
    if (!intact) {
      // Our record landed in a folder other than the one proper-lockfile made for us.
      removeIfOwned(lockPath, token);
      await abandon();
      return { kind: 'retry' };
    }
    guard.phase = 'held';
    const lock = new ResourceLock(key, owner, token, since, lockPath, {
      unlock,
      staleMs: this.staleMs,
      onLost: (l, reason) => this.onLostOption?.(l, reason),
      onReleased: (l) => this.held.delete(l),
    });
    made.lock = lock;
    this.held.add(lock);
    if (made.early !== undefined) lock.markLost(made.early);
    return { kind: 'acquired', lock };
  }

  private takeOver(lockPath: string, reason: 'stale' | 'dead-holder', owner: string, token: string): void {
    const result = takeOverStale(this.lockDir, lockPath, this.staleMs, reason, { owner, token });
    if (result.outcome === 'taken-over') sweepLockFolder(this.lockDir, Math.max(2 * this.staleMs, 60_000));
  }
}

/**
 * The `fs` proper-lockfile is given for one acquisition. It passes everything
 * through, except:
 * - while acquiring, `rmdir` (proper-lockfile's stale takeover) fails with
 *   {@link STALE_SIGNAL}, so the guarded {@link takeOverStale} does it instead;
 * - the probe's mtime gets random milliseconds: proper-lockfile sets "next
 *   second + 5 ms", the same value for every folder made within one second,
 *   and its heartbeat tells "still mine" by that mtime alone, so a holder could
 *   go on heartbeating a successor's folder made in the same second;
 * - it records the folder's stat right after proper-lockfile made it;
 * - each heartbeat first checks our owner record is still in the folder, and
 *   if not reports the loss and stops the heartbeat (an ENOENT makes
 *   proper-lockfile give the lock up);
 * - when releasing (and on process exit), `rmdir` removes the folder only if
 *   our owner record is still in it.
 */
class GuardedFs {
  phase: 'acquiring' | 'held' | 'abandon' = 'acquiring';
  probed: fs.Stats | undefined;
  readonly fs: Record<string, unknown>;

  constructor(
    private readonly lockPath: string,
    private readonly token: string,
    private readonly reportLost: (reason: string) => void,
  ) {
    type Callback<T = void> = (err: NodeJS.ErrnoException | null, value?: T) => void;
    this.fs = {
      mkdir: (p: string, cb: Callback) => fs.mkdir(p, (err) => cb(err)),
      stat: (p: string, cb: Callback<fs.Stats>) => {
        if (this.phase === 'held' && p === this.lockPath) {
          const foreign = notOurs(this.lockPath, this.token);
          if (foreign !== undefined) {
            this.reportLost(foreign);
            cb(Object.assign(new Error(`lock folder "${p}" is no longer ours: ${foreign}`), { code: 'ENOENT' }));
            return;
          }
        }
        fs.stat(p, (err, stat) => {
          if (!err && this.phase === 'acquiring' && p === this.lockPath) this.probed = stat;
          cb(err, stat);
        });
      },
      utimes: (p: string, atime: Date, mtime: Date, cb: Callback) => {
        const unique = this.phase === 'acquiring' ? new Date(mtime.getTime() + Math.floor(Math.random() * 990)) : mtime;
        fs.utimes(p, atime, unique, (err) => cb(err));
      },
      realpath: (p: string, cb: Callback<string>) => fs.realpath(p, cb),
      rmdir: (p: string, cb: Callback) => {
        if (this.phase === 'acquiring') {
          cb(Object.assign(new Error(`lock folder "${p}" is stale`), { code: STALE_SIGNAL }));
          return;
        }
        if (this.phase === 'held') {
          try {
            removeIfOwned(this.lockPath, this.token);
          } catch (err) {
            cb(err as NodeJS.ErrnoException);
            return;
          }
        }
        cb(null);
      },
      // proper-lockfile's exit hook (signal-exit) removes held locks synchronously.
      rmdirSync: () => {
        if (this.phase === 'held') removeIfOwned(this.lockPath, this.token);
      },
    };
  }
}

function toHolder(record: OwnerRecord): LockHolder {
  return { owner: record.owner, pid: record.pid, host: record.host, since: record.since };
}

/** Undefined when the owner record in `lockPath` carries `token`; otherwise why the lock is not ours. */
function notOurs(lockPath: string, token: string): string | undefined {
  const read = readOwner(lockPath);
  if (read.state === 'owned') {
    if (read.record.token === token) return undefined;
    const { owner, pid, host } = read.record;
    return `it was taken over by agent "${owner}" (pid ${pid} on host ${host}) after its heartbeat stalled`;
  }
  return read.state === 'no-folder'
    ? 'its lock folder was removed (another agent took it over as stale, or it was deleted)'
    : 'its lock folder was replaced (another agent is taking it over)';
}

function compromisedReason(err: Error, staleMs: number): string {
  // proper-lockfile rewrites the code to ECOMPROMISED; the message keeps the cause.
  if (/ENOENT/.test(err.message)) return 'its lock folder was removed (another agent took it over as stale, or it was deleted)';
  if (/stale threshold/i.test(err.message)) {
    // proper-lockfile found the folder's mtime not to be the one it last wrote.
    return (
      'its lock folder was changed by someone else: another agent took it over ' +
      `(its heartbeat had stalled for more than ${staleMs} ms) or the folder was tampered with`
    );
  }
  return `its heartbeat failed: ${err.message}`;
}

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import { currentHost, isProcessAlive } from '../fs/file-io.js';
import { uniqueSuffix } from '../ids.js';
import type { LockHolder } from './lock-errors.js';

/**
 * The on-disk format of resource locks, and the guarded takeover of stale ones.
 *
 * ```
 * <lockDir>/
 *   <key>.lock/            proper-lockfile's lock folder (mkdir; its mtime is the heartbeat)
 *     owner.json           the holder's record; linked in whole, never rewritten
 *   .stale/<key>.<id>/     tombstones: stale lock folders moved aside, kept a while
 *   .tmp/                  owner records being written
 * ```
 *
 * `<key>` is the path relative to the root, percent-encoded into one file
 * name (or hashed when too long). A lock is held by whoever linked
 * `owner.json` into the folder: `link(2)` fails when the name exists, so of
 * two processes that both believe proper-lockfile gave them the folder (its
 * issue #121), exactly one gets the record in.
 */

export const LOCK_SUFFIX = '.lock';
export const OWNER_FILE = 'owner.json';
export const STALE_FOLDER = '.stale';
export const TEMP_FOLDER = '.tmp';

/** Owner records carry a format number so a future change can be told apart. */
export const OWNER_FORMAT = 1;

export interface OwnerRecord extends LockHolder {
  format: number;
  /** The locked path, relative to the root. */
  path: string;
  /** Unique per acquisition; what "this lock is mine" is checked against. */
  token: string;
}

const TOKEN_PATTERN = /^[0-9a-f]{16,64}$/;

/** One file name for a lock key: percent-encoded, or a hash when that would be too long for the filesystem. */
export function lockFolderName(key: string): string {
  const encoded = encodeURIComponent(key).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  // 255 bytes is the usual name limit; leave room for the suffix and a tombstone id.
  if (encoded.length <= 180) return `${encoded}${LOCK_SUFFIX}`;
  return `~${createHash('sha256').update(key).digest('hex').slice(0, 40)}${LOCK_SUFFIX}`;
}

/** The key a lock folder name stands for, when it is not a hash (those are read from the owner record). */
export function keyFromFolderName(name: string): string | undefined {
  if (!name.endsWith(LOCK_SUFFIX) || name.startsWith('~')) return undefined;
  try {
    return decodeURIComponent(name.slice(0, -LOCK_SUFFIX.length));
  } catch {
    return undefined;
  }
}

export type OwnerRead =
  | { state: 'owned'; record: OwnerRecord }
  /** No owner record: the folder was just made, or its maker died before linking one. */
  | { state: 'missing' }
  /** Something unreadable where the record should be (not written by this code). */
  | { state: 'corrupt' }
  | { state: 'no-folder' };

export function readOwner(lockPath: string): OwnerRead {
  let text: string;
  try {
    text = fs.readFileSync(path.join(lockPath, OWNER_FILE), 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return fs.existsSync(lockPath) ? { state: 'missing' } : { state: 'no-folder' };
    if (code === 'ENOTDIR') return { state: 'corrupt' };
    throw err;
  }
  try {
    const value = JSON.parse(text) as Partial<OwnerRecord> | null;
    if (
      value &&
      typeof value === 'object' &&
      typeof value.token === 'string' &&
      TOKEN_PATTERN.test(value.token) &&
      typeof value.owner === 'string' &&
      typeof value.path === 'string' &&
      typeof value.host === 'string' &&
      Number.isInteger(value.pid) &&
      typeof value.since === 'number'
    ) {
      return { state: 'owned', record: value as OwnerRecord };
    }
  } catch {
    // fall through: not JSON
  }
  return { state: 'corrupt' };
}

export type LinkOutcome = 'linked' | 'taken' | 'gone';

/**
 * Puts `record` into the lock folder as `owner.json`, whole: written to a temp
 * file, then hard-linked in. `taken` when a record is already there (another
 * holder won the folder), `gone` when the folder no longer exists.
 */
export function linkOwner(lockDir: string, lockPath: string, record: OwnerRecord): LinkOutcome {
  const tempDir = path.join(lockDir, TEMP_FOLDER);
  const temp = path.join(tempDir, `${record.token}.${uniqueSuffix()}.tmp`);
  try {
    fs.writeFileSync(temp, JSON.stringify(record), { flag: 'wx' });
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    fs.mkdirSync(tempDir, { recursive: true });
    fs.writeFileSync(temp, JSON.stringify(record), { flag: 'wx' });
  }
  try {
    fs.linkSync(temp, path.join(lockPath, OWNER_FILE));
    return 'linked';
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') return 'taken';
    if (code === 'ENOENT') return 'gone';
    throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * Removes the lock folder if, and only if, its owner record carries `token`.
 * Synchronous on purpose: the check and the removal run back to back, so a
 * takeover cannot slip in between (short of the process being suspended).
 * Returns whether the record was ours.
 */
export function removeIfOwned(lockPath: string, token: string): boolean {
  const read = readOwner(lockPath);
  if (read.state !== 'owned' || read.record.token !== token) return false;
  try {
    fs.unlinkSync(path.join(lockPath, OWNER_FILE));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  try {
    fs.rmdirSync(lockPath);
  } catch (err) {
    // ENOTEMPTY: someone linked a record in the instant it was empty; it is theirs now.
    const code = errnoCode(err);
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  return true;
}

/** Why a lock folder may be taken over. */
export type TakeoverReason = 'stale' | 'dead-holder';

/** What a taker saw of a lock folder when it judged it could be taken over. */
export interface TakeoverJudgement {
  reason: TakeoverReason;
  ino: number;
  mtimeMs: number;
  /** The folder had no entries: nobody ever linked a record in (its maker died first). */
  empty: boolean;
  /** The displaced holder's record, when there was one. */
  previous: OwnerRecord | undefined;
}

export interface TakeoverResult {
  /** `taken-over`: this call removed the judged folder; `changed`: it did nothing, the folder is not the one judged (or no longer takeable). */
  outcome: 'taken-over' | 'changed';
  /** The record of the holder that was displaced, when there was one. */
  previous?: OwnerRecord;
}

/**
 * Looks at a lock folder and returns a judgement when it may be taken over:
 * its heartbeat mtime is older than `staleMs` (`stale`), or its holder is a
 * dead process on this host (`dead-holder`). The owner record is read between
 * two `lstat`s that must agree, so the judgement is about one folder.
 */
export function judgeTakeover(lockPath: string, staleMs: number, reason: TakeoverReason): TakeoverJudgement | undefined {
  let first: fs.Stats;
  let entries: string[];
  try {
    first = fs.lstatSync(lockPath);
    entries = first.isDirectory() ? fs.readdirSync(lockPath) : ['(not a folder)'];
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
  const read = readOwner(lockPath);
  let second: fs.Stats;
  try {
    second = fs.lstatSync(lockPath);
  } catch {
    return undefined;
  }
  if (second.ino !== first.ino || second.mtimeMs !== first.mtimeMs) return undefined;
  if (reason === 'stale' && !(first.mtimeMs < Date.now() - staleMs)) return undefined;
  if (reason === 'dead-holder' && !(read.state === 'owned' && isDeadHere(read.record))) return undefined;
  return {
    reason,
    ino: first.ino,
    mtimeMs: first.mtimeMs,
    empty: entries.length === 0,
    previous: read.state === 'owned' ? read.record : undefined,
  };
}

/**
 * Removes the lock folder judged by {@link judgeTakeover}, and nothing else.
 *
 * proper-lockfile would `rmdir` then `mkdir`, and two processes that both saw
 * the lock stale can then both win (its issue #121): the second `rmdir`
 * removes the folder the first just made. Here a folder with a holder record
 * is instead *renamed* to a tombstone named after the judged folder's inode.
 * Every taker that judged that folder computes the same name, and `rename(2)`
 * onto an existing non-empty folder fails, so a late taker can never move away
 * a fresh lock taken in between; it just retries the normal acquire. After
 * moving, the tombstone's inode is checked to be the one judged; if not (the
 * judged folder was released by its holder and a new lock took the name in
 * those microseconds), it is put back. An empty folder has no holder and is
 * removed with `rmdir`, which fails if a record was linked in meanwhile (and
 * an acquirer whose fresh folder it removed finds that out when linking).
 */
export function moveAside(
  lockDir: string,
  lockPath: string,
  judged: TakeoverJudgement,
  by: { owner: string; token: string },
): TakeoverResult {
  if (judged.empty) {
    try {
      fs.rmdirSync(lockPath);
      return { outcome: 'taken-over' };
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') return { outcome: 'changed' };
      throw err;
    }
  }
  const staleDir = path.join(lockDir, STALE_FOLDER);
  fs.mkdirSync(staleDir, { recursive: true });
  // The inode names the tombstone: it is the same for every taker that judged
  // this folder, and no other folder can have it while the tombstone exists.
  const tombstone = path.join(staleDir, `${path.basename(lockPath)}.i${judged.ino}`);
  try {
    fs.renameSync(lockPath, tombstone);
  } catch (err) {
    const code = errnoCode(err);
    // ENOENT: already moved. ENOTEMPTY/EEXIST: the judged folder's tombstone
    // exists, so whatever sits at lockPath now is a newer lock; leave it alone.
    if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM') return { outcome: 'changed' };
    throw err;
  }
  if (fs.lstatSync(tombstone).ino !== judged.ino) {
    // Not the judged folder: put it back. Should a third lock have taken the name
    // meanwhile this fails, and the displaced holder learns it from its
    // heartbeat and from the write-time check (assertHeld).
    try {
      fs.renameSync(tombstone, lockPath);
    } catch {
      fs.rmSync(tombstone, { recursive: true, force: true });
    }
    return { outcome: 'changed' };
  }
  try {
    fs.writeFileSync(
      path.join(tombstone, 'taken-over.json'),
      JSON.stringify({ by: by.owner, token: by.token, pid: process.pid, host: currentHost(), at: Date.now(), reason: judged.reason }),
    );
  } catch {
    // diagnostics only
  }
  return judged.previous ? { outcome: 'taken-over', previous: judged.previous } : { outcome: 'taken-over' };
}

/**
 * {@link judgeTakeover} then {@link moveAside}, back to back and synchronous,
 * so the judgement and the move are microseconds apart.
 */
export function takeOverStale(
  lockDir: string,
  lockPath: string,
  staleMs: number,
  reason: TakeoverReason,
  by: { owner: string; token: string },
): TakeoverResult {
  const judged = judgeTakeover(lockPath, staleMs, reason);
  return judged ? moveAside(lockDir, lockPath, judged, by) : { outcome: 'changed' };
}

/** The holder ran on this host and its process is gone: its lock need not wait out the stale time. */
export function isDeadHere(record: LockHolder): boolean {
  return record.host === currentHost() && record.pid !== process.pid && !isProcessAlive(record.pid);
}

/**
 * Removes tombstones and temp files older than `olderThanMs`. A tombstone must
 * outlive any taker that judged the same stale lock (they act within
 * microseconds), so the age kept is generous.
 */
export function sweepLockFolder(lockDir: string, olderThanMs: number): void {
  const cutoff = Date.now() - olderThanMs;
  for (const folder of [STALE_FOLDER, TEMP_FOLDER]) {
    const dir = path.join(lockDir, folder);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const entry = path.join(dir, name);
      try {
        // A tombstone's mtime is set when its taken-over.json is written, i.e. at takeover.
        if (fs.lstatSync(entry).mtimeMs < cutoff) fs.rmSync(entry, { recursive: true, force: true });
      } catch {
        // raced with another sweeper
      }
    }
  }
}

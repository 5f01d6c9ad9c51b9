import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  type ConfinedPath,
  DEFAULT_LOCK_FOLDER,
  O_NOFOLLOW,
  O_NONBLOCK,
  type ResourceLock,
  type ResourceLocks,
  ValidationError,
  assertOpenedInside,
  assertValidId,
  describeValue,
  errorMessage,
  isInside,
  realRoot,
  resolveConfined,
  uniqueSuffix,
} from '@agent-team/core';
import { CodebaseAccessError, StaleFileError, positiveInteger } from './errors.js';
import { type SearchOptions, type SearchResult, searchFiles } from './search.js';
import { readLines } from './text-reader.js';

export { CodebaseAccessError, StaleFileError } from './errors.js';
export type { SearchMatch, SearchOptions, SearchResult } from './search.js';


export interface CodebaseOptions {
  /**
   * Resource locks shared with the other agents editing this codebase (same
   * root, same lock folder). With them every write holds the file's lock;
   * without them writes are not coordinated, which is fine for one agent alone.
   */
  locks?: ResourceLocks;
  /**
   * The agent using this codebase: the lock owner shown to other agents.
   * @default `process-<pid>`
   */
  owner?: string;
  /**
   * The most text one {@link Codebase.read} returns; longer windows are cut at a
   * line and say where to continue.
   * @default 262_144 (256 KiB)
   */
  maxReadBytes?: number;
  /**
   * Allow {@link Codebase.write}. Off, the codebase is read-only for this agent.
   * @default false
   */
  allowWrite?: boolean;
  /**
   * The largest content {@link Codebase.write} accepts.
   * @default 1_048_576 (1 MiB)
   */
  maxWriteBytes?: number;
  /**
   * How long a write waits for a file whose lock another agent holds before it
   * fails with the holder's name.
   * @default 5_000
   */
  lockWaitMs?: number;
  /**
   * Folder and file names that list and search skip at any depth (the lock
   * folder is always skipped). A path given explicitly is still readable.
   * @default ['.git', 'node_modules', '.agents']
   */
  skip?: readonly string[];
  /**
   * Files larger than this are skipped by search.
   * @default 1_048_576 (1 MiB)
   */
  maxSearchFileBytes?: number;
}

export interface ReadOptions {
  /** The first line to return, counting from 1. @default 1 */
  offset?: number;
  /** The most lines to return. @default 2000 */
  limit?: number;
}

export interface ReadResult {
  /** The file's path relative to the root (links resolved). */
  path: string;
  /** The lines read, joined with `\n`. */
  content: string;
  /** Line number of the first line returned. */
  startLine: number;
  /** Line number of the last line returned (`startLine - 1` when none). */
  endLine: number;
  /** The file's line count, when the read reached its end. */
  totalLines: number | undefined;
  /** The file's size in bytes. */
  size: number;
  /** More lines follow: read again from {@link nextOffset}. */
  truncated: boolean;
  nextOffset: number | undefined;
  /** A line longer than `maxReadBytes` whose start alone is returned. */
  cutLine: number | undefined;
}

export interface ListOptions {
  /** Walk sub-folders too (breadth first). @default false */
  recursive?: boolean;
  /** The most entries to return. @default 500 */
  limit?: number;
}

export interface ListEntry {
  /** Relative to the root. */
  path: string;
  /** Symbolic links are reported, never followed. */
  type: 'file' | 'folder' | 'symlink' | 'other';
  /** Size in bytes, for files. */
  size?: number;
}

export interface ListResult {
  entries: ListEntry[];
  /** The limit cut the listing short. */
  truncated: boolean;
}

export interface WriteResult {
  /** The file written, relative to the root (links resolved). */
  path: string;
  bytes: number;
  /** The file did not exist before. */
  created: boolean;
}

export interface WriteOptions {
  /**
   * Refuse the write (with {@link StaleFileError}) when the file exists and is
   * not as this codebase last read it (or was never read through it), checked
   * when the write starts and again right before its rename. The file tools
   * always set it, so a model never overwrites what it has not seen.
   * @default false
   */
  unchangedSinceRead?: boolean;
}

export interface EditOptions {
  /** Replace every occurrence; without it the text must occur exactly once. @default false */
  replaceAll?: boolean;
}

export interface EditResult {
  path: string;
  replacements: number;
  /** The line numbers (in the new content) where the replacements start. */
  lines: number[];
  /** A few lines around the first replacement, as they are now. */
  snippet: string;
  bytes: number;
}

export interface LockFileOptions {
  /** How long to wait for another agent's lock. @default the codebase's `lockWaitMs` */
  waitMs?: number;
  signal?: AbortSignal;
}

const MAX_LIST_LIMIT = 10_000;

/**
 * A folder of source code that an agent may read, list, search and (when
 * allowed) write, confined to its root: every path is resolved by
 * {@link resolveConfined} (no `..`, no absolute paths, no drive or UNC
 * prefixes, no NUL, no symbolic link leading out, anywhere along the path),
 * and checked again when the file is opened (`O_NOFOLLOW`, and the opened
 * descriptor's real path). See docs/codebase.md.
 *
 * Writes replace the file by temp + rename in its folder, never through a
 * symbolic link. With {@link CodebaseOptions.locks}, a write holds the file's
 * resource lock: one the agent took with {@link lock} (for several edits), or
 * one taken for that write alone. A write through a lost lock is refused.
 *
 * @example
 * const codebase = new Codebase('/repo', { locks, owner: 'w1', allowWrite: true });
 * const tools = codebaseTools(codebase); // read_file, list_files, search_code, write_file
 */
export class Codebase {
  /** The root's real path. */
  readonly root: string;
  readonly owner: string;
  readonly allowWrite: boolean;
  readonly maxReadBytes: number;
  readonly maxWriteBytes: number;
  readonly lockWaitMs: number;
  readonly locks: ResourceLocks | undefined;
  private readonly rootGiven: string;
  private readonly skip: ReadonlySet<string>;
  private readonly maxSearchFileBytes: number;
  /** Lock folders inside the root (relative): never listed, searched, read or written. */
  private readonly lockFolders: string[];
  private readonly held = new Map<string, ResourceLock>();
  /** The file as this codebase last read or wrote it (inode, size, times), by relative path. */
  private readonly seen = new Map<string, string>();

  constructor(root: string, options: CodebaseOptions = {}) {
    this.rootGiven = root;
    this.root = realRoot(root);
    this.owner = options.owner ?? `process-${process.pid}`;
    assertValidId('agent', this.owner);
    this.allowWrite = options.allowWrite ?? false;
    this.maxReadBytes = positiveInteger('maxReadBytes', options.maxReadBytes, 256 * 1024);
    this.maxWriteBytes = positiveInteger('maxWriteBytes', options.maxWriteBytes, 1024 * 1024);
    this.maxSearchFileBytes = positiveInteger('maxSearchFileBytes', options.maxSearchFileBytes, 1024 * 1024);
    this.lockWaitMs = options.lockWaitMs ?? 5000;
    if (!Number.isFinite(this.lockWaitMs) || this.lockWaitMs < 0) {
      throw new ValidationError(`lockWaitMs must be a number >= 0, got ${describeValue(options.lockWaitMs)}`);
    }
    this.skip = new Set(options.skip ?? ['.git', 'node_modules', '.agents']);
    this.locks = options.locks;
    this.lockFolders = [DEFAULT_LOCK_FOLDER];
    if (this.locks) {
      if (this.locks.root !== this.root) {
        throw new ValidationError(
          `the resource locks are for root "${this.locks.root}", not this codebase's root "${this.root}": ` +
            'create them with { root } set to the same folder',
        );
      }
      const lockDir = safeRealpath(this.locks.lockDir);
      if (isInside(this.root, lockDir)) this.lockFolders.push(toPosix(path.relative(this.root, lockDir)));
    }
  }

  /**
   * The absolute real path of `relativePath`, which must stay inside the root.
   * @throws PathOutsideRootError when it escapes the root.
   */
  resolve(relativePath: string): string {
    return this.confine(relativePath).absolute;
  }

  /** `relativePath` normalised: relative to the root's real path, links resolved, `/`-separated. */
  relative(relativePath: string): string {
    return this.confine(relativePath).relative;
  }

  /** Reads lines of a text file. */
  async read(target: string, options: ReadOptions = {}): Promise<ReadResult> {
    const offset = positiveInteger('offset', options.offset, 1);
    const limit = positiveInteger('limit', options.limit, 2000);
    const resolved = this.confine(target);
    this.refuseLockFolder(resolved, target, 'read');
    refuseGit(resolved, target, 'read');
    if (!resolved.exists) {
      throw new CodebaseAccessError(`file ${describeValue(target)} does not exist in the codebase: list the folder to see what is there`);
    }
    const handle = await this.openForRead(resolved, target);
    try {
      const stat = await handle.stat({ bigint: true });
      this.seen.set(resolved.relative, statMark(stat));
      return { path: resolved.relative, size: Number(stat.size), ...(await readLines(handle, target, offset, limit, this.maxReadBytes)) };
    } finally {
      await handle.close();
    }
  }

  /** Lists a folder (the root by default). */
  async list(dir = '.', options: ListOptions = {}): Promise<ListResult> {
    const limit = Math.min(positiveInteger('limit', options.limit, 500), MAX_LIST_LIMIT);
    const start = this.confineFolder(dir, 'list');
    const entries: ListEntry[] = [];
    const queue: string[] = [start.relative];
    while (queue.length > 0) {
      const relative = queue.shift() as string;
      for (const dirent of await this.readFolder(relative)) {
        const childPath = relative === '' ? dirent.name : `${relative}/${dirent.name}`;
        if (this.isSkipped(dirent.name, childPath)) continue;
        if (entries.length >= limit) return { entries, truncated: true };
        if (dirent.isSymbolicLink()) {
          entries.push({ path: childPath, type: 'symlink' });
        } else if (dirent.isDirectory()) {
          entries.push({ path: childPath, type: 'folder' });
          if (options.recursive) queue.push(childPath);
        } else if (dirent.isFile()) {
          const size = await fs.promises.lstat(path.join(this.root, childPath)).then((s) => s.size, () => undefined);
          entries.push(size === undefined ? { path: childPath, type: 'file' } : { path: childPath, type: 'file', size });
        } else {
          entries.push({ path: childPath, type: 'other' });
        }
      }
    }
    return { entries, truncated: false };
  }

  /** Searches text files for a plain string or a regular expression (see search.ts). */
  async search(pattern: string, options: SearchOptions = {}): Promise<SearchResult> {
    return searchFiles(
      {
        confineFolder: (dir, action) => this.confineFolder(dir, action),
        readFolder: (relative) => this.readFolder(relative),
        isSkipped: (name, relative) => this.isSkipped(name, relative),
        readText: (relative) => this.readForSearch(relative),
      },
      pattern,
      options,
    );
  }

  /**
   * Replaces (or creates) a file with `content`: temp file + rename in the
   * target's folder, missing folders created. Needs `allowWrite`. With
   * resource locks, holds the file's lock for the write: the one taken with
   * {@link lock}, or one taken now and released after (waiting up to
   * `lockWaitMs`). The lock is checked again right before the rename.
   *
   * @throws CodebaseAccessError when writing is not allowed here, or the lock was lost.
   * @throws ResourceLockedError when another agent holds the file's lock.
   */
  async write(target: string, content: string, options: WriteOptions = {}): Promise<WriteResult> {
    if (!this.allowWrite) {
      throw new CodebaseAccessError(
        `write to ${describeValue(target)} refused: this codebase is read-only for agent "${this.owner}" (allowWrite is off)`,
      );
    }
    if (typeof content !== 'string') {
      throw new ValidationError(`content for ${describeValue(target)} must be a string, got ${describeValue(content)}`);
    }
    const bytes = Buffer.byteLength(content);
    if (bytes > this.maxWriteBytes) {
      throw new ValidationError(`content for ${describeValue(target)} is ${bytes} bytes, over the limit of ${this.maxWriteBytes} bytes`);
    }
    const resolved = this.confine(target);
    this.refuseProtected(resolved, target);
    const before = resolved.exists ? fs.statSync(resolved.absolute) : undefined;
    if (before?.isDirectory()) {
      throw new CodebaseAccessError(`write to ${describeValue(target)} refused: it is a folder`);
    }
    const expected = options.unchangedSinceRead ? this.seen.get(resolved.relative) : undefined;
    const checkFresh = (mark: string | undefined) => {
      if (!options.unchangedSinceRead || mark === undefined) return;
      if (expected === undefined) {
        throw new StaleFileError(`write to ${describeValue(target)} refused: it exists and you have not read it; read it first, then write or edit it`);
      }
      if (mark !== expected) {
        throw new StaleFileError(
          `write to ${describeValue(target)} refused: it changed since you last read it (another agent, a command or a merge); read it again, then write or edit it`,
        );
      }
    };
    checkFresh(before ? fileMark(resolved.absolute) : undefined);

    let lock = this.heldLock(resolved.relative);
    let temporary = false;
    if (this.locks && !lock) {
      lock = await this.locks.acquire(resolved.relative, { owner: this.owner, waitMs: this.lockWaitMs });
      temporary = true;
    }
    try {
      this.assertLock(lock, target);
      // On Linux the folder is pinned by a descriptor and every step below goes
      // through it (/proc/self/fd/N/name), so a folder swapped for a link while
      // the write runs cannot send a folder, temp file or rename outside.
      const pinned = this.openFolder(resolved, target);
      const folder = pinned === undefined ? this.prepareFolder(resolved, target) : `/proc/self/fd/${pinned}`;
      const name = path.basename(resolved.absolute);
      const temp = path.join(folder, `.${name}.${uniqueSuffix()}.agent-team.tmp`);
      try {
        const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, 0o666);
        try {
          try {
            try {
              assertOpenedInside(fd, this.root, temp, target);
            } catch (err) {
              // The temp file was made outside (its folder swapped for a link after the check): remove it where it is.
              removeOpened(fd);
              throw err;
            }
            fs.writeFileSync(fd, content);
            if (before) fs.fchmodSync(fd, before.mode & 0o7777);
          } finally {
            fs.closeSync(fd);
          }
          // The commit point: the lock must still be ours, the file as it was read, and the folder still inside the root.
          this.assertLock(lock, target);
          checkFresh(fileMark(path.join(folder, name)));
          const where = safeRealpath(folder);
          if (pinned === undefined ? where !== folder : !isInside(this.root, where)) {
            throw new CodebaseAccessError(`write to ${describeValue(target)} refused: its folder was moved or replaced while writing`);
          }
          fs.renameSync(temp, path.join(folder, name));
          const written = fileMark(path.join(folder, name));
          if (written !== undefined) this.seen.set(resolved.relative, written);
        } finally {
          fs.rmSync(temp, { force: true });
        }
      } finally {
        if (pinned !== undefined) fs.closeSync(pinned);
      }
      return { path: resolved.relative, bytes, created: before === undefined };
    } finally {
      if (temporary) await lock?.release();
    }
  }

  /**
   * Replaces `oldString` with `newString` in a text file: exactly one
   * occurrence, or every one with `replaceAll`. The file must be as this
   * codebase last read it (see {@link WriteOptions.unchangedSinceRead}); the
   * new content is written whole by {@link write}, or not at all.
   *
   * @throws CodebaseAccessError when the text is not found or is ambiguous (the message says how many and where).
   * @throws StaleFileError when the file changed since it was read.
   */
  async edit(target: string, oldString: string, newString: string, options: EditOptions = {}): Promise<EditResult> {
    if (typeof oldString !== 'string' || oldString === '') {
      throw new ValidationError(`old_string for ${describeValue(target)} must be a non-empty string, got ${describeValue(oldString)}`);
    }
    if (typeof newString !== 'string') {
      throw new ValidationError(`new_string for ${describeValue(target)} must be a string, got ${describeValue(newString)}`);
    }
    if (oldString === newString) {
      throw new ValidationError(`old_string and new_string for ${describeValue(target)} are the same: nothing to change`);
    }
    const resolved = this.confine(target);
    this.refuseProtected(resolved, target);
    if (!resolved.exists) {
      throw new CodebaseAccessError(`cannot edit ${describeValue(target)}: it does not exist; create it with write_file`);
    }
    const expected = this.seen.get(resolved.relative);
    const handle = await this.openForRead(resolved, target);
    let text: string;
    try {
      const stat = await handle.stat({ bigint: true });
      if (expected === undefined) {
        throw new StaleFileError(`cannot edit ${describeValue(target)}: you have not read it; read it first, then edit it`);
      }
      if (statMark(stat) !== expected) {
        throw new StaleFileError(
          `cannot edit ${describeValue(target)}: it changed since you last read it (another agent, a command or a merge); read it again, then edit it`,
        );
      }
      if (Number(stat.size) > this.maxWriteBytes) {
        throw new CodebaseAccessError(`cannot edit ${describeValue(target)}: it is ${stat.size} bytes, over the write limit of ${this.maxWriteBytes}`);
      }
      const data = await handle.readFile();
      if (data.subarray(0, 8000).includes(0)) throw new CodebaseAccessError(`cannot edit ${describeValue(target)}: it is a binary file`);
      text = data.toString('utf8');
    } finally {
      await handle.close();
    }
    const at: number[] = [];
    for (let i = text.indexOf(oldString); i !== -1; i = text.indexOf(oldString, i + oldString.length)) at.push(i);
    const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
    if (at.length === 0) {
      throw new CodebaseAccessError(
        `old_string was not found in ${describeValue(target)} (${text.split('\n').length} lines): it must match the file exactly, ` +
          'whitespace and indentation included; read the lines again and copy them',
      );
    }
    if (at.length > 1 && !options.replaceAll) {
      const where = at.slice(0, 10).map(lineOf).join(', ');
      throw new CodebaseAccessError(
        `old_string occurs ${at.length} times in ${describeValue(target)} (at lines ${where}${at.length > 10 ? ', ...' : ''}): ` +
          'include more of the surrounding lines so it occurs once, or set replace_all to change every one',
      );
    }
    let next = '';
    let last = 0;
    const lines: number[] = [];
    for (const offset of at) {
      next += text.slice(last, offset);
      lines.push(next.split('\n').length);
      next += newString;
      last = offset + oldString.length;
    }
    next += text.slice(last);
    const written = await this.write(target, next, { unchangedSinceRead: true });
    const all = next.split('\n');
    const first = (lines[0] ?? 1) - 1;
    const end = first + newString.split('\n').length;
    const snippet = all
      .slice(Math.max(0, first - 2), Math.min(all.length, end + 2))
      .map((line, i) => `${Math.max(0, first - 2) + i + 1}: ${line}`)
      .join('\n');
    return { path: written.path, replacements: at.length, lines, snippet, bytes: written.bytes };
  }

  /**
   * Takes the resource lock on `target` for this codebase's owner and keeps it
   * until {@link unlock}: writes to that file then use it. Taking a lock the
   * codebase already holds returns it.
   */
  async lock(target: string, options: LockFileOptions = {}): Promise<ResourceLock> {
    if (!this.locks) {
      throw new CodebaseAccessError(
        `cannot lock ${describeValue(target)}: this codebase has no resource locks; create it with { locks: new ResourceLocks({ root }) }`,
      );
    }
    const key = this.locks.keyOf(this.confine(target).relative);
    const existing = this.heldLock(key);
    if (existing && !existing.lost) return existing;
    // A lost lock is given up first (it cleans up only what is still ours), then taken afresh.
    await existing?.release();
    const acquireOptions = { owner: this.owner, waitMs: options.waitMs ?? this.lockWaitMs };
    const lock = await this.locks.acquire(key, options.signal ? { ...acquireOptions, signal: options.signal } : acquireOptions);
    this.held.set(key, lock);
    return lock;
  }

  /** Releases the lock taken with {@link lock} on `target`, if any. */
  async unlock(target: string): Promise<void> {
    const key = this.confine(target).relative;
    const lock = this.held.get(key);
    this.held.delete(key);
    await lock?.release();
  }

  /** Releases every lock taken with {@link lock}. */
  async unlockAll(): Promise<void> {
    const locks = [...this.held.values()];
    this.held.clear();
    await Promise.all(locks.map((lock) => lock.release()));
  }

  private confine(target: string): ConfinedPath {
    // Re-resolve the root too: a root swapped for a link after construction must not move the confinement.
    const now = safeRealpath(path.resolve(this.rootGiven));
    if (now !== this.root) {
      throw new CodebaseAccessError(
        `the codebase root "${this.rootGiven}" now resolves to "${now}" instead of "${this.root}": it was moved or replaced; open the codebase again`,
      );
    }
    return resolveConfined(this.root, target);
  }

  private confineFolder(dir: string, action: string): ConfinedPath {
    const resolved = this.confine(dir);
    this.refuseLockFolder(resolved, dir, action);
    refuseGit(resolved, dir, action);
    if (!resolved.exists) {
      throw new CodebaseAccessError(`cannot ${action} ${describeValue(dir)}: it does not exist in the codebase`);
    }
    if (!fs.statSync(resolved.absolute).isDirectory()) {
      throw new CodebaseAccessError(`cannot ${action} ${describeValue(dir)}: it is a file, not a folder (read it instead)`);
    }
    return resolved;
  }

  private heldLock(key: string): ResourceLock | undefined {
    const lock = this.held.get(key);
    if (lock?.released) {
      this.held.delete(key);
      return undefined;
    }
    return lock;
  }

  private assertLock(lock: ResourceLock | undefined, target: string): void {
    if (!lock) return;
    try {
      lock.assertHeld();
    } catch (err) {
      throw new CodebaseAccessError(`write to ${describeValue(target)} refused, nothing was written: ${errorMessage(err)}`, { cause: err });
    }
  }

  private inLockFolder(relative: string): boolean {
    return this.lockFolders.some((folder) => within(relative, folder));
  }

  private refuseLockFolder(resolved: ConfinedPath, shown: string, action: string): void {
    if (this.inLockFolder(resolved.relative)) {
      throw new CodebaseAccessError(`cannot ${action} ${describeValue(shown)}: it is inside the lock folder, which agents do not touch`);
    }
  }

  private refuseProtected(resolved: ConfinedPath, shown: string): void {
    if (resolved.relative === '') {
      throw new CodebaseAccessError(`write to ${describeValue(shown)} refused: it is the codebase root; name a file`);
    }
    this.refuseLockFolder(resolved, shown, 'write');
    refuseGit(resolved, shown, 'write');
  }

  private isSkipped(name: string, relative: string): boolean {
    // .git is never listed or searched into, whatever the skip option says (it is refused for read and write too).
    return name.toLowerCase() === '.git' || this.skip.has(name) || this.inLockFolder(relative);
  }

  private async readFolder(relative: string): Promise<fs.Dirent[]> {
    const absolute = path.join(this.root, relative);
    // A folder swapped for a link since it was listed by its parent: do not follow it.
    if (safeRealpath(absolute) !== absolute) return [];
    let dirents: fs.Dirent[];
    try {
      dirents = await fs.promises.readdir(absolute, { withFileTypes: true });
    } catch {
      return []; // removed meanwhile, or unreadable: nothing to show
    }
    return dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Opens a file without following a final link, checks where it really is, and that it is a regular file. */
  private async openForRead(resolved: ConfinedPath, shown: string): Promise<FileHandle> {
    let handle: FileHandle;
    try {
      handle = await fs.promises.open(resolved.absolute, fs.constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      throw new CodebaseAccessError(`cannot read ${describeValue(shown)}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      assertOpenedInside(handle.fd, this.root, resolved.absolute, shown);
      const stat = await handle.stat();
      if (stat.isDirectory()) throw new CodebaseAccessError(`cannot read ${describeValue(shown)}: it is a folder (list it instead)`);
      if (!stat.isFile()) throw new CodebaseAccessError(`cannot read ${describeValue(shown)}: it is not a regular file`);
      return handle;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** A file's text for search, or undefined when it is binary, too large or unreadable. */
  private async readForSearch(relative: string): Promise<string | undefined> {
    const absolute = path.join(this.root, relative);
    let handle: FileHandle;
    try {
      handle = await fs.promises.open(absolute, fs.constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      assertOpenedInside(handle.fd, this.root, absolute, relative);
      const stat = await handle.stat();
      if (!stat.isFile() || stat.size > this.maxSearchFileBytes) return undefined;
      const data = await handle.readFile();
      if (data.subarray(0, 8000).includes(0)) return undefined;
      return data.toString('utf8');
    } catch {
      return undefined;
    } finally {
      await handle.close();
    }
  }


  /**
   * Linux: a descriptor on the target's folder, walked from the root one part
   * at a time, each opened through its parent's descriptor without following
   * a link and created there when missing. Undefined where /proc/self/fd is
   * not available (the path-based {@link prepareFolder} is used instead).
   */
  private openFolder(resolved: ConfinedPath, shown: string): number | undefined {
    if (!PROC_FD) return undefined;
    const folderRelative = path.posix.dirname(resolved.relative);
    const flags = fs.constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
    let fd = fs.openSync(this.root, fs.constants.O_RDONLY | O_DIRECTORY);
    try {
      for (const part of folderRelative === '.' ? [] : folderRelative.split('/')) {
        const at = `/proc/self/fd/${fd}/${part}`;
        let child: number;
        try {
          child = fs.openSync(at, flags);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ELOOP' || code === 'ENOTDIR') {
            throw new CodebaseAccessError(`write to ${describeValue(shown)} refused: "${part}" on its way is not a folder (a link or a file)`);
          }
          if (code !== 'ENOENT') throw err;
          try {
            fs.mkdirSync(at);
          } catch (mkdirError) {
            if ((mkdirError as NodeJS.ErrnoException).code !== 'EEXIST') throw mkdirError;
          }
          child = fs.openSync(at, flags);
        }
        fs.closeSync(fd);
        fd = child;
      }
      return fd;
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /**
   * The target's folder, its missing parts created one at a time. Each part is
   * checked before going on (a real folder, not a link, whose real path is
   * where it should be), so a folder swapped for a link outside the root
   * while the write runs stops the walk there; a folder that was nonetheless
   * made outside (the swap fell between the check and the mkdir) is removed
   * again before the write is refused.
   */
  private prepareFolder(resolved: ConfinedPath, shown: string): string {
    const folder = path.dirname(resolved.absolute);
    const folderRelative = path.posix.dirname(resolved.relative);
    const changed = () => new CodebaseAccessError(`write to ${describeValue(shown)} refused: its folder changed while it was being created`);
    let current = this.root;
    for (const part of folderRelative === '.' ? [] : folderRelative.split('/')) {
      const next = path.join(current, part);
      let created = false;
      if (!fs.lstatSync(next, { throwIfNoEntry: false })) {
        try {
          fs.mkdirSync(next);
          created = true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      const real = safeRealpath(next);
      if (real !== next || !fs.lstatSync(next, { throwIfNoEntry: false })?.isDirectory()) {
        if (created && real !== next && !isInside(this.root, real)) removeEmptyFolder(real);
        throw changed();
      }
      current = next;
    }
    if (current !== folder) throw changed();
    return folder;
  }
}

/**
 * Refuses a path with a `.git` component at any depth (the root's, a nested
 * repository's or submodule's, a worktree's `.git` file): its hooks and
 * config (`core.fsmonitor`, `core.hooksPath`) run code on the next git
 * command, and its config may hold credentials. Checked on the resolved path,
 * so a link to a `.git` folder is caught too; case-insensitively, for
 * case-insensitive file systems.
 */
function refuseGit(resolved: ConfinedPath, shown: string, action: string): void {
  if (resolved.relative.toLowerCase().split('/').includes('.git')) {
    throw new CodebaseAccessError(
      `cannot ${action} ${describeValue(shown)}: paths inside a .git folder (at any depth) are not for agents; use the codebase's files`,
    );
  }
}

function within(relative: string, folder: string): boolean {
  return relative === folder || relative.startsWith(`${folder}/`);
}

function toPosix(p: string): string {
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}

/** Removes the file open on `fd` by its real path (Linux's /proc/self/fd), wherever it ended up. */
/** What tells one version of a file from another: inode (a rename replaces it), size, and change and modify times in ns. */
function statMark(stat: fs.BigIntStats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

function fileMark(absolute: string): string | undefined {
  const stat = fs.statSync(absolute, { bigint: true, throwIfNoEntry: false });
  return stat ? statMark(stat) : undefined;
}

const PROC_FD = process.platform === 'linux' && fs.existsSync('/proc/self/fd');
const O_DIRECTORY = fs.constants.O_DIRECTORY ?? 0;

function removeOpened(fd: number): void {
  try {
    fs.unlinkSync(fs.readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    // no /proc, or already gone
  }
}

/** Removes a folder this process just made by mistake (through a swapped link), if it is still empty. */
function removeEmptyFolder(p: string): void {
  try {
    fs.rmdirSync(p);
  } catch {
    // not empty (someone else's now) or gone: leave it
  }
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return p;
  }
}

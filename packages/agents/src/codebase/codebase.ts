import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import {
  AgentTeamError,
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
import { type GlobMatcher, compileGlob } from './glob.js';
import { compileLinear } from './patterns.js';

/**
 * A refused file operation that is not a confinement problem: writing without
 * `allowWrite`, writing into `.git` or the lock folder, reading a folder or a
 * binary file, a lost lock. The message says what to do instead; nothing was
 * written.
 */
export class CodebaseAccessError extends AgentTeamError {}

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
  /**
   * The longest one search runs, in milliseconds: past it the search stops and
   * says so. A search also yields to the event loop every few milliseconds, so
   * heartbeats and other agents' work go on while it runs.
   * @default 30_000
   */
  maxSearchMs?: number;
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

export interface SearchOptions {
  /** Treat the pattern as a JavaScript regular expression. @default false (plain text) */
  regex?: boolean;
  /** Ignore case. @default false */
  ignoreCase?: boolean;
  /** Only files matching this glob: `*.ts` (any depth) or `src/**\/*.ts` (from the root). */
  glob?: string;
  /** The folder to search in, relative to the root. @default the root */
  path?: string;
  /** The most matches to return. @default 100 */
  limit?: number;
}

export interface SearchMatch {
  path: string;
  /** Line number, from 1. */
  line: number;
  /** The line, cut to 300 characters. */
  text: string;
}

export interface SearchResult {
  matches: SearchMatch[];
  /** The match limit, the file budget or the time budget cut the search short. */
  truncated: boolean;
  /** What cut it short, when {@link truncated}. */
  stoppedBy?: 'matches' | 'files' | 'time';
  filesSearched: number;
  /** Files skipped as binary or too large. */
  filesSkipped: number;
}

export interface WriteResult {
  /** The file written, relative to the root (links resolved). */
  path: string;
  bytes: number;
  /** The file did not exist before. */
  created: boolean;
}

export interface LockFileOptions {
  /** How long to wait for another agent's lock. @default the codebase's `lockWaitMs` */
  waitMs?: number;
  signal?: AbortSignal;
}

const MAX_LIST_LIMIT = 10_000;
const MAX_SEARCH_LIMIT = 1000;
/** Search stops after this many files, so one call on a huge tree stays bounded. */
const MAX_FILES_SEARCHED = 20_000;
/** Regular expressions are tested on at most this much of a line, bounding the cost of a bad pattern. */
const MAX_REGEX_LINE = 2000;
const MATCH_TEXT = 300;
/** A search gives the event loop a turn after this much work. */
const SEARCH_SLICE_MS = 10;
const CHUNK = 64 * 1024;

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
  private readonly maxSearchMs: number;
  /** Lock folders inside the root (relative): never listed, searched, read or written. */
  private readonly lockFolders: string[];
  private readonly held = new Map<string, ResourceLock>();

  constructor(root: string, options: CodebaseOptions = {}) {
    this.rootGiven = root;
    this.root = realRoot(root);
    this.owner = options.owner ?? `process-${process.pid}`;
    assertValidId('agent', this.owner);
    this.allowWrite = options.allowWrite ?? false;
    this.maxReadBytes = positiveInteger('maxReadBytes', options.maxReadBytes, 256 * 1024);
    this.maxWriteBytes = positiveInteger('maxWriteBytes', options.maxWriteBytes, 1024 * 1024);
    this.maxSearchFileBytes = positiveInteger('maxSearchFileBytes', options.maxSearchFileBytes, 1024 * 1024);
    this.maxSearchMs = positiveInteger('maxSearchMs', options.maxSearchMs, 30_000);
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
    if (!resolved.exists) {
      throw new CodebaseAccessError(`file ${describeValue(target)} does not exist in the codebase: list the folder to see what is there`);
    }
    const handle = await this.openForRead(resolved, target);
    try {
      const size = (await handle.stat()).size;
      return { path: resolved.relative, size, ...(await this.readLines(handle, target, offset, limit)) };
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

  /**
   * Searches text files for a plain string or a regular expression (run in
   * linear time, see patterns.ts). The search yields to the event loop every
   * few milliseconds and stops at the time budget (`maxSearchMs`).
   */
  async search(pattern: string, options: SearchOptions = {}): Promise<SearchResult> {
    const test = this.lineMatcher(pattern, options);
    const glob: GlobMatcher | undefined = options.glob === undefined ? undefined : compileGlob(options.glob);
    const limit = Math.min(positiveInteger('limit', options.limit, 100), MAX_SEARCH_LIMIT);
    const start = this.confineFolder(options.path ?? '.', 'search');
    const result: SearchResult = { matches: [], truncated: false, filesSearched: 0, filesSkipped: 0 };
    const began = performance.now();
    let sliceStart = began;
    const stop = (by: NonNullable<SearchResult['stoppedBy']>): SearchResult => {
      result.truncated = true;
      result.stoppedBy = by;
      return result;
    };
    /** Gives the loop a turn when this slice is used up; false when the whole budget is. */
    const breathe = async (): Promise<boolean> => {
      const now = performance.now();
      if (now - sliceStart < SEARCH_SLICE_MS) return true;
      if (now - began >= this.maxSearchMs) return false;
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
      return true;
    };
    const queue: string[] = [start.relative];
    while (queue.length > 0) {
      const relative = queue.shift() as string;
      for (const dirent of await this.readFolder(relative)) {
        const childPath = relative === '' ? dirent.name : `${relative}/${dirent.name}`;
        if (this.isSkipped(dirent.name, childPath) || dirent.isSymbolicLink()) continue;
        if (dirent.isDirectory()) {
          queue.push(childPath);
          continue;
        }
        if (!dirent.isFile() || (glob && !glob.matches(childPath))) continue;
        if (result.filesSearched >= MAX_FILES_SEARCHED) return stop('files');
        if (!(await breathe())) return stop('time');
        const text = await this.readForSearch(childPath);
        if (text === undefined) {
          result.filesSkipped += 1;
          continue;
        }
        result.filesSearched += 1;
        const lines = text.split('\n');
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i] as string;
          if (!(await breathe())) return stop('time');
          if (!test(line)) continue;
          if (result.matches.length >= limit) return stop('matches');
          const shown = line.replace(/\r$/, '');
          result.matches.push({ path: childPath, line: i + 1, text: shown.length > MATCH_TEXT ? `${shown.slice(0, MATCH_TEXT)}...` : shown });
        }
      }
    }
    return result;
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
  async write(target: string, content: string): Promise<WriteResult> {
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

    let lock = this.heldLock(resolved.relative);
    let temporary = false;
    if (this.locks && !lock) {
      lock = await this.locks.acquire(resolved.relative, { owner: this.owner, waitMs: this.lockWaitMs });
      temporary = true;
    }
    try {
      this.assertLock(lock, target);
      const folder = this.prepareFolder(resolved, target);
      const temp = path.join(folder, `.${path.basename(resolved.absolute)}.${uniqueSuffix()}.agent-team.tmp`);
      const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, 0o666);
      try {
        try {
          assertOpenedInside(fd, this.root, temp, target);
          fs.writeFileSync(fd, content);
          if (before) fs.fchmodSync(fd, before.mode & 0o7777);
        } finally {
          fs.closeSync(fd);
        }
        // The commit point: the lock must still be ours, and the folder still the one checked.
        this.assertLock(lock, target);
        if (safeRealpath(folder) !== folder) {
          throw new CodebaseAccessError(`write to ${describeValue(target)} refused: its folder was moved or replaced while writing`);
        }
        fs.renameSync(temp, resolved.absolute);
      } finally {
        fs.rmSync(temp, { force: true });
      }
      return { path: resolved.relative, bytes, created: before === undefined };
    } finally {
      if (temporary) await lock?.release();
    }
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
    const resolved = resolveConfined(this.root, target);
    // A .git folder at any depth (the root's, a nested repository's or a submodule's) holds hooks and
    // config that git runs (core.fsmonitor, hooks): never an agent's to read or write, by name or through a link.
    if (hasGitSegment(target) || hasGitSegment(resolved.relative)) {
      throw new CodebaseAccessError(
        `access to ${describeValue(target)} refused: files under .git are not writable or readable by agents, at any depth`,
      );
    }
    return resolved;
  }

  private confineFolder(dir: string, action: string): ConfinedPath {
    const resolved = this.confine(dir);
    this.refuseLockFolder(resolved, dir, action);
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
    // A file under .git can run code (hooks) or rewrite history: never an agent's to write.
    if (within(resolved.relative.toLowerCase(), '.git')) {
      throw new CodebaseAccessError(`write to ${describeValue(shown)} refused: files under .git are not writable by agents`);
    }
  }

  private isSkipped(name: string, relative: string): boolean {
    return this.skip.has(name) || name.toLowerCase() === '.git' || this.inLockFolder(relative);
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

  private async readLines(
    handle: FileHandle,
    shown: string,
    offset: number,
    limit: number,
  ): Promise<Omit<ReadResult, 'path' | 'size'>> {
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.alloc(CHUNK);
    const lines: string[] = [];
    let bytes = 0;
    let lineNo = 1;
    let pending = '';
    let position = 0;
    let nextOffset: number | undefined;
    let cutLine: number | undefined;

    /** Takes one complete line; true when the window is full. */
    const take = (line: string): boolean => {
      if (lineNo < offset) {
        lineNo += 1;
        return false;
      }
      const size = Buffer.byteLength(line) + 1;
      if (lines.length >= limit || (lines.length > 0 && bytes + size > this.maxReadBytes)) {
        nextOffset = lineNo;
        return true;
      }
      lines.push(line);
      bytes += size;
      lineNo += 1;
      return false;
    };
    const result = (totalLines: number | undefined) => ({
      content: lines.join('\n'),
      startLine: offset,
      endLine: offset + lines.length - 1,
      totalLines,
      truncated: nextOffset !== undefined,
      nextOffset,
      cutLine,
    });

    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
      if (bytesRead === 0) break;
      if (position === 0 && buffer.subarray(0, Math.min(bytesRead, 8000)).includes(0)) {
        throw new CodebaseAccessError(`cannot read ${describeValue(shown)}: it looks binary (it contains NUL bytes); only text files can be read`);
      }
      position += bytesRead;
      const text = pending + decoder.write(buffer.subarray(0, bytesRead));
      let start = 0;
      for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
        const line = text.slice(start, newline);
        start = newline + 1;
        if (take(line)) return result(undefined);
      }
      // A line before the window needs no text; one inside it is capped so one huge line cannot eat memory.
      pending = lineNo < offset ? '' : text.slice(start);
      if (pending.length > this.maxReadBytes) {
        if (lines.length > 0) {
          nextOffset = lineNo; // the long line starts the next window
        } else {
          lines.push(Buffer.from(pending).subarray(0, this.maxReadBytes).toString());
          cutLine = lineNo;
          nextOffset = lineNo + 1; // the rest of this one line is skipped
        }
        return result(undefined);
      }
    }
    const rest = pending + decoder.end();
    if (rest !== '' && take(rest)) return result(undefined);
    return result(lineNo - 1);
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

  private lineMatcher(pattern: unknown, options: SearchOptions): (line: string) => boolean {
    if (typeof pattern !== 'string' || pattern === '') {
      throw new ValidationError(`search pattern must be a non-empty string, got ${describeValue(pattern)}`);
    }
    if (!options.regex) {
      if (!options.ignoreCase) return (line) => line.includes(pattern);
      const lower = pattern.toLowerCase();
      return (line) => line.toLowerCase().includes(lower);
    }
    // Linear time whatever the pattern (see patterns.ts); the line cap bounds the cost of one test.
    const regex = compileLinear(pattern, { ignoreCase: options.ignoreCase ?? false });
    return (line) => regex.test(line.length > MAX_REGEX_LINE ? line.slice(0, MAX_REGEX_LINE) : line);
  }

  /**
   * The target's folder, created if missing, and checked to be inside the root
   * after creation (a link planted at a new folder's name is caught here).
   */
  private prepareFolder(resolved: ConfinedPath, shown: string): string {
    const folder = path.dirname(resolved.absolute);
    const folderRelative = path.posix.dirname(resolved.relative);
    if (!fs.existsSync(folder)) fs.mkdirSync(folder, { recursive: true });
    const again = resolveConfined(this.root, folderRelative === '.' ? '.' : folderRelative);
    if (!again.exists || again.absolute !== folder || !fs.statSync(folder).isDirectory()) {
      throw new CodebaseAccessError(`write to ${describeValue(shown)} refused: its folder changed while it was being created`);
    }
    return folder;
  }
}

/** True when a path has a `.git` segment (any case, either separator), wherever it is. */
function hasGitSegment(p: string): boolean {
  return typeof p === 'string' && p.split(/[\\/]+/).some((segment) => segment.toLowerCase() === '.git');
}

function within(relative: string, folder: string): boolean {
  return relative === folder || relative.startsWith(`${folder}/`);
}

function toPosix(p: string): string {
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return p;
  }
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${name} must be a whole number >= 1, got ${describeValue(value)}`);
  }
  return value;
}

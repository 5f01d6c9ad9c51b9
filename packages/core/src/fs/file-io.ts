import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StorageError, errnoCode } from '../errors.js';

const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW;

/** Reused by {@link FileIO.readText}: most workspace files fit, so a read is one read(2) into it. */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/** The rest of a regular file larger than {@link readBuffer}, after the first buffer's worth was read. */
function readRest(fd: number, size: number): string {
  let buf = Buffer.allocUnsafe(Math.max(size + 1, readBuffer.length * 2));
  readBuffer.copy(buf, 0, 0, readBuffer.length);
  let got = readBuffer.length;
  for (;;) {
    if (got === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, got);
      buf = bigger;
    }
    const n = fs.readSync(fd, buf, got, buf.length - got, null);
    if (n === 0) return buf.toString('utf8', 0, got);
    got += n;
  }
}

/**
 * Something other than a readable regular file where the workspace expects
 * one: a folder, a symlink, a FIFO, a socket or a device someone put there,
 * or a file this process may not read. Readers quarantine it (or skip it)
 * and go on; nothing in the workspace is ever followed through a symlink or
 * blocked on a FIFO.
 */
export class ForeignEntryError extends Error {
  constructor(
    readonly file: string,
    /** 'a folder', 'a symlink', 'a FIFO', 'unreadable', ... */
    readonly kind: string,
  ) {
    super(`${file} is ${kind === 'unreadable' ? 'not readable by this process' : kind}, not a data file`);
    this.name = 'ForeignEntryError';
  }
}

/** What a directory entry is, in words, when it is not a regular file. */
export function describeEntry(stat: Pick<fs.Stats, 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isFile'>): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isSymbolicLink()) return 'a symlink';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return stat.isFile() ? 'a file' : 'a device';
}

/** Disk full, read-only or permission errors of the workspace, as {@link StorageError}; others as they are. */
export function asStorageError(err: unknown, what: string): unknown {
  const code = errnoCode(err);
  if (code === undefined || !STORAGE_CODES.has(code) || err instanceof StorageError) return err;
  return new StorageError(code, what, err);
}

const STORAGE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM']);

/**
 * The few file operations the workspace is built from. Every data file is
 * written to `tmp/` and renamed (or linked) into place, so a reader never sees
 * half a file and a `kill -9` leaves at worst an orphan in `tmp/`, which
 * {@link FileIO.sweepTemp} removes. In durable mode each file is fsynced
 * before it is published, and every folder whose entries changed is fsynced
 * before the operation returns (one fsync per folder per operation, see
 * {@link FileIO.batch}).
 *
 * The calls are synchronous on purpose: each is a few microseconds, and going
 * through libuv's thread pool would cost more than the call itself.
 */
export class FileIO {
  private counter = 0;
  private pendingDirs: Set<string> | null = null;
  private readonly dirFds = new Map<string, number>();

  constructor(
    /** Folder for temp files; must be on the same filesystem as the targets. */
    readonly tmpDir: string,
    /** Unique per process; names temp files so a sweep knows whose they are. */
    readonly writerId: string,
    /** fsync files and folders. @default false */
    readonly durable = false,
  ) {}

  /** A fresh temp path. The `.tmp` suffix keeps watchers from mistaking it for data. */
  tempPath(): string {
    this.counter += 1;
    return path.join(this.tmpDir, `${this.writerId}.${this.counter.toString(36)}.tmp`);
  }

  /**
   * Runs `fn`, then fsyncs each folder it changed (durable mode). Nested calls
   * join the outer batch, so a bulk add pays one fsync per folder.
   */
  batch<T>(fn: () => T): T {
    if (!this.durable || this.pendingDirs) return fn();
    this.pendingDirs = new Set();
    try {
      return fn();
    } finally {
      const dirs = this.pendingDirs;
      this.pendingDirs = null;
      for (const dir of dirs) this.fsyncDir(dir);
    }
  }

  /** Records that `dir`'s entries changed; fsyncs it now unless inside {@link batch}. */
  dirChanged(dir: string): void {
    if (!this.durable) return;
    if (this.pendingDirs) this.pendingDirs.add(dir);
    else this.fsyncDir(dir);
  }

  /** Writes `data` to a new temp file (fsynced in durable mode) and returns its path. */
  writeTempFile(data: string | Uint8Array): string {
    const tmp = this.tempPath();
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      writeFully(fd, data);
      if (this.durable) fs.fsyncSync(fd);
    } catch (err) {
      // A full disk: no torn temp file is left to be published or to hold space.
      fs.closeSync(fd);
      safeUnlink(tmp);
      throw err;
    }
    fs.closeSync(fd);
    return tmp;
  }

  /** Atomically replaces `target` with `data` (temp file + rename). */
  writeAtomic(target: string, data: string | Uint8Array): void {
    const tmp = this.writeTempFile(data);
    try {
      fs.renameSync(tmp, target);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && !fs.existsSync(path.dirname(target))) {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.renameSync(tmp, target);
      } else {
        safeUnlink(tmp);
        throw err;
      }
    }
    this.dirChanged(path.dirname(target));
  }

  /**
   * Publishes `data` at `target` only if nothing is there yet (temp file +
   * link, which is atomic and fails on an existing name). Returns false when
   * `target` already exists; nothing is changed then.
   */
  publishExclusive(target: string, data: string | Uint8Array): boolean {
    const tmp = this.writeTempFile(data);
    try {
      fs.linkSync(tmp, target);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return false;
      throw err;
    } finally {
      safeUnlink(tmp);
    }
    this.dirChanged(path.dirname(target));
    return true;
  }

  /** Creates an empty marker file with O_CREAT|O_EXCL. False if it already exists. */
  createMarker(target: string): boolean {
    let fd: number;
    try {
      fd = fs.openSync(target, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o644);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return false;
      throw err;
    }
    fs.closeSync(fd);
    this.dirChanged(path.dirname(target));
    return true;
  }

  /** rename(2); false when `from` is gone (someone else moved it first). */
  move(from: string, to: string): boolean {
    try {
      fs.renameSync(from, to);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && fs.existsSync(path.dirname(to))) return false;
      if (errnoCode(err) === 'ENOENT' && fs.existsSync(from)) {
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.renameSync(from, to);
      } else if (errnoCode(err) === 'ENOENT') {
        return false;
      } else {
        throw err;
      }
    }
    this.dirChanged(path.dirname(from));
    this.dirChanged(path.dirname(to));
    return true;
  }

  /** unlink(2); false when already gone. */
  remove(target: string): boolean {
    try {
      fs.unlinkSync(target);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
    this.dirChanged(path.dirname(target));
    return true;
  }

  /**
   * The file's text, or null when it does not exist. Anything but a readable
   * regular file throws {@link ForeignEntryError}: the open neither follows a
   * symlink nor waits on a FIFO.
   *
   * Three system calls for a file that is there (open, one read, close): the
   * read goes into a reused buffer, and only an empty read or one that fills
   * the buffer asks fstat what the entry is (an empty file, a FIFO with no
   * writer or a device reads that way). Unless the caller expects the file to
   * be there (`expect: 'present'`), access(2) checks first: for a file that is
   * often missing it is far cheaper than the ENOENT error of a failed open.
   */
  readText(target: string, expect: 'present' | 'absent' = 'absent'): string | null {
    // existsSync does not throw: far cheaper than building an ENOENT error for the common miss.
    // (A dangling symlink reads as missing here; recover's scan quarantines it.)
    if (expect === 'absent' && !fs.existsSync(target)) return null;
    let fd: number;
    try {
      fd = fs.openSync(target, READ_FLAGS);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP') throw new ForeignEntryError(target, 'a symlink');
      if (code === 'EACCES' || code === 'EPERM') throw new ForeignEntryError(target, 'unreadable');
      // ENXIO: a socket (or a FIFO opened for writing elsewhere); nothing to read there.
      if (code === 'ENXIO') throw new ForeignEntryError(target, 'a socket');
      throw err;
    }
    try {
      const n = fs.readSync(fd, readBuffer, 0, readBuffer.length, null);
      if (n > 0 && n < readBuffer.length) return readBuffer.toString('utf8', 0, n);
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new ForeignEntryError(target, describeEntry(st));
      if (n === 0) return '';
      return readRest(fd, st.size);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EISDIR') throw new ForeignEntryError(target, 'a folder');
      if (code === 'EACCES' || code === 'EPERM' || code === 'EIO') throw new ForeignEntryError(target, 'unreadable');
      if (code === 'EAGAIN') throw new ForeignEntryError(target, 'a FIFO');
      throw err;
    } finally {
      fs.closeSync(fd);
    }
  }

  fsyncDir(dir: string): void {
    let fd = this.dirFds.get(dir);
    if (fd === undefined) {
      try {
        fd = fs.openSync(dir, 'r');
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return;
        throw err;
      }
      if (this.dirFds.size > 256) this.closeDirFds();
      this.dirFds.set(dir, fd);
    }
    try {
      fs.fsyncSync(fd);
    } catch (err) {
      // Some filesystems refuse fsync on a directory; the file fsyncs still hold.
      if (errnoCode(err) !== 'EINVAL' && errnoCode(err) !== 'EBADF') throw err;
    }
  }

  private closeDirFds(): void {
    for (const fd of this.dirFds.values()) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.dirFds.clear();
  }

  /**
   * Removes temp files left behind by writers that are gone: a dead process on
   * this host, or anything older than `maxAgeMs`. Returns the removed names.
   */
  sweepTemp(options: { maxAgeMs?: number; host?: string; now?: number } = {}): string[] {
    const maxAgeMs = options.maxAgeMs ?? 60 * 60_000;
    const now = options.now ?? Date.now();
    const removed: string[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.tmpDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return removed;
      throw err;
    }
    for (const name of names) {
      if (name.startsWith(`${this.writerId}.`)) continue;
      const file = path.join(this.tmpDir, name);
      const owner = parseWriterId(name.split('.')[0] ?? '');
      const ownerDead = owner !== null && owner.host === (options.host ?? currentHost()) && !isProcessAlive(owner.pid);
      let old = false;
      if (!ownerDead) {
        const st = fs.statSync(file, { throwIfNoEntry: false });
        old = st !== undefined && now - st.mtimeMs > maxAgeMs;
      }
      if ((ownerDead || old) && safeUnlink(file)) removed.push(name);
    }
    return removed;
  }

  close(): void {
    this.closeDirFds();
  }
}

/**
 * Writes all of `data` at `position` (or the current offset). write(2) may
 * write part of it when the disk fills up; the rest then fails with ENOSPC,
 * so a caller never mistakes a torn file for a whole one.
 */
export function writeFully(fd: number, data: string | Uint8Array, position: number | null = null): number {
  let buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let pos = position;
  let total = 0;
  while (buf.length > 0) {
    const n = fs.writeSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    total += n;
    buf = buf.subarray(n);
    if (pos !== null) pos += n;
  }
  return total;
}

export function safeUnlink(target: string): boolean {
  try {
    fs.unlinkSync(target);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lists a folder; an absent folder is empty, and so is something that is not
 * a folder where one is expected, or one this process may not list
 * (`recover` quarantines such entries).
 */
export function listDir(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM') return [];
    throw err;
  }
}

export function currentHost(): string {
  return sanitizeHost(process.env.AGENT_TEAM_HOST ?? osHostname());
}

function osHostname(): string {
  return os.hostname() || 'localhost';
}

export function sanitizeHost(host: string): string {
  return host.replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+/, '').slice(0, 40) || 'host';
}

/** Writer ids look like `<host>~<pid>~<random>`; `~` never appears in a host or a number. */
export function makeWriterId(random: string): string {
  return `${currentHost()}~${process.pid}~${random}`;
}

export function parseWriterId(writerId: string): { host: string; pid: number } | null {
  const parts = writerId.split('~');
  if (parts.length !== 3) return null;
  const pid = Number(parts[1]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { host: parts[0] ?? '', pid };
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

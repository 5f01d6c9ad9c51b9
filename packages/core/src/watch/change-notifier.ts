import fs from 'node:fs';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import { AbortError, errnoCode } from '../errors.js';

export interface ChangeNotifierOptions {
  /**
   * Watch the signal files with chokidar. Turn off on filesystems where
   * watching does not work (some network and container mounts); waiters then
   * rely on their re-scan timer alone. @default true
   */
  watch?: boolean;
  /** A process rings a given bell at most once per this many ms (a trailing ring follows). @default 2 */
  ringThrottleMs?: number;
}

type Listener = (bell: string) => void;

/**
 * Cross-process wake-ups. Writers "ring a bell" (touch `signals/<bell>`) after
 * making work visible: a task became ready, a message arrived. One chokidar
 * watcher per workspace turns rings into in-process callbacks.
 *
 * Rings are hints only (contract 8): chokidar can miss events (bursts beyond
 * the inotify queue, its own throttling), so every waiter also re-scans on a
 * timer, at start-up and whenever the watcher reports an error. Watching the
 * few small signal files instead of the queue folders keeps the watcher's cost
 * independent of the queue's size.
 */
export class ChangeNotifier {
  private watcher: FSWatcher | null = null;
  private starting: Promise<void> | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly lastRing = new Map<string, number>();
  private readonly trailing = new Map<string, NodeJS.Timeout>();
  private readonly versions = new Map<string, number>();
  private closed = false;
  readonly watching: boolean;
  private readonly throttleMs: number;
  /** Times the watcher failed and waiters were told to re-scan. */
  errors = 0;

  constructor(
    readonly dir: string,
    options: ChangeNotifierOptions = {},
  ) {
    this.watching = options.watch ?? true;
    this.throttleMs = options.ringThrottleMs ?? 2;
  }

  /** Tells every waiter, in every process, that `bell` may have news. */
  ring(bell: string): void {
    const now = Date.now();
    const last = this.lastRing.get(bell) ?? 0;
    if (now - last >= this.throttleMs) {
      this.touch(bell, now);
      return;
    }
    if (this.trailing.has(bell)) return;
    const timer = setTimeout(() => {
      this.trailing.delete(bell);
      if (!this.closed) this.touch(bell, Date.now());
    }, this.throttleMs - (now - last));
    timer.unref();
    this.trailing.set(bell, timer);
  }

  private touch(bell: string, now: number): void {
    this.lastRing.set(bell, now);
    const file = path.join(this.dir, bell);
    const time = now / 1000;
    try {
      fs.utimesSync(file, time, time);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') {
        fs.mkdirSync(this.dir, { recursive: true });
        fs.writeFileSync(file, '');
      } else if (code === 'EPERM' || code === 'EACCES' || code === 'EROFS') {
        // A bell owned by another user (setting a time needs ownership): truncating the empty
        // file also moves its mtime and needs only write permission. If that fails too, the
        // ring is lost and waiters find the change at their next rescan.
        try {
          fs.truncateSync(file, 0);
        } catch {
          // rescans cover it
        }
      } else {
        throw err;
      }
    }
    // Waiters in this process need no round trip through the filesystem.
    this.dispatch(bell);
  }

  /** Calls `listener` with the bell's name on every ring seen. Returns an unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    void this.start();
    return () => this.listeners.delete(listener);
  }

  /**
   * A counter that moves every time one of `bells` rings (or the watcher asks
   * everyone to re-scan). Take it before checking for work and pass it to
   * {@link wait}: a ring in between is then not lost.
   */
  version(bells: readonly string[]): number {
    void this.start();
    let sum = this.versions.get('*') ?? 0;
    for (const bell of bells) sum += this.versions.get(bell) ?? 0;
    return sum;
  }

  /**
   * Resolves with the bell name when one of `bells` rings, or `'timeout'` after
   * `timeoutMs`; at once with `'changed'` if `since` (from {@link version}) is
   * stale. Rejects with {@link AbortError} when `signal` aborts.
   */
  wait(bells: readonly string[], timeoutMs: number, signal?: AbortSignal, since?: number): Promise<string> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortError());
        return;
      }
      if (since !== undefined && this.version(bells) !== since) {
        resolve('changed');
        return;
      }
      const wanted = new Set(bells);
      const finish = (outcome: string | Error) => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const unsubscribe = this.subscribe((bell) => {
        if (wanted.has(bell) || bell === '*') finish(bell);
      });
      const timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
      const onAbort = () => finish(new AbortError());
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private dispatch(bell: string): void {
    this.versions.set(bell, (this.versions.get(bell) ?? 0) + 1);
    for (const listener of [...this.listeners]) listener(bell);
  }

  /** Starts the watcher (idempotent). Resolves once it is ready. */
  start(): Promise<void> {
    if (!this.watching || this.closed) return Promise.resolve();
    if (this.starting) return this.starting;
    fs.mkdirSync(this.dir, { recursive: true });
    // chokidar loads with the first watcher, not with the package: a process that never waits never pays for it.
    this.starting = import('chokidar').then(({ watch }) => new Promise<void>((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      const watcher = watch(this.dir, {
        ignoreInitial: true,
        depth: 0,
        // The watcher only speeds up waiters, and every waiter holds its own
        // timer while it waits: an idle watcher must not keep the process
        // alive once the work is done (a script that forgot close() exits).
        persistent: false,
        atomic: false,
        alwaysStat: false,
        ignored: (file: string) => file.endsWith('.tmp'),
      });
      this.watcher = watcher;
      // 'raw' sees every inotify event before chokidar's own 50 ms change
      // throttle, which would otherwise drop a second ring in quick succession.
      watcher.on('raw', (_event: string, rawPath: string, details: unknown) => {
        const name = bellName(rawPath, details, this.dir);
        if (name) this.dispatch(name);
      });
      watcher.on('add', (file: string) => this.dispatch(path.basename(file)));
      watcher.on('change', (file: string) => this.dispatch(path.basename(file)));
      watcher.on('error', () => {
        this.errors += 1;
        // The watcher may have lost events: every waiter re-scans.
        this.dispatch('*');
      });
      watcher.on('ready', () => resolve());
    }));
    return this.starting;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.trailing.values()) clearTimeout(timer);
    this.trailing.clear();
    this.listeners.clear();
    const watcher = this.watcher;
    this.watcher = null;
    this.starting = null;
    if (watcher) await watcher.close();
  }
}

function bellName(rawPath: string, details: unknown, dir: string): string | null {
  if (!rawPath) return '*';
  const watched =
    typeof details === 'object' && details !== null && 'watchedPath' in details
      ? String(details.watchedPath)
      : '';
  // A directory watch reports the entry's name; a file watch reports the file itself.
  const name = watched && path.resolve(watched) !== path.resolve(dir) ? path.basename(watched) : path.basename(rawPath);
  if (name.endsWith('.tmp')) return null;
  return name;
}

import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { SUPERVISOR_SOURCE } from './supervisor.js';

export interface RunProcessOptions {
  /** The program and its arguments; with `shell`, one command string for `/bin/sh -c`. */
  file: string;
  args: readonly string[];
  shell?: boolean;
  cwd: string;
  /** The command's whole environment. */
  env: Readonly<Record<string, string>>;
  /** Written to standard input, which is then closed. */
  stdin: string;
  /** Kill the process group after this long. */
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL. @default 3000 */
  killGraceMs?: number;
  /** Aborting kills the process group (SIGTERM, then SIGKILL after the grace period). */
  signal?: AbortSignal;
  /** Standard output kept; the rest is counted and dropped. @default 4 MiB */
  maxStdoutBytes?: number;
  /** The end of standard error kept. @default 64 KiB */
  maxStderrBytes?: number;
  /** Every complete line of output, as it comes (clipped to 4000 characters). */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Once the command runs. */
  onStart?: (pid: number) => void;
}

export interface ProcessOutcome {
  /** The exit code, or null when a signal ended it. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** Bytes of standard output past the cap, not kept. */
  stdoutDropped: number;
  /** The last bytes of standard error. */
  stderrTail: string;
  timedOut: boolean;
  aborted: boolean;
  /** The command could not start (not found, not executable): why. */
  spawnError?: { message: string; code?: string };
  /** The command's pid (under its supervisor). */
  pid?: number;
  durationMs: number;
}

const LINE_LIMIT = 4000;

/**
 * Runs a command in a process group of its own under the supervisor, feeds it
 * its input, collects its output within caps, and ends it (the whole group:
 * SIGTERM, then SIGKILL) at the timeout, on abort, or when this process dies.
 * Never rejects for the command's own failures: the outcome says what happened.
 */
export function runProcess(options: RunProcessOptions): Promise<ProcessOutcome> {
  const started = Date.now();
  const graceMs = options.killGraceMs ?? 3000;
  const maxStdout = options.maxStdoutBytes ?? 4 * 1024 * 1024;
  const maxStderr = options.maxStderrBytes ?? 64 * 1024;
  const { NODE_OPTIONS: nodeOptions, ...env } = options.env;
  const config = JSON.stringify({ file: options.file, args: options.args, shell: options.shell ?? false, nodeOptions, graceMs });
  const child: ChildProcess = spawn(process.execPath, ['-e', SUPERVISOR_SOURCE, config], {
    cwd: options.cwd,
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  const control = child.stdio[3] as Socket;

  return new Promise<ProcessOutcome>((resolve) => {
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stdoutDropped = 0;
    let stderrTail = '';
    let timedOut = false;
    let aborted = false;
    let pid: number | undefined;
    let spawnError: ProcessOutcome['spawnError'];
    let reported: { exit: number | null; signal: NodeJS.Signals | null } | null = null;
    let killTimer: NodeJS.Timeout | null = null;
    let settled = false;

    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // the group is gone already
      }
    };
    const terminate = () => {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), graceMs);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      terminate();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const lines = (stream: 'stdout' | 'stderr') => {
      const decoder = new StringDecoder('utf8');
      let partial = '';
      return {
        push(chunk: Buffer) {
          if (!options.onLine) return;
          partial += decoder.write(chunk);
          let nl = partial.indexOf('\n');
          while (nl >= 0) {
            options.onLine(stream, partial.slice(0, nl).replace(/\r$/, '').slice(0, LINE_LIMIT));
            partial = partial.slice(nl + 1);
            nl = partial.indexOf('\n');
          }
          // A line without an end (a progress bar) is shown once it is long enough to matter.
          if (partial.length > 64 * 1024) {
            options.onLine(stream, partial.slice(0, LINE_LIMIT));
            partial = '';
          }
        },
        end() {
          partial += decoder.end();
          if (options.onLine && partial.trim() !== '') options.onLine(stream, partial.slice(0, LINE_LIMIT));
          partial = '';
        },
      };
    };
    const outLines = lines('stdout');
    const errLines = lines('stderr');
    child.stdout?.on('data', (chunk: Buffer) => {
      const room = maxStdout - stdoutBytes;
      if (room >= chunk.length) {
        stdoutChunks.push(chunk);
        stdoutBytes += chunk.length;
      } else {
        if (room > 0) stdoutChunks.push(chunk.subarray(0, room));
        stdoutBytes += Math.max(0, room);
        stdoutDropped += chunk.length - Math.max(0, room);
      }
      outLines.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail += chunk.toString('utf8');
      if (stderrTail.length > maxStderr) stderrTail = stderrTail.slice(-maxStderr);
      errLines.push(chunk);
    });
    // A command that does not read its input closes the pipe early: that is its business.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.stdin);

    let buffered = '';
    control.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
        let message: { pid?: number; exit?: number | null; signal?: NodeJS.Signals | null; spawnError?: string; code?: string };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          continue;
        }
        if (typeof message.pid === 'number') {
          pid = message.pid;
          options.onStart?.(message.pid);
        }
        if (message.spawnError !== undefined) spawnError = { message: message.spawnError, ...(message.code ? { code: message.code } : {}) };
        if ('exit' in message) reported = { exit: message.exit ?? null, signal: message.signal ?? null };
      }
    });
    control.on('error', () => {});

    const finish = (code: number | null, sig: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // Nothing the command started outlives it.
      killGroup('SIGKILL');
      outLines.end();
      errLines.end();
      const exit = reported ?? { exit: code, signal: sig };
      resolve({
        exitCode: exit.exit,
        signal: exit.signal,
        stdout: Buffer.concat(stdoutChunks).toString('utf8'),
        stdoutDropped,
        stderrTail,
        timedOut,
        aborted,
        ...(spawnError ? { spawnError } : {}),
        ...(pid !== undefined ? { pid } : {}),
        durationMs: Date.now() - started,
      });
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError ??= { message: `cannot start node (${process.execPath}) to supervise the command: ${err.message}`, ...(err.code ? { code: err.code } : {}) };
      finish(null, null);
    });
    // Wait for the output to drain too, but not for grandchildren that keep a pipe open.
    child.on('exit', (code, sig) => {
      let open = 0;
      const streams = [child.stdout, child.stderr, control].filter((s) => s && !s.readableEnded && !s.destroyed);
      if (streams.length === 0) return finish(code, sig);
      const done = () => {
        open -= 1;
        if (open === 0) finish(code, sig);
      };
      for (const s of streams) {
        open += 1;
        s?.once('close', done);
      }
      setTimeout(() => {
        for (const s of streams) s?.destroy();
        finish(code, sig);
      }, 500).unref();
    });
  });
}

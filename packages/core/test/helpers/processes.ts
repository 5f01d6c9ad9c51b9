import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A temp folder removed by the returned cleanup. Prefers tmpfs when present: the tests race processes, not disks. */
export function tempDir(prefix = 'agent-team-'): string {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return fs.mkdtempSync(path.join(base, prefix));
}

export interface Child {
  proc: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves with the first stdout line matching, rejects if the process exits first. */
  waitFor(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Runs a TypeScript script in a new Node.js process through tsx. */
export function runScript(script: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  let err = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  createInterface({ input: proc.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    proc,
    lines,
    exited,
    stderr: () => err,
    waitFor(match, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for output; stderr: ${err}`)), timeoutMs);
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`process exited (${code ?? signal}) before the expected output; stderr: ${err}`));
        });
      });
    },
  };
}

/** Runs a script to completion; rejects on a non-zero exit. Returns its stdout lines. */
export async function runToEnd(script: string, args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const child = runScript(script, args, env);
  const { code, signal } = await child.exited;
  if (code !== 0) throw new Error(`${path.basename(script)} ${args.join(' ')} exited with ${code ?? signal}: ${child.stderr()}`);
  return child.lines;
}

export const fixture = (name: string): string => path.join(import.meta.dirname, '..', 'fixtures', name);

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'agent-team.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun extends Promise<CliResult> {
  child: ChildProcess;
}

/**
 * Runs the real CLI in a child process. `closedStdout` closes the read end of
 * its stdout before it writes anything, as `| head -c 0` would: every write
 * it makes then fails with EPIPE.
 */
export function cli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; closedStdout?: boolean; killAfterMs?: number } = {},
): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  if (options.closedStdout) child.stdout.destroy();
  else child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = options.killAfterMs ? setTimeout(() => child.kill('SIGKILL'), options.killAfterMs) : null;
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => {
      if (killer) clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    }),
  ) as CliRun;
  done.child = child;
  return done;
}

/** Every file under `dir`, relative, with its size: a fingerprint to prove nothing was written. */
export function snapshot(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else out.push(`${child}:${fs.statSync(path.join(dir, child)).size}`);
    }
  };
  walk('');
  return out.sort();
}

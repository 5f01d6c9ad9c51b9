import { execFile } from 'node:child_process';
import { AgentTeamError } from '@agent-team/core';

/** A git command that failed: the command and the end of what git said. */
export class GitError extends AgentTeamError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs the `git` binary (no shell) in `cwd`. Rejects with {@link GitError}
 * when it exits non-zero, unless `allowFailure` says which exit codes are
 * answers (`git diff --quiet` exits 1 for "there are changes").
 */
export function git(cwd: string, args: readonly string[], options: { allowFailure?: readonly number[]; input?: string } = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      // Output is read by the program: no colour and no signature lines, whatever the user's git settings say.
      ['-c', 'color.ui=never', '-c', 'log.showSignature=false', ...args],
      {
        cwd,
        maxBuffer: 64 * 1024 * 1024,
        // No prompt for credentials, no pager, no editor, messages in English for the errors we parse.
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', GIT_EDITOR: 'true', LC_ALL: 'C', LANG: 'C' },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        if (!error || (code !== null && options.allowFailure?.includes(code))) {
          resolve({ stdout, stderr, exitCode: code ?? 0 });
          return;
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new GitError('git is not installed (or not on PATH): install git to work on a repository', null, ''));
          return;
        }
        const said = (stderr || stdout).trim().split('\n').slice(-6).join('\n');
        reject(new GitError(`git ${args.join(' ')} failed in ${cwd}${said ? `: ${said}` : ''}`, code, stderr));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** `git ...` whose stdout is one trimmed line. */
export async function gitLine(cwd: string, args: readonly string[]): Promise<string> {
  return (await git(cwd, args)).stdout.trim();
}

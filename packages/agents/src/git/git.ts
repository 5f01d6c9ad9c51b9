import { execFile } from 'node:child_process';
import fs from 'node:fs';
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
      // No hooks of the user's run on the team's worktrees (a failing prepare-commit-msg would stop a commit).
      ['-c', 'color.ui=never', '-c', 'log.showSignature=false', '-c', 'core.hooksPath=/dev/null', ...args],
      { cwd, maxBuffer: 64 * 1024 * 1024, env: gitEnv() },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        if (!error || (code !== null && options.allowFailure?.includes(code))) {
          resolve({ stdout, stderr, exitCode: code ?? 0 });
          return;
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(cwd)) {
          reject(new GitError(`cannot run git in ${cwd}: the folder does not exist`, null, ''));
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

/**
 * Variables that point git at a repository, index or object store (the list of
 * `git rev-parse --local-env-vars`): set by a hook or a user's shell, they would
 * make the team's commands act on the user's repository instead of the folder
 * they run in.
 */
const LOCAL_GIT_VARIABLES = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_CONFIG', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_COUNT', 'GIT_OBJECT_DIRECTORY',
  'GIT_DIR', 'GIT_WORK_TREE', 'GIT_IMPLICIT_WORK_TREE', 'GIT_GRAFT_FILE', 'GIT_INDEX_FILE', 'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE', 'GIT_PREFIX', 'GIT_INTERNAL_SUPER_PREFIX', 'GIT_SHALLOW_FILE', 'GIT_COMMON_DIR',
];

/** The environment of the team's git commands: the process's, without those variables; no prompt for credentials, no pager, no editor, messages in English for the errors we parse. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', GIT_EDITOR: 'true', LC_ALL: 'C', LANG: 'C' };
  for (const name of LOCAL_GIT_VARIABLES) delete env[name];
  for (const name of Object.keys(env)) if (/^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(name)) delete env[name];
  return env;
}

/** The git version as [major, minor], from `git --version` ("git version 2.39.5"). */
export function parseGitVersion(text: string): [number, number] | undefined {
  const match = /git version (\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

import { execFile } from 'node:child_process';
import { AgentTeamError, ValidationError } from '@agent-team/core';

/** A git command that failed: the arguments, its exit code and what it said. */
export class GitError extends AgentTeamError {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${(stderr || stdout).trim().split('\n').slice(0, 6).join('\n')}`);
  }
}

export interface GitResult {
  stdout: string;
  stderr: string;
}

/**
 * The environment git runs with: the caller's, minus the variables that would
 * point git at another repository, index or work tree (a hook or a parent
 * git process sets them), and with prompts off so git never waits for a
 * password or an editor.
 */
function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|COMMON_DIR|NAMESPACE|CEILING_DIRECTORIES|PREFIX)$/.test(name)) continue;
    env[name] = value;
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_EDITOR = 'true';
  env.GIT_MERGE_AUTOEDIT = 'no';
  env.LC_ALL = 'C';
  return { ...env, ...extra };
}

export interface GitOptions {
  /** Variables added to git's environment (author, committer). */
  env?: Record<string, string>;
  /** Exit codes that are answers, not failures (e.g. 1 for `diff --quiet`). */
  okCodes?: readonly number[];
  signal?: AbortSignal;
}

/** Runs the git binary (no shell) in `cwd`; rejects with {@link GitError} on a non-zero exit not in `okCodes`. */
export function git(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<GitResult & { exitCode: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...args],
      { cwd, env: gitEnv(options.env), maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', ...(options.signal ? { signal: options.signal } : {}) },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr, exitCode: 0 });
        const e = err as NodeJS.ErrnoException & { code?: number | string };
        if (e.code === 'ENOENT') {
          return reject(new ValidationError('git was not found on PATH: install git (https://git-scm.com) to give a team a codebase'));
        }
        const code = typeof e.code === 'number' ? e.code : null;
        if (code !== null && options.okCodes?.includes(code)) return resolve({ stdout, stderr, exitCode: code });
        reject(new GitError(args, code, stderr, stdout));
      },
    );
  });
}

/** The installed git's version (`2.39.5`), or a ValidationError saying git is missing. */
export async function gitVersion(): Promise<string> {
  const { stdout } = await git(process.cwd(), ['--version']);
  return stdout.trim().replace(/^git version\s+/, '');
}

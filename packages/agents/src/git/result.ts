import path from 'node:path';
import { type GitResult, git } from './git.js';
import type { TestOutcome } from './team-repo.js';

/** What a coding task's result holds (see Agent.finishInRepo). */
export interface CodingTaskResult {
  /** The agent's own answer. */
  summary: unknown;
  branch: string;
  /** The branch tip ahead of mergeInto, or null when the task changed nothing. */
  commit: string | null;
  diffStat: string;
  /** The repository's top level and where the branch left mergeInto. */
  repo?: string;
  base?: string;
  merged?: { commit: string; into: string };
  /** The last test outcome: in the task's worktree (before review), or on the merged result. */
  test?: TestOutcome;
}

/** True for the result of a task done on a team's git repository. */
export function isCodingTaskResult(value: unknown): value is CodingTaskResult {
  return typeof value === 'object' && value !== null && typeof (value as CodingTaskResult).branch === 'string' && 'commit' in value && 'diffStat' in value;
}

/** A commit id as git writes it (abbreviated or whole, SHA-1 or SHA-256). */
const COMMIT_ID = /^[0-9a-f]{7,64}$/;

/** The change a coding task's result names, fit to hand to git. */
export interface NamedChange {
  repo: string;
  base: string;
  commit: string;
  branch: string;
}

/**
 * The change a result names, when it looks like what the team writes: an
 * absolute repository path and two commit ids. Undefined otherwise. A result
 * can come from anywhere that completes a task (an MCP client, a command
 * agent's JSON, a hand-edited file), so nothing else is passed to git: a
 * `base` of `--output=<file>` would be an option, not a commit.
 */
export function namedChange(value: unknown): NamedChange | undefined {
  if (!isCodingTaskResult(value)) return undefined;
  const { repo, base, commit, branch } = value;
  if (typeof repo !== 'string' || !path.isAbsolute(repo) || typeof base !== 'string' || typeof commit !== 'string') return undefined;
  if (!COMMIT_ID.test(base) || !COMMIT_ID.test(commit)) return undefined;
  return { repo, base, commit, branch };
}

/** `git diff <base> <commit>` of a named change: no external diff tools or text conversions of the repository's settings run. */
export function diffOfChange(change: NamedChange, options: { stat?: boolean } = {}): Promise<GitResult> {
  return git(change.repo, ['diff', '--no-ext-diff', '--no-textconv', ...(options.stat ? ['--stat'] : []), '--end-of-options', change.base, change.commit]);
}

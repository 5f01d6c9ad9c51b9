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

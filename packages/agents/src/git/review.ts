import type { TaskRecord } from '@agent-team/core';
import type { TeamRepo, TestOutcome } from './team-repo.js';
import './events.js';

/** What a coding task's result holds (see Agent.finishInRepo). */
export interface CodingTaskResult {
  summary: unknown;
  branch: string;
  commit: string | null;
  diffStat: string;
  /** The repository's top level and where the branch left mergeInto: enough for `agent-team diff`. */
  repo?: string;
  base?: string;
  merged?: { commit: string; into: string };
  /** The last test outcome: in the task's worktree (before review), or on the merged result. */
  test?: TestOutcome;
}

export function isCodingTaskResult(value: unknown): value is CodingTaskResult {
  return typeof value === 'object' && value !== null && typeof (value as CodingTaskResult).branch === 'string' && 'commit' in value && 'diffStat' in value;
}

/** The start of feedback that a merge (not a reviewer) gave. */
export function isMergeFeedback(text: string): boolean {
  return text.startsWith('Merge conflict') || text.startsWith('Tests failed after merging');
}

/**
 * What a reviewer of a coding task sees besides the prose: the branch and
 * commit, the diff stat, the diff (clipped: its head and tail kept, the cut
 * said) and the test outcome with the end of its output.
 */
export async function codingReviewMaterial(repo: TeamRepo, target: TaskRecord, maxDiffChars = 12_000): Promise<string | null> {
  const result = target.result;
  if (!isCodingTaskResult(result)) return null;
  const lines = ['', 'The change, on branch ' + result.branch + (result.commit ? ` (commit ${result.commit.slice(0, 12)})` : ' (no commit: it changed nothing)') + ':'];
  if (result.commit) {
    lines.push('', 'Diff stat:', result.diffStat || '(empty)');
    let diff: string;
    try {
      diff = await repo.diff(target.id);
    } catch (err) {
      diff = `(the diff could not be read: ${err instanceof Error ? err.message : String(err)})`;
    }
    if (diff.length > maxDiffChars) {
      const head = diff.slice(0, Math.floor(maxDiffChars * 0.8));
      const tail = diff.slice(diff.length - Math.floor(maxDiffChars * 0.2));
      diff = `${head}\n[... ${diff.length - head.length - tail.length} characters of the diff cut here; the stat above lists every file ...]\n${tail}`;
    }
    lines.push('', '```diff', diff.trimEnd(), '```');
  }
  if (result.test) {
    const t = result.test;
    const verdict = t.timedOut ? `timed out after ${t.durationMs} ms` : t.passed ? 'passed' : `FAILED (exit ${String(t.exitCode)})`;
    lines.push('', `Tests (\`${t.command}\` in the task's worktree): ${verdict}`, '```', t.output.slice(-3000).trimEnd(), '```');
  } else if (result.commit) {
    lines.push('', repo.test ? 'Tests: not run.' : 'Tests: the codebase has no test command.');
  }
  return lines.join('\n');
}

/** Why an approval must be refused: the commit's tests did not pass and the spec does not allow that. Null when it may go on. */
export function approvalRefusal(repo: TeamRepo, target: TaskRecord): string | null {
  const result = target.result;
  if (!isCodingTaskResult(result) || !result.commit || !result.test || result.test.passed) return null;
  if (repo.options.allowFailingTests) return null;
  return (
    `Approval refused: the tests do not pass on this commit (\`${result.test.command}\`, ` +
    `${result.test.timedOut ? 'timed out' : `exit ${String(result.test.exitCode)}`}). Make them pass:\n${result.test.output.slice(-1500)}`
  );
}

export type ApprovedMerge = { ok: true; commit: string | null } | { ok: false; feedback: string; detail: string; reason: 'conflict' | 'tests' };

/**
 * Merges an approved coding task through the merge queue. On a conflict or
 * failing tests nothing moved; the task's branch is kept as an attempt branch
 * and the task will start over from the new mergeInto with the returned feedback.
 */
export async function mergeApproved(repo: TeamRepo, target: TaskRecord, agentId: string, signal?: AbortSignal): Promise<ApprovedMerge> {
  const result = target.result;
  if (!isCodingTaskResult(result) || !result.commit) return { ok: true, commit: null };
  const outcome = await repo.merge(target.id, agentId, signal);
  if (outcome.merged) {
    await repo.removeWorktree(target.id);
    return { ok: true, commit: outcome.commit };
  }
  const feedback =
    outcome.reason === 'conflict'
      ? `Merge conflict: your change to ${outcome.files.join(', ') || 'the files'} conflicts with work merged meanwhile. ` +
        'You start again from the merged code: read the files again and make your change on top of it.'
      : `Tests failed after merging your change into ${repo.mergeInto} (${outcome.test.command}, exit ${String(outcome.test.exitCode)}):\n${outcome.test.output.slice(-1500)}`;
  await repo.startOver(target.id, target.attempt + target.feedback.length);
  return { ok: false, feedback, detail: feedback.split('\n')[0] ?? '', reason: outcome.reason };
}

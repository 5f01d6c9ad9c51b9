import fs from 'node:fs';
import type { EventInput, TaskRecord } from '@agent-team/core';
import type { ExecutableTool } from '../models/index.js';
import type { Codebase } from '../codebase/codebase.js';
import { type CodingResult, type TeamRepo, isCodingResult, testSummary } from './team-repo.js';
import { toolsForWorktree } from './worktree-tools.js';
import './events.js';

/** How an agent takes part in a team's codebase. */
export type CodebaseMode = 'write' | 'read' | 'none';

/** What a coding task's context gets: its worktree and the tools rooted there. */
export interface CodingContext {
  worktree: string;
  branch: string;
  commands: readonly string[];
  codebase: Codebase;
  tools: ExecutableTool[];
}

/** Task types that get a worktree of their own (plain work; not plans, reviews, MoA steps). */
export function takesWorktree(task: TaskRecord): boolean {
  return task.type === 'task';
}

/**
 * The context of a task on a team's codebase: a `write` or `read` agent's
 * plain task gets its own worktree (made or reused); a review task gets
 * read-only tools on the worktree of the task it reviews (when it is still
 * there). Null when the task does not touch the codebase.
 */
export async function codingContext(
  repo: TeamRepo,
  mode: CodebaseMode,
  agentId: string,
  task: TaskRecord,
  emit: (event: EventInput) => void,
): Promise<CodingContext | null> {
  if (mode === 'none') return null;
  if (takesWorktree(task)) {
    const wt = await repo.prepare(task.id);
    emit({ type: 'git.worktree', taskId: task.id, agentId, branch: wt.branch, path: wt.path, reused: wt.reused });
    const commands = repo.commands();
    return { worktree: wt.path, branch: wt.branch, commands, ...toolsForWorktree(wt.path, { owner: agentId, mode, commands }) };
  }
  const reviewOf = task.type === 'review' ? task.metadata.reviewOf : undefined;
  if (typeof reviewOf === 'string') {
    const wt = repo.worktreeOf(reviewOf);
    if (!fs.existsSync(wt)) return null;
    const commands = repo.commands();
    return { worktree: wt, branch: repo.branchOf(reviewOf), commands, ...toolsForWorktree(wt, { owner: agentId, mode: 'read', commands }) };
  }
  return null;
}

/**
 * After the agent's work: commit its changes on the task branch (nothing when
 * nothing changed), run the test command in the worktree, and describe the
 * branch against mergeInto. The result the task records.
 */
export async function finishCodingTask(
  repo: TeamRepo,
  agentId: string,
  task: TaskRecord,
  summary: unknown,
  emit: (event: EventInput) => void,
  signal?: AbortSignal,
): Promise<CodingResult> {
  const commit = await repo.commit(task.id, { author: agentId, description: task.description });
  const result = await repo.describe(task.id, summary, null);
  if (commit) {
    emit({
      type: 'git.committed',
      taskId: task.id,
      agentId,
      branch: result.branch,
      commit,
      files: result.files,
      insertions: result.insertions,
      deletions: result.deletions,
    });
  }
  const test = result.commit ? await repo.runTest(repo.worktreeOf(task.id), signal) : null;
  return { ...result, test };
}

export type MergeVerdict = { ok: true; commit: string | null } | { ok: false; reason: string; kept: string | null };

/**
 * Merges a finished coding task into mergeInto (one at a time across
 * processes). On a conflict or a failing test the merge is undone, the
 * branch's work kept as `<branch>@<attempt>`, and the task branch starts
 * again from mergeInto: the caller re-opens the task with the reason.
 */
export async function mergeCodingTask(
  repo: TeamRepo,
  agentId: string,
  task: TaskRecord,
  result: CodingResult,
  emit: (event: EventInput) => void,
  signal?: AbortSignal,
): Promise<MergeVerdict> {
  if (!result.commit) return { ok: true, commit: null };
  const outcome = await repo.merge(task.id, { owner: agentId, ...(signal ? { signal } : {}) });
  if (outcome.status === 'merged') {
    emit({ type: 'git.merged', taskId: task.id, agentId, branch: result.branch, into: repo.mergeInto, commit: outcome.commit, previous: outcome.previous });
    await repo.removeWorktree(task.id);
    return { ok: true, commit: outcome.commit };
  }
  if (outcome.status === 'already-merged' || outcome.status === 'nothing') {
    await repo.removeWorktree(task.id);
    return { ok: true, commit: outcome.commit };
  }
  const kept = await repo.restart(task.id);
  emit({ type: 'git.merge_failed', taskId: task.id, agentId, branch: result.branch, into: repo.mergeInto, reason: outcome.reason, kept });
  return {
    ok: false,
    reason: `${outcome.reason}\nYour earlier work is kept on branch ${kept}; the task starts again from "${repo.mergeInto}" as it is now, which holds the work merged meanwhile.`,
    kept,
  };
}

/** Earlier merge failures of a task (in its errors or feedback), as feedback for its next attempt. */
export function mergeFeedback(task: TaskRecord): string[] {
  return task.errors.map((e) => e.message).filter(isMergeFailure);
}

export function isMergeFailure(text: string): boolean {
  return text.startsWith('merge conflict:') || text.startsWith('the test command failed on the merge');
}

/** The part of a review prompt that shows a coding task's work: stat, test outcome, the diff (clipped). */
export async function reviewMaterial(repo: TeamRepo, target: TaskRecord, maxDiffChars = 12_000): Promise<string | null> {
  const result = target.result;
  if (!isCodingResult(result)) return null;
  const lines: string[] = ['', `Branch: ${result.branch}`, `Commit: ${result.commit ?? '(no changes)'}`];
  if (result.commit) {
    lines.push('', `Diff stat (${result.files} files, +${result.insertions} -${result.deletions}):`, result.diffstat);
    let diff = '';
    try {
      diff = await repo.diff(target.id);
    } catch {
      diff = '';
    }
    if (diff.length > maxDiffChars) {
      const head = diff.slice(0, Math.floor(maxDiffChars * 0.75));
      const tail = diff.slice(diff.length - Math.floor(maxDiffChars * 0.25));
      diff = `${head}\n[... ${diff.length - head.length - tail.length} characters of the diff cut; see the stat above ...]\n${tail}`;
    }
    lines.push('', 'The diff:', '```diff', diff.trimEnd(), '```');
  }
  if (result.test) {
    lines.push('', `Tests: ${testSummary(result.test)}`, '```', result.test.output.slice(-4000).trimEnd(), '```');
  } else if (result.commit) {
    lines.push('', 'Tests: no test command is configured.');
  }
  return lines.join('\n');
}

import fs from 'node:fs';
import path from 'node:path';
import { ResourceLocks, ValidationError, assertValidId } from '@agent-team/core';
import { splitCommandLine } from '../command/command-line.js';
import { minimalEnv } from '../command/env.js';
import { runProcess } from '../command/process-runner.js';
import { GitError, git, gitVersion } from './git.js';

/** The `codebase` section of a spec, and the AgentTeam option of the same name. */
export interface CodebaseConfig {
  /** A git repository (any folder inside its working tree). */
  repo: string;
  /** The branch or commit the work starts from. @default the repository's HEAD */
  base?: string;
  /** The command that says whether the code works (`npm test`); split into words, no shell. */
  test?: string;
  /**
   * The branch that receives the merged work. @default `agent-team/<team id>-result`
   * (git cannot hold a branch `agent-team/<team id>` beside the task branches
   * `agent-team/<team id>/<task id>`: one ref cannot also be a folder of refs).
   */
  mergeInto?: string;
  /** `worktree`: a git worktree per task (the only mode so far). @default 'worktree' */
  isolation?: 'worktree';
  /** What `run_command` may start. @default the test command and read-only git commands */
  commands?: readonly string[];
  /** Where the task worktrees go. @default `<workspace>/worktrees` */
  worktrees?: string;
  /** Kill the test command after this long. @default 600000 (10 min) */
  testTimeoutMs?: number;
  /** Let a reviewer approve (and the queue merge) a commit whose test command fails. @default false */
  allowFailingTests?: boolean;
}

/** The outcome of the test command in one folder. */
export interface TestOutcome {
  command: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** The end of its output (stdout then stderr), clipped. */
  output: string;
}

/** What a coding task's result carries besides the agent's summary. */
export interface CodingResult {
  /** The agent's own answer. */
  summary: unknown;
  /** The repository (absolute path of its top level). */
  repo: string;
  branch: string;
  /** The branch tip after this attempt, or null when the task changed nothing. */
  commit: string | null;
  /** Where the branch left `mergeInto` (the merge base). */
  base: string;
  /** `git diff --stat base commit`. */
  diffstat: string;
  files: number;
  insertions: number;
  deletions: number;
  /** The test command in the task's worktree after the commit, or null without one. */
  test: TestOutcome | null;
}

export type MergeOutcome =
  | { status: 'merged'; commit: string; previous: string; test: TestOutcome | null }
  | { status: 'already-merged'; commit: string }
  | { status: 'nothing'; commit: string }
  | { status: 'conflict'; files: string[]; reason: string }
  | { status: 'test-failed'; test: TestOutcome; reason: string };

/** A task's worktree, ready for its agent. */
export interface TaskWorktree {
  path: string;
  branch: string;
  /** True when a worktree left by an earlier attempt (a killed worker) was reused as it was. */
  reused: boolean;
}

export const DEFAULT_READ_ONLY_GIT = [
  'git status',
  'git status *',
  'git diff',
  'git diff *',
  'git log',
  'git log *',
  'git show *',
  'git grep *',
] as const;

const MERGE_TREE = '.merge';
const OUTPUT_LIMIT = 8000;

export function isCodingResult(value: unknown): value is CodingResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as CodingResult).branch === 'string' &&
    typeof (value as CodingResult).repo === 'string' &&
    'commit' in value
  );
}

/**
 * A team's hold on one git repository: worktrees per task, commits, and the
 * merge queue. Everything goes through the git binary (no shell) on branches
 * and worktrees the team owns; the user's checkout (its HEAD, branch, index
 * and working tree) is never touched. Every step can be repeated after a
 * crash at any point: it looks where things stand before it acts.
 */
export class TeamRepo {
  private constructor(
    /** The repository's top level (real path). */
    readonly root: string,
    readonly teamId: string,
    /** The branch that receives merged work. */
    readonly mergeInto: string,
    /** The commit the team started from. */
    readonly baseCommit: string,
    /** Folder of the worktrees. */
    readonly worktreesDir: string,
    readonly config: CodebaseConfig,
    private readonly locks: ResourceLocks,
  ) {}

  /**
   * Checks the repository and prepares `mergeInto` (created from `base` if it
   * does not exist). Fails with a ValidationError before anything is written
   * when git is missing, `repo` is not a repository, `base` does not resolve,
   * `base` is the checked-out branch and has uncommitted changes, or
   * `mergeInto` is checked out in the user's own working tree.
   */
  static async open(config: CodebaseConfig, options: { teamId: string; worktrees: string; lockDir?: string }): Promise<TeamRepo> {
    checkCodebaseConfig(config);
    assertValidId('team', options.teamId);
    await gitVersion();
    const repoPath = path.resolve(config.repo);
    if (!fs.existsSync(repoPath) || !fs.statSync(repoPath).isDirectory()) {
      throw new ValidationError(`codebase.repo "${config.repo}" is not a folder: point it at a git repository`);
    }
    let root: string;
    try {
      root = fs.realpathSync((await git(repoPath, ['rev-parse', '--show-toplevel'])).stdout.trim());
    } catch (err) {
      if (err instanceof GitError) {
        throw new ValidationError(`codebase.repo "${config.repo}" is not a git repository (or is a bare one): run \`git init\` there and commit, or point codebase.repo at a working tree`);
      }
      throw err;
    }
    const base = config.base ?? 'HEAD';
    const baseCommit = await resolveCommit(root, base);
    if (!baseCommit) {
      throw new ValidationError(`codebase.base "${base}" is not a branch or commit of ${root}${base === 'HEAD' ? ' (the repository has no commit yet: commit something first)' : ''}`);
    }
    const head = await git(root, ['symbolic-ref', '-q', '--short', 'HEAD'], { okCodes: [1] });
    const currentBranch = head.exitCode === 0 ? head.stdout.trim() : null;
    if (base === 'HEAD' || base === currentBranch) {
      const status = await git(root, ['status', '--porcelain', '--untracked-files=no']);
      const dirty = status.stdout.split('\n').filter(Boolean);
      if (dirty.length > 0) {
        const shown = dirty.slice(0, 5).map((l) => l.slice(3)).join(', ');
        throw new ValidationError(
          `the base "${base}" is checked out in ${root} with uncommitted changes (${dirty.length} file${dirty.length === 1 ? '' : 's'}: ${shown}${dirty.length > 5 ? ', ...' : ''}); ` +
            'the team would start without them: commit or stash them, or set codebase.base to a commit',
        );
      }
    }
    const mergeInto = config.mergeInto ?? `agent-team/${options.teamId}-result`;
    const taskPrefix = `agent-team/${options.teamId}`;
    if (mergeInto === taskPrefix || mergeInto.startsWith(`${taskPrefix}/`)) {
      throw new ValidationError(`codebase.mergeInto "${mergeInto}" clashes with the task branches ${taskPrefix}/<task id>: name another branch (default ${taskPrefix}-result)`);
    }
    const refCheck = await git(root, ['check-ref-format', '--branch', mergeInto], { okCodes: [1, 128] });
    if (refCheck.exitCode !== 0) throw new ValidationError(`codebase.mergeInto "${mergeInto}" is not a valid branch name`);
    if (mergeInto === currentBranch) {
      throw new ValidationError(
        `codebase.mergeInto "${mergeInto}" is the branch checked out in ${root}: the team would move it under your working tree. ` +
          'Name another branch (the default is agent-team/<team id>-result) and merge it yourself when you like the result',
      );
    }
    const worktreesDir = path.resolve(options.worktrees);
    fs.mkdirSync(worktreesDir, { recursive: true });
    const realWorktrees = fs.realpathSync(worktreesDir);
    const checkedOut = await worktreeBranches(root);
    for (const [wt, branch] of checkedOut) {
      if (branch === mergeInto && !isInside(realWorktrees, wt)) {
        throw new ValidationError(`codebase.mergeInto "${mergeInto}" is checked out in the worktree ${wt}: name a branch nobody has checked out`);
      }
    }
    // Create mergeInto from base only if it does not exist (zero old value: never moves an existing branch).
    if (!(await resolveCommit(root, `refs/heads/${mergeInto}`))) {
      await git(root, ['update-ref', '-m', 'agent-team: start', `refs/heads/${mergeInto}`, baseCommit, ''], { okCodes: [128] });
    }
    const lockDir = options.lockDir ?? path.join(realWorktrees, '.locks');
    const locks = new ResourceLocks({ root: realWorktrees, lockDir });
    return new TeamRepo(root, options.teamId, mergeInto, baseCommit, realWorktrees, config, locks);
  }

  /** The branch of a task: `agent-team/<team>/<task id>`. */
  branchOf(taskId: string): string {
    assertValidId('task', taskId);
    return `agent-team/${this.teamId}/${taskId}`;
  }

  /** The folder of a task's worktree. */
  worktreeOf(taskId: string): string {
    assertValidId('task', taskId);
    return path.join(this.worktreesDir, taskId);
  }

  /** The commands `run_command` may start. */
  commands(): string[] {
    if (this.config.commands) return [...this.config.commands];
    return [...(this.config.test ? [this.config.test] : []), ...DEFAULT_READ_ONLY_GIT];
  }

  /** The tip of `mergeInto` now. */
  async mergeIntoCommit(): Promise<string> {
    const sha = await resolveCommit(this.root, `refs/heads/${this.mergeInto}`);
    if (!sha) throw new ValidationError(`the branch "${this.mergeInto}" is gone from ${this.root}: was it deleted? Re-create it or start a new team`);
    return sha;
  }

  /**
   * The task's worktree, on its branch: a new branch starts from `mergeInto`
   * as it is now (so the task sees its dependencies' merged work); a branch
   * that exists (a retry, a re-opened task) is continued. A worktree left by
   * a killed worker is reused as it is when git still knows it on the right
   * branch, otherwise removed and rebuilt from the branch.
   */
  async prepare(taskId: string): Promise<TaskWorktree> {
    const branch = this.branchOf(taskId);
    const wt = this.worktreeOf(taskId);
    if (fs.existsSync(wt)) {
      if (await this.isWorktreeOn(wt, `refs/heads/${branch}`)) return { path: wt, branch, reused: true };
      await this.dropWorktree(wt);
    }
    await git(this.root, ['worktree', 'prune']);
    if (await resolveCommit(this.root, `refs/heads/${branch}`)) {
      await git(this.root, ['worktree', 'add', '-f', '-q', wt, branch]);
    } else {
      await git(this.root, ['worktree', 'add', '-f', '-q', '-b', branch, wt, await this.mergeIntoCommit()]);
    }
    return { path: wt, branch, reused: false };
  }

  /**
   * Commits everything the agent changed in the task's worktree (author and
   * committer: the agent id; message: the task's first line and id). Returns
   * the new commit, or null when nothing changed.
   */
  async commit(taskId: string, options: { author: string; description: string }): Promise<string | null> {
    const wt = this.worktreeOf(taskId);
    await git(wt, ['add', '-A']);
    const staged = await git(wt, ['diff', '--cached', '--quiet'], { okCodes: [1] });
    if (staged.exitCode === 0) return null;
    const firstLine = options.description.trim().split('\n')[0]?.trim().slice(0, 200) || taskId;
    await git(wt, ['-c', 'core.hooksPath=/dev/null', 'commit', '-q', '--no-verify', '-m', firstLine, '-m', `agent-team task: ${taskId}\nagent: ${options.author}`], {
      env: identity(options.author),
    });
    return (await git(wt, ['rev-parse', 'HEAD'])).stdout.trim();
  }

  /** The task branch compared with `mergeInto`: what merging it would bring. */
  async describe(taskId: string, summary: unknown, test: TestOutcome | null): Promise<CodingResult> {
    const branch = this.branchOf(taskId);
    const tip = await resolveCommit(this.root, `refs/heads/${branch}`);
    const into = await this.mergeIntoCommit();
    const base = tip ? (await git(this.root, ['merge-base', into, tip])).stdout.trim() : into;
    const changed = tip !== null && tip !== base;
    let diffstat = '';
    let files = 0;
    let insertions = 0;
    let deletions = 0;
    if (changed) {
      diffstat = (await git(this.root, ['diff', '--stat=100', base, tip])).stdout.trimEnd();
      for (const line of (await git(this.root, ['diff', '--numstat', base, tip])).stdout.split('\n')) {
        const [a, d] = line.split('\t');
        if (a === undefined || d === undefined) continue;
        files += 1;
        insertions += Number(a) || 0;
        deletions += Number(d) || 0;
      }
    }
    return { summary, repo: this.root, branch, commit: changed ? tip : null, base, diffstat, files, insertions, deletions, test };
  }

  /** Runs the test command in `cwd`, or returns null when the codebase has none. */
  async runTest(cwd: string, signal?: AbortSignal): Promise<TestOutcome | null> {
    const command = this.config.test;
    if (!command) return null;
    return runTestCommand(command, cwd, { timeoutMs: this.config.testTimeoutMs ?? 600_000, ...(signal ? { signal } : {}) });
  }

  /**
   * Merges the task's branch into `mergeInto`, one merge at a time across
   * every process (a resource lock in the workspace). The merge is made in
   * the team's own merge worktree (detached), the test command runs on the
   * result, and only then does `mergeInto` move, by a compare-and-swap
   * `update-ref`: a crash at any point leaves it either where it was or at
   * the tested merge, never half-merged. A conflict or a failing test leaves
   * `mergeInto` and the task branch as they were.
   */
  async merge(taskId: string, options: { owner: string; signal?: AbortSignal; waitMs?: number }): Promise<MergeOutcome> {
    const branch = this.branchOf(taskId);
    const lock = await this.locks.acquire(MERGE_TREE, {
      owner: options.owner,
      waitMs: options.waitMs ?? 30 * 60_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    try {
      const tip = await resolveCommit(this.root, `refs/heads/${branch}`);
      const previous = await this.mergeIntoCommit();
      if (!tip) return { status: 'nothing', commit: previous };
      if (await isAncestor(this.root, tip, previous)) {
        // Merged already (a crash after the branch moved, before the task was recorded): nothing to redo.
        return { status: tip === previous ? 'nothing' : 'already-merged', commit: previous };
      }
      const mt = await this.mergeTree(previous);
      const merged = await git(
        mt,
        ['-c', 'core.hooksPath=/dev/null', 'merge', '--no-ff', '--no-edit', '-q', '-m', `Merge task ${taskId} (${branch})`, tip],
        { env: identity(`agent-team-${this.teamId}`.slice(0, 128)), okCodes: [1] },
      );
      if (merged.exitCode !== 0) {
        const conflicted = (await git(mt, ['diff', '--name-only', '--diff-filter=U'])).stdout.split('\n').filter(Boolean);
        await git(mt, ['merge', '--abort'], { okCodes: [128] });
        await git(mt, ['reset', '-q', '--hard', previous]);
        const reason =
          `merge conflict: task "${taskId}" no longer merges into "${this.mergeInto}"` +
          (conflicted.length > 0 ? ` (conflicting files: ${conflicted.join(', ')})` : `: ${(merged.stdout + merged.stderr).trim().slice(0, 500)}`);
        return { status: 'conflict', files: conflicted, reason };
      }
      const commit = (await git(mt, ['rev-parse', 'HEAD'])).stdout.trim();
      const test = await this.runTest(mt, options.signal);
      if (test && !test.passed && !this.config.allowFailingTests) {
        await git(mt, ['reset', '-q', '--hard', previous]);
        return {
          status: 'test-failed',
          test,
          reason: `the test command failed on the merge of task "${taskId}" into "${this.mergeInto}" (${testSummary(test)}):\n${clipTail(test.output, 3000)}`,
        };
      }
      lock.assertHeld();
      await git(this.root, ['update-ref', '-m', `agent-team: merge ${taskId}`, `refs/heads/${this.mergeInto}`, commit, previous]);
      return { status: 'merged', commit, previous, test };
    } finally {
      await lock.release().catch(() => {});
    }
  }

  /**
   * After a conflict or a failing merge test: the branch's work is kept as
   * `agent-team/<team>/<task>@<n>`, and the task branch starts again from
   * `mergeInto` as it is now, in a fresh worktree at the next claim.
   */
  async restart(taskId: string): Promise<string> {
    const branch = this.branchOf(taskId);
    let n = 1;
    while (await resolveCommit(this.root, `refs/heads/${branch}@${n}`)) n += 1;
    const kept = `${branch}@${n}`;
    await this.dropWorktree(this.worktreeOf(taskId));
    const tip = await resolveCommit(this.root, `refs/heads/${branch}`);
    if (tip) {
      await git(this.root, ['update-ref', '-m', 'agent-team: keep attempt', `refs/heads/${kept}`, tip]);
      await git(this.root, ['update-ref', '-m', 'agent-team: restart', `refs/heads/${branch}`, await this.mergeIntoCommit(), tip]);
    }
    return kept;
  }

  /** Removes a task's worktree (after its merge); the branch stays. */
  async removeWorktree(taskId: string): Promise<void> {
    await this.dropWorktree(this.worktreeOf(taskId));
  }

  /** `git diff` of a task's work against where it left `mergeInto` (or a given base). */
  async diff(taskId: string, options: { stat?: boolean } = {}): Promise<string> {
    const branch = this.branchOf(taskId);
    const tip = await resolveCommit(this.root, `refs/heads/${branch}`);
    if (!tip) throw new ValidationError(`task "${taskId}" has no branch ${branch} in ${this.root}: it has not started, or made no worktree`);
    const base = (await git(this.root, ['merge-base', await this.mergeIntoCommit(), tip])).stdout.trim();
    return (await git(this.root, ['diff', ...(options.stat ? ['--stat'] : []), base === tip ? `${tip}~1` : base, tip])).stdout;
  }

  /**
   * Housekeeping for `recover` and workers: `git worktree prune`, and
   * worktrees whose folder is broken (not on their branch any more) removed,
   * to be rebuilt by the next claimer. Returns what it removed.
   */
  async recover(): Promise<string[]> {
    await git(this.root, ['worktree', 'prune']);
    const removed: string[] = [];
    for (const name of fs.readdirSync(this.worktreesDir)) {
      if (name.startsWith('.')) continue;
      const wt = path.join(this.worktreesDir, name);
      let ok = false;
      try {
        ok = await this.isWorktreeOn(wt, `refs/heads/${this.branchOf(name)}`);
      } catch {
        ok = false;
      }
      if (!ok) {
        await this.dropWorktree(wt);
        removed.push(name);
      }
    }
    return removed;
  }

  /** The merge worktree, clean and detached at `commit` (whatever a killed merger left there). */
  private async mergeTree(commit: string): Promise<string> {
    const mt = path.join(this.worktreesDir, MERGE_TREE);
    if (fs.existsSync(mt) && (await isWorktreeRoot(mt))) {
      await git(mt, ['merge', '--abort'], { okCodes: [128] });
      await git(mt, ['reset', '-q', '--hard']);
      await git(mt, ['clean', '-q', '-fd']);
      await git(mt, ['checkout', '-q', '--detach', commit]);
      return mt;
    }
    await this.dropWorktree(mt);
    await git(this.root, ['worktree', 'prune']);
    await git(this.root, ['worktree', 'add', '-f', '-q', '--detach', mt, commit]);
    return mt;
  }

  private async isWorktreeOn(wt: string, ref: string): Promise<boolean> {
    if (!(await isWorktreeRoot(wt))) return false;
    const head = await git(wt, ['symbolic-ref', '-q', 'HEAD'], { okCodes: [1, 128] });
    return head.exitCode === 0 && head.stdout.trim() === ref;
  }

  private async dropWorktree(wt: string): Promise<void> {
    if (!isInside(this.worktreesDir, wt) || wt === this.worktreesDir) throw new ValidationError(`refusing to remove ${wt}: not a team worktree`);
    await git(this.root, ['worktree', 'remove', '--force', '--force', wt], { okCodes: [128] });
    fs.rmSync(wt, { recursive: true, force: true });
    await git(this.root, ['worktree', 'prune']);
  }
}

/** Runs a test command line in `cwd`: split into words (no shell), a minimal environment without API keys, output clipped. */
export async function runTestCommand(command: string, cwd: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<TestOutcome> {
  const [file, ...args] = splitCommandLine(command, 'codebase.test');
  const outcome = await runProcess({
    file: file as string,
    args,
    cwd,
    env: { ...minimalEnv(), CI: '1' },
    stdin: '',
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    maxStdoutBytes: 256 * 1024,
  });
  const output = [outcome.stdout, outcome.stderrTail, outcome.spawnError ? `cannot start: ${outcome.spawnError.message}` : '']
    .filter(Boolean)
    .join('\n');
  return {
    command,
    passed: outcome.exitCode === 0 && !outcome.timedOut,
    exitCode: outcome.exitCode,
    timedOut: outcome.timedOut,
    durationMs: outcome.durationMs,
    output: clipTail(output, OUTPUT_LIMIT),
  };
}

export function testSummary(test: TestOutcome): string {
  if (test.timedOut) return `\`${test.command}\` timed out after ${test.durationMs} ms`;
  return `\`${test.command}\` ${test.passed ? 'passed' : `exited with ${test.exitCode ?? 'a signal'}`} in ${test.durationMs} ms`;
}

/** Keeps the end of a long output (where test failures are), saying what was cut. */
export function clipTail(text: string, max: number): string {
  if (text.length <= max) return text;
  return `[... ${text.length - max} characters cut ...]\n${text.slice(text.length - max)}`;
}

function identity(name: string): Record<string, string> {
  const email = `${name}@agent-team.invalid`;
  return { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
}

async function resolveCommit(cwd: string, rev: string): Promise<string | null> {
  const out = await git(cwd, ['rev-parse', '-q', '--verify', `${rev}^{commit}`], { okCodes: [1, 128] });
  return out.exitCode === 0 ? out.stdout.trim() : null;
}

async function isAncestor(cwd: string, a: string, b: string): Promise<boolean> {
  return (await git(cwd, ['merge-base', '--is-ancestor', a, b], { okCodes: [1] })).exitCode === 0;
}

async function isWorktreeRoot(wt: string): Promise<boolean> {
  try {
    const out = await git(wt, ['rev-parse', '--show-toplevel']);
    return fs.realpathSync(out.stdout.trim()) === fs.realpathSync(wt);
  } catch {
    return false;
  }
}

/** Every worktree of the repository and the branch it has checked out. */
async function worktreeBranches(root: string): Promise<Array<[string, string]>> {
  const out = (await git(root, ['worktree', 'list', '--porcelain'])).stdout;
  const pairs: Array<[string, string]> = [];
  let current = '';
  for (const line of out.split('\n')) {
    if (line.startsWith('worktree ')) current = line.slice(9);
    else if (line.startsWith('branch refs/heads/')) pairs.push([current, line.slice(18)]);
  }
  return pairs;
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Checks a `codebase` option's shape (the spec's zod schema checks it first for spec files). */
export function checkCodebaseConfig(config: CodebaseConfig): void {
  if (typeof config !== 'object' || config === null) throw new ValidationError('codebase must be an object with at least { repo }');
  if (typeof config.repo !== 'string' || config.repo === '') throw new ValidationError('codebase.repo must name a git repository (a folder)');
  if (config.isolation !== undefined && config.isolation !== 'worktree') {
    throw new ValidationError(
      `codebase.isolation ${JSON.stringify(config.isolation)} is not supported: use "worktree" (a git worktree per task; shared working trees are not built yet)`,
    );
  }
  if (config.test !== undefined) {
    if (typeof config.test !== 'string' || config.test.trim() === '') throw new ValidationError('codebase.test must be a command line such as "npm test"');
    splitCommandLine(config.test, 'codebase.test');
  }
  if (config.commands !== undefined && (!Array.isArray(config.commands) || config.commands.some((c) => typeof c !== 'string' || c.trim() === ''))) {
    throw new ValidationError('codebase.commands must be a list of command lines (e.g. ["npm test", "node *"])');
  }
  if (config.testTimeoutMs !== undefined && (!Number.isInteger(config.testTimeoutMs) || config.testTimeoutMs < 1 || config.testTimeoutMs > 2 ** 31 - 1)) {
    throw new ValidationError(`codebase.testTimeoutMs must be a whole number of ms from 1 to 2147483647, got ${String(config.testTimeoutMs)}`);
  }
}


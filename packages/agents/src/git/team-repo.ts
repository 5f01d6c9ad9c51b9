import fs from 'node:fs';
import path from 'node:path';
import { AbortError, ResourceLocks, ValidationError, assertValidId, describeValue } from '@agent-team/core';
import { minimalEnv } from '../command/env.js';
import { runProcess } from '../command/process-runner.js';
import { redactSecrets } from '../models/secrets.js';
import { type CommandRule, defaultCommandRules } from '../codebase/run-command.js';
import { GitError, type GitResult, git, gitLine, parseGitVersion } from './git.js';

/** The `codebase` section of a spec, or `AgentTeamOptions.codebase`. */
export interface TeamCodebaseOptions {
  /** The git repository (its working tree's folder). */
  repo: string;
  /** The branch or commit the work starts from. @default the repository's HEAD */
  base?: string;
  /** The command that says whether the code works, run through `sh -c` in a task's worktree and after each merge. */
  test?: string;
  /** The branch that receives the merged work. @default `agent-team/<team id>` */
  mergeInto?: string;
  /** What `run_command` may start. @default the test command and the read-only git commands */
  commands?: readonly CommandRule[];
  /** Variables passed on to commands and the test besides the minimal set. */
  env?: Readonly<Record<string, string>>;
  /** Longest a test run may take. @default 600_000 */
  testTimeoutMs?: number;
  /** Merge even when the tests fail after the merge. @default false */
  allowFailingTests?: boolean;
  /**
   * `worktree`: a worktree and branch per task, merged through the merge queue.
   * `shared`: every write agent in one team working tree on `mergeInto`
   * (`worktrees/_shared`; your checkout is still never touched), a file held
   * by a path lock from a task's first write until its commit, and each task
   * committed on `mergeInto` by the paths it wrote.
   * @default 'worktree'
   */
  isolation?: 'worktree' | 'shared';
}

export interface TestOutcome {
  command: string;
  passed: boolean;
  /** The tests failed where this work started too (it did not make them fail). */
  baseFailed?: boolean;
  exitCode: number | null;
  durationMs: number;
  timedOut: boolean;
  /** The end of the output (stdout and stderr). */
  output: string;
}

export interface CommitInfo {
  /** The tip of the task's branch when it holds work not yet in `mergeInto`; undefined when there is nothing to merge. */
  commit: string | undefined;
  /** This attempt committed something (false: it changed nothing more). */
  committedNow: boolean;
  /** Where the branch left `mergeInto`: `git diff <base> <commit>` is the task's change. */
  base: string;
  /** The repository. */
  repo: string;
  branch: string;
  /** `git diff --stat` of the task's work against where its branch started. */
  diffStat: string;
}

export type MergeOutcome =
  | { merged: true; commit: string; into: string; test?: TestOutcome }
  | { merged: false; reason: 'conflict'; files: string[]; detail: string }
  | { merged: false; reason: 'tests'; test: TestOutcome };

const MERGE_LOCK = 'merge-queue';
/**
 * Settings for the team's commits: no signing (no agent holds the user's key),
 * and no automatic maintenance: `git commit` would otherwise start a
 * `git maintenance run --auto` process after each commit. The loose objects of
 * the team's commits are packed by the user's own next `git gc --auto` or
 * `git maintenance run`.
 */
const NO_SIGNING_NO_MAINTENANCE = ['-c', 'commit.gpgsign=false', '-c', 'maintenance.auto=false', '-c', 'gc.auto=0'] as const;
const TAIL = 4000;
/** Parked worktrees an agent keeps for its next tasks (one per task it runs at a time is enough). */
const POOL_SIZE = 4;

/**
 * A team's git repository: a worktree per task on a branch the team owns,
 * commits by agent, and a merge queue into `mergeInto`. The user's checkout
 * (its working tree, index, HEAD and branch) is never touched: every command
 * runs in a worktree under `<workspace>/worktrees/`, and `mergeInto` moves only
 * by a compare-and-swap `update-ref` after a merge (and its tests) succeeded in
 * the team's own merge worktree, so it never holds a half-merge.
 */
export class TeamRepo {
  readonly repo: string;
  readonly mergeInto: string;
  readonly base: string;
  readonly test: string | undefined;
  readonly commands: readonly CommandRule[];
  readonly env: Readonly<Record<string, string>>;
  readonly worktrees: string;
  readonly isolation: 'worktree' | 'shared';
  /** With `isolation: shared`: the team working tree, and the path locks on its files (stale after a lease). */
  readonly shared: { dir: string; locks: ResourceLocks } | undefined;
  private readonly locks: ResourceLocks;
  /** The repository's git folder (shared by its worktrees): where its refs are. */
  private readonly commonDir: string;
  /** Worktrees this process parked ({@link park}); {@link close} removes those still parked. */
  private readonly parked = new Set<string>();

  private constructor(
    readonly teamId: string,
    readonly options: TeamCodebaseOptions,
    resolved: { repo: string; commonDir: string; base: string; mergeInto: string; worktrees: string; shared?: { dir: string; locks: ResourceLocks } },
  ) {
    this.repo = resolved.repo;
    this.commonDir = resolved.commonDir;
    this.base = resolved.base;
    this.mergeInto = resolved.mergeInto;
    this.worktrees = resolved.worktrees;
    this.isolation = options.isolation ?? 'worktree';
    this.shared = resolved.shared;
    this.test = options.test;
    this.commands = options.commands ?? defaultCommandRules(options.test);
    this.env = options.env ?? {};
    fs.mkdirSync(this.worktrees, { recursive: true });
    // A merge lock left by a killed worker is taken over after 6 s (its holder refreshes it every 2 s).
    this.locks = new ResourceLocks({ root: this.worktrees, lockDir: path.join(this.worktrees, '.locks'), staleMs: 6000 });
  }

  /**
   * Checks the repository and prepares `mergeInto` (created at `base` when
   * missing). Refuses, before anything starts: no git, a folder that is not a
   * repository, an unknown base, uncommitted changes when the base is HEAD,
   * and a `mergeInto` checked out in a working tree of the user's.
   */
  static async open(teamId: string, options: TeamCodebaseOptions, workspaceDir: string, settings: { leaseMs?: number } = {}): Promise<TeamRepo> {
    assertValidId('team', teamId);
    if (options.isolation !== undefined && options.isolation !== 'worktree' && options.isolation !== 'shared') {
      throw new ValidationError(`codebase.isolation must be "worktree" or "shared", got ${describeValue(options.isolation)}`);
    }
    if (typeof options.repo !== 'string' || options.repo === '') {
      throw new ValidationError(`codebase.repo must be the folder of a git repository, got ${describeValue(options.repo)}`);
    }
    const given = path.resolve(options.repo);
    if (!fs.existsSync(given)) throw new ValidationError(`codebase.repo ${describeValue(given)} does not exist`);
    const version = await git(given, ['--version']).catch((err: unknown) => {
      throw new ValidationError(err instanceof GitError ? err.message : `git cannot run: ${String(err)}`);
    });
    const [major = 0, minor = 0] = parseGitVersion(version.stdout) ?? [];
    if (major < 2 || (major === 2 && minor < 38)) {
      // merge-tree --write-tree (the merge queue's merge without a worktree) came in git 2.38.
      throw new ValidationError(`a coding team needs git 2.38 or newer; this is ${version.stdout.trim() || 'an unknown version'}: install a newer git`);
    }
    let repo: string;
    let commonDir: string;
    try {
      const [top = '', common = ''] = (await gitLine(given, ['rev-parse', '--show-toplevel', '--git-common-dir'])).split('\n');
      repo = top;
      commonDir = path.resolve(given, common);
    } catch {
      throw new ValidationError(`codebase.repo ${describeValue(given)} is not a git repository: run "git init" there, or point repo at one`);
    }
    const baseRef = options.base ?? 'HEAD';
    let base: string;
    try {
      base = await gitLine(repo, ['rev-parse', '--verify', '--quiet', `${baseRef}^{commit}`]);
    } catch {
      throw new ValidationError(`codebase.base ${describeValue(baseRef)} is not a branch or commit of ${repo}${options.base === undefined ? ' (the repository has no commit yet: commit something first)' : ''}`);
    }
    if (options.base === undefined) {
      const dirty = (await git(repo, ['status', '--porcelain', '--untracked-files=no'])).stdout.trim();
      if (dirty !== '') {
        throw new ValidationError(
          `${repo} has uncommitted changes, which the team would not see (it starts from HEAD's commit): commit or stash them, or set codebase.base`,
        );
      }
    }
    const mergeInto = options.mergeInto ?? `agent-team/${teamId}`;
    if ((await git(repo, ['check-ref-format', '--branch', mergeInto], { allowFailure: [1, 128] })).exitCode !== 0) {
      throw new ValidationError(`codebase.mergeInto ${describeValue(mergeInto)} is not a valid branch name`);
    }
    // Git records real paths: the folder is compared with them as a real path too (a workspace under a link, /var on macOS).
    fs.mkdirSync(path.resolve(workspaceDir, 'worktrees'), { recursive: true });
    const worktrees = fs.realpathSync(path.resolve(workspaceDir, 'worktrees'));
    const checkedOut = await checkedOutBranches(repo);
    const holder = checkedOut.get(`refs/heads/${mergeInto}`);
    if (holder !== undefined && !isInsideFolder(worktrees, holder)) {
      throw new ValidationError(
        `codebase.mergeInto ${describeValue(mergeInto)} is checked out in ${holder}; the team never touches your checkout: choose a branch of its own (the default is agent-team/${teamId})`,
      );
    }
    const exists = (await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${mergeInto}`], { allowFailure: [1] })).exitCode === 0;
    if (!exists) await git(repo, ['branch', mergeInto, base]);
    // Housekeeping: registrations of worktrees whose folders are gone (finished tasks, a removed workspace).
    await git(repo, ['worktree', 'prune']);
    // Where the repository is, for `agent-team recover` and `diff` in this workspace.
    fs.mkdirSync(worktrees, { recursive: true });
    fs.writeFileSync(path.join(worktrees, 'repo.json'), `${JSON.stringify({ repo, mergeInto, teamId })}\n`);
    if (options.testTimeoutMs !== undefined && (!Number.isInteger(options.testTimeoutMs) || options.testTimeoutMs < 1000)) {
      throw new ValidationError(`codebase.testTimeoutMs must be a whole number of ms >= 1000, got ${describeValue(options.testTimeoutMs)}`);
    }
    const shared = options.isolation === 'shared' ? await sharedTree(repo, worktrees, mergeInto, settings.leaseMs ?? 30_000) : undefined;
    return new TeamRepo(teamId, options, { repo, commonDir, base, mergeInto, worktrees, ...(shared ? { shared } : {}) });
  }

  /**
   * The branch of a task's work: `agent-team-tasks/<team>/<task>`. (Not under
   * `agent-team/<team>/`: git cannot hold a branch `agent-team/<team>`, the
   * default `mergeInto`, and branches below it.)
   */
  branchOf(taskId: string): string {
    // Valid task ids that git refuses in a branch name (git check-ref-format): a clear error, not a git one at each attempt.
    if (/\.\.|\.lock$|\.$|^\./.test(taskId)) {
      throw new ValidationError(`task id ${describeValue(taskId)} cannot name a git branch (no "..", no leading or trailing ".", no ".lock" at the end): give a coding task another id`);
    }
    return `agent-team-tasks/${this.teamId}/${taskId}`;
  }

  /**
   * The task's worktree, on its branch: reused when a killed worker left it
   * (its uncommitted edits included), rebuilt when it is broken, else made
   * from `mergeInto` as it is now (so the task sees its dependencies' merged
   * work) when the branch does not exist yet. With `agentId`, a worktree the
   * agent parked after its last task ({@link park}) is moved here and switched
   * to the task's branch, which is much cheaper than checking out a new one.
   */
  async worktreeFor(taskId: string, agentId?: string): Promise<string> {
    assertValidId('task', taskId);
    if (this.shared) return this.shared.dir;
    const dir = path.join(this.worktrees, taskId);
    const branch = this.branchOf(taskId);
    if (fs.existsSync(dir)) {
      // Read from git's files (no process): HEAD names the task's branch once a checkout is complete.
      const found = linkedWorktree(dir);
      if (found?.head === `ref: refs/heads/${branch}`) {
        // A git command cut off by a kill leaves its index lock: only this task's claimer works here.
        fs.rmSync(path.join(found.gitDir, 'index.lock'), { force: true });
        return dir;
      }
      discardWorktree(dir);
    }
    if (agentId !== undefined && (await this.fromPool(agentId, dir, branch))) return dir;
    // The common case in one git call: a new branch from mergeInto. Else the branch exists (a retry), or a
    // stale registration of this path is in the way (its folder was removed): prune, and add on the branch.
    try {
      await this.withGitRetry(() => git(this.repo, ['worktree', 'add', '--quiet', '-b', branch, dir, this.mergeInto]));
    } catch (err) {
      if (!(err instanceof GitError)) throw err;
      await this.withGitRetry(() => git(this.repo, ['worktree', 'prune']));
      const hasBranch = (await git(this.repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { allowFailure: [1] })).exitCode === 0;
      if (hasBranch) await this.releaseFromPool(branch);
      await this.withGitRetry(() =>
        git(this.repo, hasBranch ? ['worktree', 'add', '--quiet', dir, branch] : ['worktree', 'add', '--quiet', '-b', branch, dir, this.mergeInto]),
      );
    }
    return dir;
  }

  /**
   * Takes a parked worktree of the agent's: moved to the task's folder
   * ({@link relocate}), then `git switch --force` to the task's branch (created from
   * `mergeInto`, or the existing one of a retried task). Git writes HEAD last,
   * so a worker killed half-way leaves a worktree whose HEAD is not the task's
   * branch, which the next claimer rebuilds. False when there is none to take.
   */
  private async fromPool(agentId: string, dir: string, branch: string): Promise<boolean> {
    assertValidId('agent', agentId);
    const pool = path.join(this.worktrees, '_idle', agentId);
    let names: string[];
    try {
      names = fs.readdirSync(pool).sort();
    } catch {
      return false;
    }
    for (const name of names) {
      const idle = path.join(pool, name);
      if (!linkedWorktree(idle)) {
        discardWorktree(idle); // broken (a move cut off half-way): pruned later
        continue;
      }
      try {
        await this.relocate(idle, dir);
      } catch (err) {
        if (!(err instanceof GitError) && !isFsError(err)) throw err;
        discardWorktree(idle);
        continue;
      }
      this.parked.delete(idle);
      const created = await git(dir, ['switch', '--quiet', '--force', '--no-guess', '--create', branch, `refs/heads/${this.mergeInto}`], { allowFailure: [128] });
      if (created.exitCode !== 0) {
        // The branch exists: a retried or re-opened task continues on it.
        await this.releaseFromPool(branch);
        const switched = await git(dir, ['switch', '--quiet', '--force', '--no-guess', branch], { allowFailure: [128] });
        if (switched.exitCode !== 0) {
          // Still held by a worktree whose folder was removed and not yet pruned: prune, then switch.
          await this.withGitRetry(() => git(this.repo, ['worktree', 'prune']));
          await git(dir, ['switch', '--quiet', '--force', '--no-guess', branch]);
        }
      }
      // No `git clean`: a worktree is parked right after its commit of everything (`git add --all`), so it
      // holds no untracked files; ignored ones (node_modules, build output) stay, ready for the next task.
      return true;
    }
    return false;
  }

  /** A parked worktree still on `branch` lets go of it (detaches), so the task's own worktree can check it out. */
  private async releaseFromPool(branch: string): Promise<void> {
    const holder = (await checkedOutBranches(this.repo)).get(`refs/heads/${branch}`);
    if (holder !== undefined && isInsideFolder(path.join(this.worktrees, '_idle'), holder)) await git(holder, ['switch', '--quiet', '--detach']);
  }

  /**
   * After a task's work is committed: its worktree is parked in the agent's
   * pool (`worktrees/_idle/<agent>/<task>`, at most {@link POOL_SIZE}) for the
   * agent's next task, instead of being removed. The pools of this process
   * are removed by {@link close}.
   */
  async park(taskId: string, agentId: string): Promise<void> {
    assertValidId('agent', agentId);
    const dir = path.join(this.worktrees, taskId);
    if (!fs.existsSync(dir)) return;
    const pool = path.join(this.worktrees, '_idle', agentId);
    fs.mkdirSync(pool, { recursive: true });
    // Named after the task it last held: a name no other parked worktree had, so no stale record of git's names it.
    if (fs.readdirSync(pool).length >= POOL_SIZE || fs.existsSync(path.join(pool, taskId))) return this.removeWorktree(taskId);
    const target = path.join(pool, taskId);
    try {
      await this.relocate(dir, target);
      this.parked.add(target);
    } catch (err) {
      if (!(err instanceof GitError) && !isFsError(err)) throw err;
      await this.removeWorktree(taskId);
    }
  }

  /**
   * Moves a linked worktree as `git worktree move` does, without starting git:
   * the folder is renamed, then git's record of where it is (the `gitdir`
   * file in its folder under `.git/worktrees/`, a documented part of the
   * repository layout) is rewritten, atomically. Cut off in between, the
   * record and the folder disagree, which {@link linkedWorktree} catches (the
   * worktree is then rebuilt) and `git worktree prune` tidies. A worktree with
   * submodules is moved by git itself (their records hold its path too).
   */
  private async relocate(from: string, to: string): Promise<void> {
    const linked = linkedWorktree(from);
    if (!linked || fs.existsSync(path.join(from, '.gitmodules'))) {
      await this.withGitRetry(() => git(this.repo, ['worktree', 'move', from, to]));
      return;
    }
    if (fs.existsSync(to)) throw new GitError(`cannot move the worktree ${from} to ${to}: it exists`, null, '');
    fs.mkdirSync(path.dirname(to), { recursive: true });
    // A record left by a worktree removed from there (its folder deleted, not yet pruned) would name the
    // place twice: prune it first, while the folder is missing.
    if (recordsNaming(path.dirname(linked.gitDir), to, linked.gitDir)) await this.withGitRetry(() => git(this.repo, ['worktree', 'prune']));
    fs.renameSync(from, to);
    const record = path.join(linked.gitDir, 'gitdir');
    const temp = `${record}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${path.join(fs.realpathSync(to), '.git')}\n`);
    fs.renameSync(temp, record);
  }

  /** A read-only view for an agent with `codebase: read`: a detached worktree at `mergeInto` as it is now. */
  async snapshotFor(agentId: string): Promise<string> {
    assertValidId('agent', agentId);
    const dir = path.join(this.worktrees, `_read-${agentId}`);
    // Checked by git's own files, not by asking git in the folder: git would find the user's repository above a folder left without its .git.
    if (linkedWorktree(dir)) {
      await git(dir, ['checkout', '--quiet', '--force', '--detach', `refs/heads/${this.mergeInto}`]);
      await git(dir, ['clean', '--quiet', '-fd']);
      return dir;
    }
    discardWorktree(dir);
    await this.withGitRetry(() => git(this.repo, ['worktree', 'prune']));
    await this.withGitRetry(() => git(this.repo, ['worktree', 'add', '--quiet', '--detach', dir, `refs/heads/${this.mergeInto}`]));
    return dir;
  }

  /**
   * Starts a task over from `mergeInto` as it is now: its branch is kept as
   * `<branch>-attempt-<n>` (nothing is lost) and the worktree removed, so the
   * next {@link worktreeFor} builds a fresh one.
   */
  async startOver(taskId: string, attempt: number): Promise<void> {
    if (this.shared) return; // no branch of its own: it goes on in the shared tree
    const dir = path.join(this.worktrees, taskId);
    const branch = this.branchOf(taskId);
    discardWorktree(dir);
    await this.withGitRetry(() => git(this.repo, ['worktree', 'prune']));
    const hasBranch = (await git(this.repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { allowFailure: [1] })).exitCode === 0;
    if (!hasBranch) return;
    // Kept under the next free name (never overwriting an earlier attempt's branch).
    const kept = (await git(this.repo, ['for-each-ref', '--format=%(refname:short)', `refs/heads/${branch}-attempt-*`])).stdout.split('\n').filter(Boolean);
    let n = Math.max(attempt, kept.length + 1);
    while (kept.includes(`${branch}-attempt-${n}`)) n += 1;
    await git(this.repo, ['branch', '-m', branch, `${branch}-attempt-${n}`]);
  }

  /**
   * With `isolation: shared`: the files a task wrote so far, by any of its
   * attempts (`worktrees/.shared-touched/<task>`, one path a line), so the next
   * claimer of a task whose worker was killed commits them too.
   */
  touchedBy(taskId: string): string[] {
    assertValidId('task', taskId);
    try {
      return fs.readFileSync(path.join(this.worktrees, '.shared-touched', taskId), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  /** Notes that a task wrote a file of the shared tree (see {@link touchedBy}). */
  noteTouched(taskId: string, file: string): void {
    assertValidId('task', taskId);
    const dir = path.join(this.worktrees, '.shared-touched');
    fs.mkdirSync(dir, { recursive: true });
    fs.appendFileSync(path.join(dir, taskId), `${file}\n`);
  }

  /**
   * With `isolation: shared`: commits the files a task wrote (and only those:
   * other tasks' edits in the tree stay as they are) on `mergeInto`, one
   * commit at a time across the team's processes. Nothing is committed when
   * those files did not change.
   */
  async commitPaths(taskId: string, description: string, agentId: string, paths: readonly string[]): Promise<CommitInfo> {
    const shared = this.shared;
    if (!shared) throw new ValidationError('commitPaths is for codebase.isolation "shared"');
    const lock = await this.locks.acquire(MERGE_LOCK, { owner: agentId, waitMs: 10 * 60_000 });
    try {
      const dir = shared.dir;
      // Only the team's git writes this tree's index, under this lock: an index lock older than a few seconds was left by a kill.
      const gitDir = worktreeGitDir(dir);
      const indexLock = gitDir ? path.join(gitDir, 'index.lock') : undefined;
      const lockAge = indexLock ? fs.statSync(indexLock, { throwIfNoEntry: false }) : undefined;
      if (indexLock && lockAge && Date.now() - lockAge.mtimeMs > 10_000) fs.rmSync(indexLock, { force: true });
      let changed = false;
      // Literal pathspecs: a file named pages/[id].tsx is that file, not a pattern.
      let specs = paths.map((p) => `:(literal)${p}`);
      if (specs.length > 0) {
        const added = await git(dir, ['add', '--all', '--', ...specs], { allowFailure: [1, 128] });
        if (added.exitCode !== 0) {
          // Some paths cannot be added: ignored files (a .env, build output) and files that came and went. The rest are committed.
          specs = (await committablePaths(dir, paths)).map((p) => `:(literal)${p}`);
          if (specs.length > 0) await git(dir, ['add', '--all', '--', ...specs]);
        }
      }
      if (specs.length > 0) {
        const email = `${agentId}@agent-team.invalid`;
        const title = (description.split('\n')[0] ?? '').trim().slice(0, 72) || `task ${taskId}`;
        // `git commit -- <paths>` takes those paths only, whatever else is staged.
        const committed = await git(
          dir,
          ['-c', `user.name=${agentId}`, '-c', `user.email=${email}`, ...NO_SIGNING_NO_MAINTENANCE, 'commit', '--quiet', '--no-verify', `--author=${agentId} <${email}>`, '-m', `${title}\n\nTask: ${taskId}`, '--', ...specs],
          { allowFailure: [1] },
        );
        changed = committedSomething(committed, dir);
      }
      fs.rmSync(path.join(this.worktrees, '.shared-touched', taskId), { force: true });
      if (!changed) {
        const head = await gitLine(dir, ['rev-parse', 'HEAD']);
        return { commit: undefined, branch: this.mergeInto, base: head, repo: this.repo, diffStat: '', committedNow: false };
      }
      const [line = '', ...stat] = (await git(dir, ['show', '--stat', '--format=%H %P', 'HEAD'])).stdout.trimEnd().split('\n');
      const [commit = '', parent = ''] = line.split(' ');
      return { commit, branch: this.mergeInto, base: parent, repo: this.repo, diffStat: stat.filter((l, i) => i > 0 || l !== '').join('\n'), committedNow: true };
    } finally {
      await lock.release();
    }
  }

  /** Commits what the agent changed in the worktree (nothing when nothing changed). */
  async commit(worktree: string, taskId: string, description: string, agentId: string): Promise<CommitInfo> {
    const branch = this.branchOf(taskId);
    const head = linkedWorktree(worktree)?.head;
    if (head !== `ref: refs/heads/${branch}`) {
      // The merge takes the task's branch: work committed on another branch (a command that switched) would be lost quietly.
      throw new GitError(
        `the task's worktree ${worktree} is no longer on its branch ${branch} (HEAD: ${head ?? 'unreadable'}): something in the task switched branches there; ` +
          `its work is not merged from another branch. Switch back to ${branch} in that worktree, or leave git branches alone in tasks`,
        null,
        '',
      );
    }
    await git(worktree, ['add', '--all']);
    const title = (description.split('\n')[0] ?? '').trim().slice(0, 72) || `task ${taskId}`;
    const email = `${agentId}@agent-team.invalid`;
    const committed = await git(
      worktree,
      ['-c', `user.name=${agentId}`, '-c', `user.email=${email}`, ...NO_SIGNING_NO_MAINTENANCE, 'commit', '--quiet', '--no-verify', `--author=${agentId} <${email}>`, '-m', `${title}\n\nTask: ${taskId}`],
      { allowFailure: [1] },
    );
    const changed = committedSomething(committed, worktree);
    const work = await this.branchWork(worktree);
    // The branch's work not yet in mergeInto: this attempt's commit, or an earlier attempt's (a re-opened task that changed nothing more).
    const ahead = work.head !== work.forkPoint;
    const diffStat = !ahead ? '' : (work.stat ?? (await git(worktree, ['diff', '--stat', work.forkPoint, work.head])).stdout.trimEnd());
    return { commit: ahead ? work.head : undefined, branch, base: work.forkPoint, repo: this.repo, diffStat, committedNow: changed };
  }

  /**
   * The tip of a worktree's branch, where it left `mergeInto` (their merge
   * base), and, when the branch is one commit on top of `mergeInto` (a task's
   * usual case), that commit's diff stat, which is then the task's. A task's
   * branch is a line of commits on `mergeInto`, so one `git log` of its own
   * commits says all of it: they come newest first with their parents, and the
   * oldest one's parent is the fork point. A branch with merges of its own
   * asks `git merge-base`; one of several commits has its stat taken apart.
   */
  private async branchWork(worktree: string): Promise<{ head: string; forkPoint: string; stat?: string }> {
    const out = (await git(worktree, ['log', '--topo-order', '--format=%x00%H %P', '--stat', 'HEAD', '--not', `refs/heads/${this.mergeInto}`])).stdout;
    const own = out
      .split('\0')
      .filter(Boolean)
      .map((entry) => {
        const [line = '', ...rest] = entry.split('\n');
        return { shas: line.trim().split(' '), stat: rest.filter((l, i) => i > 0 || l !== '').join('\n').trimEnd() };
      });
    if (own.length === 0) {
      const head = await gitLine(worktree, ['rev-parse', 'HEAD']); // all of it is in mergeInto already
      return { head, forkPoint: head };
    }
    const head = own[0]?.shas[0] as string;
    if (own.every((commit) => commit.shas.length === 2)) {
      const forkPoint = own.at(-1)?.shas[1] as string;
      return own.length === 1 ? { head, forkPoint, stat: own[0]?.stat ?? '' } : { head, forkPoint };
    }
    return { head, forkPoint: await gitLine(worktree, ['merge-base', 'HEAD', `refs/heads/${this.mergeInto}`]) };
  }

  /**
   * The merge commit of a task in `mergeInto`, if one is there (message
   * `Merge task <id>`). For a task whose work is all in `mergeInto` already: a
   * worker killed after its merge moved `mergeInto` but before the result was
   * recorded leaves it so, and the next claimer has nothing new to commit.
   */
  async mergedAs(taskId: string): Promise<string | undefined> {
    assertValidId('task', taskId);
    const found = await gitLine(this.repo, ['log', '-1', '--merges', '--format=%H', lineGrep(`Merge task ${taskId}`), `refs/heads/${this.mergeInto}`]);
    return found || undefined;
  }

  /** The diff of a task's branch against where it left `mergeInto`. */
  async diff(taskId: string): Promise<string> {
    if (this.shared) {
      // The task's commits on mergeInto (their message ends with its id).
      const commits = (await git(this.repo, ['log', '--format=%H', taskGrep(taskId), `refs/heads/${this.mergeInto}`])).stdout.split('\n').filter(Boolean);
      return commits.length ? (await git(this.repo, ['show', '--format=commit %H%n%s%n', ...commits.reverse()])).stdout : '';
    }
    const branch = this.branchOf(taskId);
    const forkPoint = await gitLine(this.repo, ['merge-base', branch, this.mergeInto]);
    return (await git(this.repo, ['diff', forkPoint, branch])).stdout;
  }

  /** Runs the test command in a folder (a task's worktree, or the merge worktree). */
  async runTest(folder: string, signal?: AbortSignal): Promise<TestOutcome | undefined> {
    if (this.test === undefined) return undefined;
    const output: string[] = [];
    const outcome = await runProcess({
      file: this.test,
      args: [],
      shell: true,
      cwd: folder,
      env: { ...minimalEnv(), NO_COLOR: '1', ...this.env },
      stdin: '',
      timeoutMs: this.options.testTimeoutMs ?? 600_000,
      killGraceMs: 2000,
      ...(signal ? { signal } : {}),
      maxStdoutBytes: 1,
      maxStderrBytes: 1,
      onLine: (_stream, line) => {
        output.push(line);
        if (output.length > 400) output.shift();
      },
    });
    // Stopped (Ctrl-C, a timeout of the run, a lost lease): no outcome, so nothing is merged or remembered on it.
    if (outcome.aborted) throw new AbortError(`the test command (${this.test}) was stopped before it finished`);
    let text = output.join('\n');
    if (text.length > TAIL) text = `[...]\n${text.slice(-TAIL)}`;
    return {
      command: this.test,
      passed: outcome.exitCode === 0 && !outcome.timedOut,
      exitCode: outcome.exitCode,
      durationMs: outcome.durationMs,
      timedOut: outcome.timedOut,
      output: redactSecrets(text),
    };
  }

  /**
   * Merges a task's branch into `mergeInto`, one merge at a time across every
   * process (a resource lock in the workspace). The merge is made without a
   * working tree (`git merge-tree --write-tree`, then `git commit-tree`: a
   * merge commit with `mergeInto` and the branch as parents); with a test
   * command, the merge commit is checked out in the team's merge worktree and
   * tested there. `mergeInto` then moves by compare-and-swap (`git update-ref
   * <ref> <new> <old>`) to the merge commit. A conflict or failing tests leave
   * `mergeInto` as it was and say why.
   */
  async merge(taskId: string, agentId: string, signal?: AbortSignal): Promise<MergeOutcome> {
    if (this.shared) {
      // Shared tree: a task's commits are on mergeInto already; its merge is its last commit.
      const last = await gitLine(this.repo, ['log', '-1', '--format=%H', taskGrep(taskId), `refs/heads/${this.mergeInto}`]);
      return { merged: true, commit: last || (await gitLine(this.repo, ['rev-parse', `refs/heads/${this.mergeInto}`])), into: this.mergeInto };
    }
    const lock = await this.locks.acquire(MERGE_LOCK, { owner: agentId, waitMs: 10 * 60_000, ...(signal ? { signal } : {}) });
    try {
      const branch = this.branchOf(taskId);
      const [before, tip] = (await this.resolveBranches([this.mergeInto, branch])) as [string, string];
      // Exit 1: conflicts. Then stdout is the tree, the conflicted files, a blank line and git's messages.
      const written = await git(this.repo, ['merge-tree', '--write-tree', '--name-only', before, tip], { allowFailure: [1] });
      const [head = '', ...rest] = written.stdout.split('\n');
      if (written.exitCode !== 0) {
        const blank = rest.indexOf('');
        const files = (blank < 0 ? rest : rest.slice(0, blank)).filter(Boolean);
        const messages = blank < 0 ? [] : rest.slice(blank + 1).filter(Boolean);
        return { merged: false, reason: 'conflict', files, detail: messages.slice(-8).join('\n') };
      }
      const email = `${agentId}@agent-team.invalid`;
      const commit = await gitLine(this.repo, [
        '-c', `user.name=${agentId}`, '-c', `user.email=${email}`, ...NO_SIGNING_NO_MAINTENANCE,
        'commit-tree', head.trim(), '-p', before, '-p', tip, '-m', `Merge task ${taskId}`,
      ]);
      let test: TestOutcome | undefined;
      if (this.test !== undefined) {
        const dir = await this.mergeDir();
        await git(dir, ['checkout', '--quiet', '--force', '--detach', commit]);
        await git(dir, ['clean', '--quiet', '-fd']);
        test = await this.runTest(dir, signal);
        if (test) this.noteTestStatus(commit, test.passed);
        if (test && !test.passed && !this.options.allowFailingTests) {
          // The gate: a merge may not turn a passing mergeInto red. One that was red already may stay red
          // (a team fixing a failing suite merges its fixes one at a time).
          if ((await this.testStatusAt(before, dir, signal)) !== false) return { merged: false, reason: 'tests', test };
          test.baseFailed = true;
        }
      }
      // The commit point: mergeInto moves only if it is still where the merge started (and the run was not stopped meanwhile).
      if (signal?.aborted) throw new AbortError('the merge was stopped before mergeInto moved');
      lock.assertHeld(); // a merge lock that went stale (its holder stalled) is not this merge's any more
      await git(this.repo, ['update-ref', '-m', `agent-team: merge task ${taskId}`, `refs/heads/${this.mergeInto}`, commit, before]);
      return { merged: true, commit, into: this.mergeInto, ...(test ? { test } : {}) };
    } finally {
      await lock.release();
    }
  }

  /**
   * The commits branches point at. Read from their loose ref files (a
   * documented part of the repository layout, `<git dir>/refs/heads/<name>`,
   * which git writes on every update of a branch), which costs no process;
   * `git rev-parse` when any of them is not there as a loose ref (packed, a
   * reftable repository, a symbolic ref). A stale read cannot do harm where
   * this is used: `mergeInto` moves only by a compare-and-swap on the value read.
   */
  private async resolveBranches(names: readonly string[]): Promise<string[]> {
    const read = names.map((name) => {
      try {
        const text = fs.readFileSync(path.join(this.commonDir, 'refs', 'heads', ...name.split('/')), 'utf8').trim();
        return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(text) ? text : undefined;
      } catch {
        return undefined;
      }
    });
    if (read.every((sha): sha is string => sha !== undefined)) return read;
    return (await git(this.repo, ['rev-parse', ...names.map((name) => `refs/heads/${name}`)])).stdout.trim().split('\n');
  }

  /** The team's merge worktree (detached; tests of merged results run there), made or rebuilt when needed. */
  private async mergeDir(): Promise<string> {
    const dir = path.join(this.worktrees, '_merge');
    if (fs.existsSync(dir) && !linkedWorktree(dir)) discardWorktree(dir);
    if (!fs.existsSync(dir)) {
      await this.withGitRetry(() => git(this.repo, ['worktree', 'prune']));
      await this.withGitRetry(() => git(this.repo, ['worktree', 'add', '--quiet', '--detach', dir, this.mergeInto]));
    }
    // Whatever a killed process left there (a merge in progress, an index lock) goes: this worktree is only ever the team's.
    const gitDir = worktreeGitDir(dir);
    if (gitDir) for (const left of ['MERGE_HEAD', 'index.lock']) fs.rmSync(path.join(gitDir, left), { force: true });
    return dir;
  }

  /**
   * Whether the tests pass at a commit: remembered per commit (in
   * `worktrees/.test-status.json`, shared by the team's processes), else run
   * in `dir` (checked out there; the caller puts it back). Undefined without
   * a test command.
   */
  async testStatusAt(commit: string, dir: string, signal?: AbortSignal): Promise<boolean | undefined> {
    if (this.test === undefined) return undefined;
    const known = this.readTestStatus()[commit];
    if (known !== undefined) return known;
    await git(dir, ['checkout', '--quiet', '--force', '--detach', commit]);
    await git(dir, ['clean', '--quiet', '-fd']);
    const outcome = await this.runTest(dir, signal);
    const passed = outcome?.passed ?? true;
    this.noteTestStatus(commit, passed);
    return passed;
  }

  /** Each agent's probes one after the other (see {@link probeTestStatus}). */
  private readonly probes = new Map<string, Promise<unknown>>();

  /**
   * Whether the tests pass at a commit, probed in the agent's own probe
   * worktree ({@link probeDir}). An agent working on several tasks at once
   * probes one commit at a time there (two checkouts in one folder would test
   * one commit's files under the other's name).
   */
  async probeTestStatus(commit: string, agentId: string, signal?: AbortSignal): Promise<boolean | undefined> {
    const before = this.probes.get(agentId) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(async () => this.testStatusAt(commit, await this.probeDir(agentId), signal));
    this.probes.set(agentId, mine);
    try {
      return await mine;
    } finally {
      if (this.probes.get(agentId) === mine) this.probes.delete(agentId);
    }
  }

  /** A detached worktree of this agent's for probing a commit (its tests) outside the merge queue. */
  async probeDir(agentId: string): Promise<string> {
    assertValidId('agent', agentId);
    const dir = path.join(this.worktrees, `_probe-${agentId}`);
    if (linkedWorktree(dir)) return dir; // by git's files, as in snapshotFor

    discardWorktree(dir);
    await this.withGitRetry(() => git(this.repo, ['worktree', 'prune']));
    await this.withGitRetry(() => git(this.repo, ['worktree', 'add', '--quiet', '--detach', dir, `refs/heads/${this.mergeInto}`]));
    return dir;
  }

  private readTestStatus(): Record<string, boolean> {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.worktrees, '.test-status.json'), 'utf8')) as Record<string, boolean>;
    } catch {
      return {};
    }
  }

  private noteTestStatus(commit: string, passed: boolean): void {
    const all = { ...this.readTestStatus(), [commit]: passed };
    const file = path.join(this.worktrees, '.test-status.json');
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(all));
    fs.renameSync(temp, file);
  }

  /**
   * Housekeeping for `agent-team recover --codebase`: worktrees of tasks that
   * are final are removed (their branches stay), so are parked worktrees, worktrees that are broken
   * (not on their task's branch any more, or no longer a worktree) are
   * removed to be rebuilt from the branch by the next claimer, and git's
   * records of worktrees that are gone are pruned. Worktrees of tasks still
   * in progress are left alone, uncommitted edits included.
   */
  async housekeeping(isFinal: (taskId: string) => Promise<boolean>): Promise<{ finished: string[]; broken: string[]; parked: number }> {
    const finished: string[] = [];
    const broken: string[] = [];
    // Parked worktrees (worktrees/_idle) left by workers that are gone: safe to remove at any time, since a
    // worker takes one by a rename that then fails, and checks it before use.
    let parked = 0;
    const pools = path.join(this.worktrees, '_idle');
    for (const agent of fs.existsSync(pools) ? fs.readdirSync(pools) : []) {
      const pool = path.join(pools, agent);
      for (const name of fs.statSync(pool).isDirectory() ? fs.readdirSync(pool) : []) {
        fs.rmSync(path.join(pool, name), { recursive: true, force: true });
        parked += 1;
      }
    }
    const names = fs.existsSync(this.worktrees) ? fs.readdirSync(this.worktrees) : [];
    for (const name of names.sort()) {
      if (name.startsWith('_') || name.startsWith('.')) continue;
      const dir = path.join(this.worktrees, name);
      if (!fs.lstatSync(dir).isDirectory()) continue; // repo.json and the like
      const head = await git(dir, ['symbolic-ref', '--quiet', 'HEAD'], { allowFailure: [1, 128] });
      const top = head.exitCode === 0 ? await git(dir, ['rev-parse', '--show-toplevel'], { allowFailure: [128] }) : undefined;
      const valid =
        head.exitCode === 0 && head.stdout.trim() === `refs/heads/${this.branchOf(name)}` && top?.exitCode === 0 && fs.realpathSync(top.stdout.trim()) === fs.realpathSync(dir);
      if (!valid) {
        discardWorktree(dir);
        broken.push(name);
      } else if (await isFinal(name)) {
        discardWorktree(dir);
        finished.push(name);
      }
    }
    await this.withGitRetry(() => git(this.repo, ['worktree', 'prune']));
    return { finished, broken, parked };
  }

  /**
   * Removes a finished task's worktree (its branch stays). Its registration in
   * the repository is pruned later (the next prune, or when the path is needed again).
   */
  async removeWorktree(taskId: string): Promise<void> {
    await fs.promises.rm(path.join(this.worktrees, taskId), { recursive: true, force: true });
  }

  /** Git takes lock files on refs and worktree metadata; processes of one team can meet there. */
  private async withGitRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (attempt >= 8 || !(err instanceof GitError) || !/\.lock|locked|unable to create/i.test(err.message)) throw err;
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
      }
    }
  }

  /** Releases the merge lock if held, and removes the worktrees this process parked (git's records of them are pruned). */
  async close(): Promise<void> {
    await this.locks.releaseAll();
    await this.shared?.locks.releaseAll();
    if (this.parked.size === 0) return;
    for (const dir of this.parked) await fs.promises.rm(dir, { recursive: true, force: true });
    this.parked.clear();
    await this.withGitRetry(() => git(this.repo, ['worktree', 'prune'])).catch(() => {});
  }
}

/**
 * `agent-team recover` for a coding team's worktrees: removes the worktrees of
 * tasks that are finished (completed, failed, cancelled) or gone, and the
 * agents' parked worktrees, then prunes
 * the repository's registrations. Worktrees of unfinished tasks stay (the next
 * claimer continues there). Returns what it removed.
 */
export async function recoverWorktrees(worktreesDir: string, statusOf: (taskId: string) => Promise<string | undefined>): Promise<string[]> {
  let info: { repo?: unknown };
  try {
    info = JSON.parse(fs.readFileSync(path.join(worktreesDir, 'repo.json'), 'utf8')) as { repo?: unknown };
  } catch {
    return [];
  }
  if (typeof info.repo !== 'string' || !fs.existsSync(info.repo)) return [];
  const removed: string[] = [];
  for (const entry of fs.readdirSync(worktreesDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
    const status = await statusOf(entry.name);
    if (status === undefined || status === 'completed' || status === 'failed' || status === 'cancelled') {
      fs.rmSync(path.join(worktreesDir, entry.name), { recursive: true, force: true });
      removed.push(entry.name);
    }
  }
  // Agents' parked worktrees go too (see TeamRepo.housekeeping): a live worker makes a new one if it needs it.
  fs.rmSync(path.join(worktreesDir, '_idle'), { recursive: true, force: true });
  await git(info.repo, ['worktree', 'prune']);
  return removed;
}

/** Of the paths a task wrote in the shared tree, those git can commit: not ignored, and there or tracked (a deletion). */
async function committablePaths(dir: string, paths: readonly string[]): Promise<string[]> {
  const literal = paths.map((p) => `:(literal)${p}`);
  const ignored = new Set((await git(dir, ['check-ignore', '--stdin', '-z'], { allowFailure: [1], input: paths.join('\0') })).stdout.split('\0').filter(Boolean));
  const tracked = new Set((await git(dir, ['ls-files', '-z', '--', ...literal])).stdout.split('\0').filter(Boolean));
  return paths.filter((p) => !ignored.has(p) && (tracked.has(p) || fs.existsSync(path.join(dir, p))));
}

/**
 * Whether a `git commit` made a commit: exit 0. Exit 1 is "nothing to commit"
 * only when git says so; anything else that exits 1 (a user's hook that
 * failed, say) is an error, so work is never taken for "no change".
 */
function committedSomething(result: GitResult, cwd: string): boolean {
  if (result.exitCode === 0) return true;
  const said = `${result.stdout}\n${result.stderr}`;
  if (/nothing to commit|nothing added to commit|no changes added to commit/.test(said)) return false;
  throw new GitError(`git commit failed in ${cwd}: ${said.trim().split('\n').slice(-6).join('\n')}`, result.exitCode, result.stderr);
}

/** `git log` option selecting a task's commits: their message has the line `Task: <id>`. */
function taskGrep(taskId: string): string {
  return lineGrep(`Task: ${taskId}`);
}

/** `git log` option selecting commits whose message has this exact line. */
function lineGrep(line: string): string {
  return `--grep=^${line.replace(/[.[\]*^$\\]/g, '\\$&')}$`;
}

/**
 * The team working tree of `isolation: shared`: `worktrees/_shared`, on the
 * `mergeInto` branch (made, or rebuilt when it is not that any more), with
 * path locks in `worktrees/.path-locks` that go stale a lease after their
 * holder stops (a killed agent's files are free when its task's lease is up).
 */
async function sharedTree(repo: string, worktrees: string, mergeInto: string, leaseMs: number): Promise<{ dir: string; locks: ResourceLocks }> {
  const dir = path.join(worktrees, '_shared');
  if (fs.existsSync(dir) && linkedWorktree(dir)?.head !== `ref: refs/heads/${mergeInto}`) discardWorktree(dir);
  if (!fs.existsSync(dir)) {
    await git(repo, ['worktree', 'prune']);
    const added = await git(repo, ['worktree', 'add', '--quiet', dir, mergeInto], { allowFailure: [128] });
    // Another process of the team made it meanwhile: use theirs.
    if (added.exitCode !== 0 && linkedWorktree(dir)?.head !== `ref: refs/heads/${mergeInto}`) throw new GitError(`git worktree add ${dir} ${mergeInto} failed: ${added.stderr.trim()}`, added.exitCode, added.stderr);
  }
  const staleMs = Math.max(2000, leaseMs);
  const locks = new ResourceLocks({ root: dir, lockDir: path.join(worktrees, '.path-locks'), staleMs, takeOverDeadHolders: false });
  return { dir, locks };
}

/** Whether a record in git's `worktrees/` folder other than `except` names `dir` as its worktree. */
function recordsNaming(records: string, dir: string, except: string): boolean {
  // Git records real paths; `dir` itself may not exist (its parent does).
  const real = path.join(fs.realpathSync(path.dirname(dir)), path.basename(dir));
  const wanted = path.join(real, '.git');
  let names: string[];
  try {
    names = fs.readdirSync(records);
  } catch {
    return false;
  }
  for (const name of names) {
    const record = path.join(records, name);
    if (record === except) continue;
    try {
      const named = fs.readFileSync(path.join(record, 'gitdir'), 'utf8').trim();
      if (named === wanted || path.resolve(path.dirname(named)) === real) return true;
    } catch {
      // not a worktree record
    }
  }
  return false;
}

function isFsError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

/**
 * A linked worktree as git's own files describe it, without running git: its
 * `.git` file names its folder in the repository, that folder's `gitdir` file
 * names this worktree back (so it is registered here and not moved half-way),
 * its checkout is complete (an index, no `locked` file of a `git worktree add`
 * still running or killed), and `head` is the content of its HEAD
 * (`ref: refs/heads/...`, or a commit). Undefined when any of that does not hold.
 */
function linkedWorktree(dir: string): { gitDir: string; head: string } | undefined {
  const gitDir = worktreeGitDir(dir);
  if (gitDir === undefined) return undefined;
  try {
    const back = fs.readFileSync(path.join(gitDir, 'gitdir'), 'utf8').trim();
    if (fs.realpathSync(path.dirname(back)) !== fs.realpathSync(dir)) return undefined;
    // `git worktree add` writes HEAD before its checkout and holds a `locked` file until the checkout is done:
    // one killed in between has HEAD on the branch but part of the files and no index. That is not a worktree to use.
    if (fs.existsSync(path.join(gitDir, 'locked')) || !fs.existsSync(path.join(gitDir, 'index'))) return undefined;
    return { gitDir, head: fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim() };
  } catch {
    return undefined;
  }
}

/**
 * Removes a worktree of the team's that is broken or done with. Its record in
 * the repository goes with the next `git worktree prune`, which skips locked
 * records: the `locked` file a killed `git worktree add` left is removed first
 * (no worktree of the team's is ever locked on purpose).
 */
function discardWorktree(dir: string): void {
  const gitDir = worktreeGitDir(dir);
  if (gitDir) fs.rmSync(path.join(gitDir, 'locked'), { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The git folder of a linked worktree (its `.git` file says where), or undefined. */
function worktreeGitDir(dir: string): string | undefined {
  try {
    const text = fs.readFileSync(path.join(dir, '.git'), 'utf8');
    const match = /^gitdir: (.+)$/m.exec(text);
    return match ? path.resolve(dir, (match[1] as string).trim()) : undefined;
  } catch {
    return undefined;
  }
}

async function checkedOutBranches(repo: string): Promise<Map<string, string>> {
  const out = (await git(repo, ['worktree', 'list', '--porcelain'])).stdout;
  const map = new Map<string, string>();
  let current = '';
  for (const line of out.split('\n')) {
    if (line.startsWith('worktree ')) current = line.slice('worktree '.length);
    else if (line.startsWith('branch ')) map.set(line.slice('branch '.length), current);
  }
  return map;
}

function isInsideFolder(folder: string, candidate: string): boolean {
  const rel = path.relative(folder, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

// An agent's worktree pool: after a task's work is committed its worktree is
// parked (`worktrees/_idle/<agent>/<n>`) and the agent's next task takes it
// (moved as `git worktree move` does, then `git switch`) instead of checking
// out a new one.
// The guarantees of a worktree per task hold: the task sees mergeInto as it is
// at claim time, a task branch held by a parked worktree can still be claimed,
// a broken parked worktree is never used, and the user's checkout is untouched.
// Real git.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { TeamRepo } from '../../src/git/team-repo.js';
import { tempDir } from '../helpers.js';
import { checkoutOf, git, initRepo } from './repo-fixture.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});


function makeRepo() {
  dir = tempDir('worktree-pool-');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo);
  fs.writeFileSync(path.join(repo, 'a.txt'), 'one\n');
  fs.writeFileSync(path.join(repo, '.gitignore'), 'cache/\n');
  initRepo(repo);
  const checkout = checkoutOf(repo, { ignored: true });
  return { repo, workspace: path.join(dir, 'ws'), checkout, before: checkout() };
}

it('the next task takes the parked worktree, on a new branch from mergeInto as it is now; ignored files stay, nothing else carries over', async () => {
  const { repo, workspace, checkout, before } = makeRepo();
  const team = await TeamRepo.open('pool', { repo }, workspace);
  const first = await team.worktreeFor('t1', 'w1');
  fs.writeFileSync(path.join(first, 'b.txt'), 'from t1\n');
  fs.mkdirSync(path.join(first, 'cache'));
  fs.writeFileSync(path.join(first, 'cache', 'built'), 'kept\n'); // ignored: an install or build the next task can use
  const work = await team.commit(first, 't1', 'Add b', 'w1');
  expect(work.diffStat).toMatch(/b\.txt \| 1 \+/);
  expect(work.base).toBe(git(repo, 'rev-parse', 'main'));
  expect(await team.merge('t1', 'w1')).toMatchObject({ merged: true });
  await team.park('t1', 'w1');
  const parked = path.join(workspace, 'worktrees', '_idle', 'w1', 't1');
  expect(fs.existsSync(first)).toBe(false);
  expect(git(parked, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(team.branchOf('t1'));
  // git's record follows the move: it lists the parked worktree where it is, and a prune keeps it.
  git(repo, 'worktree', 'prune');
  expect(git(repo, 'worktree', 'list', '--porcelain')).toContain(`worktree ${fs.realpathSync(parked)}\n`);
  expect(git(repo, 'worktree', 'list', '--porcelain')).not.toContain(`worktree ${first}\n`);

  const second = await team.worktreeFor('t2', 'w1');
  expect(second).toBe(path.join(workspace, 'worktrees', 't2'));
  expect(fs.existsSync(parked)).toBe(false);
  expect(git(second, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(team.branchOf('t2'));
  expect(git(second, 'rev-parse', 'HEAD')).toBe(git(repo, 'rev-parse', team.mergeInto)); // t1's merged work is there
  expect(fs.readFileSync(path.join(second, 'b.txt'), 'utf8')).toBe('from t1\n');
  expect(fs.readFileSync(path.join(second, 'cache', 'built'), 'utf8')).toBe('kept\n');
  expect(git(second, 'status', '--porcelain')).toBe('');
  // git knows the worktree where it is now; no record is left of the old place.
  const listed = git(repo, 'worktree', 'list', '--porcelain');
  expect(listed).toContain(`worktree ${fs.realpathSync(second)}`);
  expect(listed).not.toContain('_idle');
  // Its commit starts from there: the stat is t2's own change only.
  fs.writeFileSync(path.join(second, 'a.txt'), 'two\n');
  const work2 = await team.commit(second, 't2', 'Change a', 'w1');
  expect(work2.diffStat).toMatch(/a\.txt \| 2 \+-/);
  expect(work2.diffStat).not.toContain('b.txt');
  expect(work2.base).toBe(git(repo, 'rev-parse', team.mergeInto));
  await team.close();
  expect(checkout()).toBe(before);
});

it('a task whose branch a parked worktree still holds is claimed on that branch, with its commits', async () => {
  const { repo, workspace, checkout, before } = makeRepo();
  const team = await TeamRepo.open('pool', { repo }, workspace);
  const wt = await team.worktreeFor('t1', 'w1');
  fs.writeFileSync(path.join(wt, 'a.txt'), 'changed by w1\n');
  const work = await team.commit(wt, 't1', 'Change a', 'w1');
  await team.park('t1', 'w1'); // parked while still on t1's branch
  // The task is claimed again (re-opened) by another agent, with no pool of its own: it gets t1's branch.
  const again = await team.worktreeFor('t1', 'w2');
  expect(git(again, 'rev-parse', 'HEAD')).toBe(work.commit);
  expect(fs.readFileSync(path.join(again, 'a.txt'), 'utf8')).toBe('changed by w1\n');
  // And by w1 from its pool (after w2 parked nothing): the same branch, switched to with --force over a stale state.
  await team.removeWorktree('t1');
  const parked = path.join(workspace, 'worktrees', '_idle', 'w1', 't1');
  expect(fs.existsSync(parked)).toBe(true);
  const third = await team.worktreeFor('t1', 'w1');
  expect(fs.existsSync(parked)).toBe(false);
  expect(git(third, 'rev-parse', 'HEAD')).toBe(work.commit);
  expect(git(third, 'status', '--porcelain')).toBe('');
  await team.close();
  expect(checkout()).toBe(before);
});

it('a parked worktree that is broken (moved half-way, or not a worktree) is removed, never used; close removes the pool', async () => {
  const { repo, workspace, checkout, before } = makeRepo();
  const team = await TeamRepo.open('pool', { repo }, workspace);
  const wt = await team.worktreeFor('t1', 'w1');
  await team.commit(wt, 't1', 'Nothing', 'w1');
  await team.park('t1', 'w1');
  const pool = path.join(workspace, 'worktrees', '_idle', 'w1');
  // A move cut off half-way: the folder is renamed, but git's record still names the old place.
  fs.renameSync(path.join(pool, 't1'), path.join(pool, 'x1'));
  fs.mkdirSync(path.join(pool, 'x2'));
  fs.writeFileSync(path.join(pool, 'x2', 'junk'), '');
  const next = await team.worktreeFor('t2', 'w1');
  expect(fs.readdirSync(pool)).toEqual([]);
  expect(git(next, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(team.branchOf('t2'));
  expect(git(next, 'rev-parse', 'HEAD')).toBe(git(repo, 'rev-parse', 'main'));
  await team.commit(next, 't2', 'Nothing', 'w1');
  await team.park('t2', 'w1');
  expect(fs.readdirSync(pool)).toEqual(['t2']);
  await team.close();
  expect(fs.existsSync(path.join(pool, 't2'))).toBe(false);
  expect(git(repo, 'worktree', 'list')).not.toContain(workspace);
  expect(checkout()).toBe(before);
});

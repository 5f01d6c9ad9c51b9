// What a task's commit reports (its tip, where it left mergeInto, its diff
// stat) and what the merge reads of the branches, on each shape a task's branch
// can take: one commit (read from one `git log`), several commits (a re-opened
// task), a merge of its own, nothing new; and with the branches packed (no
// loose ref files: the merge asks git); and under a user's git settings that
// change git's output (colour always, signatures shown). Each figure is
// checked against what git itself says. Real git.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { TeamRepo } from '../../src/git/team-repo.js';
import { tempDir } from '../helpers.js';
import { git, repoOf } from './repo-fixture.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function setup() {
  dir = tempDir('commit-info-');
  const { repo, checkout } = repoOf(dir, { 'a.txt': 'one\n' });
  const before = checkout();
  const team = await TeamRepo.open('info', { repo }, path.join(dir, 'ws'));
  return { repo, team, checkout, before };
}

const statOf = (cwd: string, from: string, to: string) => git(cwd, 'diff', '--stat', from, to);

it('one commit, then a second on the same branch: the tip, the fork point and the stat of all of it, as git says', async () => {
  const { repo, team, checkout, before } = await setup();
  const start = git(repo, 'rev-parse', team.mergeInto);
  const wt = await team.worktreeFor('t1', 'w1');
  fs.writeFileSync(path.join(wt, 'b.txt'), 'b\n');
  const first = await team.commit(wt, 't1', 'Add b', 'w1');
  expect(first).toMatchObject({ commit: git(wt, 'rev-parse', 'HEAD'), base: start, committedNow: true, branch: team.branchOf('t1') });
  expect(first.diffStat.trim()).toBe(statOf(wt, start, 'HEAD'));
  expect(first.diffStat).toContain('b.txt | 1 +');
  // Sent back (changes requested): a second commit on the branch. The stat covers both commits.
  fs.writeFileSync(path.join(wt, 'a.txt'), 'two\n');
  fs.rmSync(path.join(wt, 'b.txt'));
  fs.writeFileSync(path.join(wt, 'c.txt'), 'c\n');
  const second = await team.commit(wt, 't1', 'Add b', 'w1');
  expect(second.commit).toBe(git(wt, 'rev-parse', 'HEAD'));
  expect(second.commit).not.toBe(first.commit);
  expect(second.base).toBe(start);
  expect(second.diffStat.trim()).toBe(statOf(wt, start, 'HEAD'));
  expect(second.diffStat).not.toContain('b.txt'); // added then removed: not in the task's change
  expect(second.diffStat).toMatch(/a\.txt \| 2 \+-/);
  // Nothing more changed: the branch's work is still reported, and nothing was committed now.
  const third = await team.commit(wt, 't1', 'Add b', 'w1');
  expect(third).toMatchObject({ commit: second.commit, base: start, committedNow: false, diffStat: second.diffStat });
  await team.close();
  expect(checkout()).toBe(before);
});

it('a branch that merged mergeInto into itself: the fork point is the merge base, the stat is against it', async () => {
  const { team, checkout, before } = await setup();
  const wt = await team.worktreeFor('t1', 'w1');
  fs.writeFileSync(path.join(wt, 'b.txt'), 'b\n');
  await team.commit(wt, 't1', 'Add b', 'w1');
  // Meanwhile another task merged.
  const other = await team.worktreeFor('t2', 'w2');
  fs.writeFileSync(path.join(other, 'z.txt'), 'z\n');
  await team.commit(other, 't2', 'Add z', 'w2');
  expect(await team.merge('t2', 'w2')).toMatchObject({ merged: true });
  // The agent of t1 merges mergeInto into its branch (a command it was allowed).
  git(wt, '-c', 'user.name=w1', '-c', 'user.email=w1@x', 'merge', '--quiet', '--no-edit', `refs/heads/${team.mergeInto}`);
  fs.writeFileSync(path.join(wt, 'c.txt'), 'c\n');
  const info = await team.commit(wt, 't1', 'Add b', 'w1');
  expect(info.commit).toBe(git(wt, 'rev-parse', 'HEAD'));
  expect(info.base).toBe(git(wt, 'merge-base', 'HEAD', team.mergeInto));
  expect(info.diffStat.trim()).toBe(statOf(wt, info.base, 'HEAD'));
  expect(info.diffStat).not.toContain('z.txt');
  expect(await team.merge('t1', 'w1')).toMatchObject({ merged: true });
  await team.close();
  expect(checkout()).toBe(before);
});

it('with every branch packed (no loose ref files) the merge reads them from git and merges as before', async () => {
  const { repo, team, checkout, before } = await setup();
  const wt = await team.worktreeFor('t1', 'w1');
  fs.writeFileSync(path.join(wt, 'b.txt'), 'b\n');
  const info = await team.commit(wt, 't1', 'Add b', 'w1');
  const into = git(repo, 'rev-parse', team.mergeInto);
  git(repo, 'pack-refs', '--all');
  const loose = path.join(repo, '.git', 'refs', 'heads', ...team.mergeInto.split('/'));
  expect(fs.existsSync(loose)).toBe(false);
  const merged = await team.merge('t1', 'w1');
  expect(merged).toMatchObject({ merged: true });
  const commit = (merged as { commit: string }).commit;
  expect(git(repo, 'rev-parse', team.mergeInto)).toBe(commit);
  expect(git(repo, 'rev-parse', `${commit}^1`, `${commit}^2`)).toBe(`${into}\n${info.commit}`);
  await team.close();
  expect(checkout()).toBe(before);
});

it("the user's git settings (colour always, signatures shown) do not leak into what the commit reports", async () => {
  const { team, checkout, before } = await setup();
  const config = path.join(dir as string, 'gitconfig');
  fs.writeFileSync(config, '[color]\n\tui = always\n[log]\n\tshowSignature = true\n');
  const saved = process.env.GIT_CONFIG_GLOBAL;
  process.env.GIT_CONFIG_GLOBAL = config;
  try {
    const wt = await team.worktreeFor('t1', 'w1');
    fs.writeFileSync(path.join(wt, 'b.txt'), 'b\n');
    const first = await team.commit(wt, 't1', 'Add b', 'w1');
    fs.writeFileSync(path.join(wt, 'c.txt'), 'c\n');
    const second = await team.commit(wt, 't1', 'Add b', 'w1'); // two commits: the stat from git diff
    for (const info of [first, second]) {
      expect(info.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(info.base).toMatch(/^[0-9a-f]{40}$/);
      expect(info.diffStat).not.toContain('\u001b');
      expect(info.diffStat).toContain('b.txt | 1 +');
    }
    expect(second.diffStat).toContain('c.txt | 1 +');
    const diff = await team.diff('t1');
    expect(diff).toContain('+b');
    expect(diff).not.toContain('\u001b');
    expect(await team.merge('t1', 'w1')).toMatchObject({ merged: true });
  } finally {
    if (saved === undefined) delete process.env.GIT_CONFIG_GLOBAL;
    else process.env.GIT_CONFIG_GLOBAL = saved;
  }
  await team.close();
  expect(checkout()).toBe(before);
});

// What a user's repository, settings and a killed process can throw at a
// coding team, each found by a review and reproduced here on real git before
// it was fixed: a failing commit hook, a test run stopped mid-merge, a
// `git worktree add` killed mid-checkout, a probe folder that lost its .git, a
// task that switched branches, git variables of a hook in the environment, and
// in a shared tree ignored files, pathspec magic and a stale index lock. The
// user's checkout is compared before and after each.
import fs from 'node:fs';
import path from 'node:path';
import { AbortError } from '@agent-team/core';
import { afterEach, expect, it } from 'vitest';
import { parseGitVersion } from '../../src/git/git.js';
import { TeamRepo } from '../../src/git/team-repo.js';
import { AgentRole, AgentTeam, fromFunction } from '../../src/index.js';
import { tempDir } from '../helpers.js';
import { git, repoOf } from './repo-fixture.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function makeRepo(files: Record<string, string> = { 'a.txt': 'a\n' }) {
  dir = tempDir('repo-hazards-');
  return { ...repoOf(dir, files), workspace: path.join(dir, 'ws') };
}

it("a user's commit hook that fails (husky + commitizen without a terminal) does not lose the work: the team's commits run no hooks", async () => {
  const { repo, workspace, checkout } = makeRepo({ 'a.txt': 'a\n', '.husky/prepare-commit-msg': '#!/bin/sh\nexit 1\n' });
  fs.chmodSync(path.join(repo, '.husky/prepare-commit-msg'), 0o755);
  git(repo, 'commit', '--quiet', '-am', 'the hook is a program');
  git(repo, 'config', 'core.hooksPath', '.husky');
  const before = checkout();
  const team = await TeamRepo.open('t', { repo }, workspace);
  const wt = await team.worktreeFor('t1', 'w1');
  fs.writeFileSync(path.join(wt, 'a.txt'), "the agent's work\n");
  const info = await team.commit(wt, 't1', 'Fix a', 'w1');
  expect(info.committedNow).toBe(true);
  expect(git(repo, 'show', `${info.commit}:a.txt`)).toBe("the agent's work");
  await team.close();
  expect(checkout()).toBe(before);
});

it('a test run stopped mid-merge merges nothing and remembers nothing; the gate still refuses a breaking change after it', async () => {
  const { repo, workspace, checkout } = makeRepo({ ok: 'yes\n' });
  const before = checkout();
  const team = await TeamRepo.open('t', { repo, test: 'sleep 1; test -f ok' }, workspace);
  const into = git(repo, 'rev-parse', team.mergeInto);
  const wt = await team.worktreeFor('t1', 'w1');
  fs.writeFileSync(path.join(wt, 'b.txt'), 'b\n');
  await team.commit(wt, 't1', 'Add b', 'w1');
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 300);
  await expect(team.merge('t1', 'w1', stop.signal)).rejects.toBeInstanceOf(AbortError);
  expect(git(repo, 'rev-parse', team.mergeInto)).toBe(into);
  const remembered = path.join(workspace, 'worktrees', '.test-status.json');
  expect(fs.existsSync(remembered) ? JSON.parse(fs.readFileSync(remembered, 'utf8')) : {}).toEqual({});
  const wt2 = await team.worktreeFor('t2', 'w1');
  fs.rmSync(path.join(wt2, 'ok'));
  await team.commit(wt2, 't2', 'Break the tests', 'w1');
  expect(await team.merge('t2', 'w1')).toMatchObject({ merged: false, reason: 'tests' });
  await team.close();
  expect(checkout()).toBe(before);
});

it('a worktree whose `git worktree add` was killed mid-checkout (HEAD on the branch, part of the files, no index) is rebuilt, not committed as deletions', async () => {
  const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`src/f${i}.txt`, `${i}\n`]));
  const { repo, workspace, checkout } = makeRepo(files);
  const before = checkout();
  const team = await TeamRepo.open('t', { repo }, workspace);
  const wt = await team.worktreeFor('t1', 'w1');
  // The state git leaves when killed between writing HEAD and finishing the checkout.
  const gitDir = path.resolve(wt, fs.readFileSync(path.join(wt, '.git'), 'utf8').replace('gitdir:', '').trim());
  fs.writeFileSync(path.join(gitDir, 'locked'), 'initializing\n');
  fs.rmSync(path.join(gitDir, 'index'));
  for (let i = 10; i < 40; i++) fs.rmSync(path.join(wt, 'src', `f${i}.txt`));
  const again = await team.worktreeFor('t1', 'w1');
  expect(fs.readdirSync(path.join(again, 'src'))).toHaveLength(40);
  fs.writeFileSync(path.join(again, 'new.txt'), 'work\n');
  const info = await team.commit(again, 't1', 'Add new', 'w1');
  expect(info.diffStat).toContain('1 file changed');
  expect(await team.merge('t1', 'w1')).toMatchObject({ merged: true });
  expect(git(repo, 'ls-tree', '-r', '--name-only', team.mergeInto).split('\n')).toHaveLength(41);
  await team.close();
  expect(checkout()).toBe(before);
});

it('a probe folder that lost its .git, in a workspace inside the repository, is rebuilt: git never reaches the checkout above it', async () => {
  const { repo, checkout } = makeRepo({ 'a.txt': 'a\n', '.gitignore': 'workspace/\n' });
  fs.writeFileSync(path.join(repo, 'a.txt'), 'my uncommitted edit\n');
  const before = checkout();
  const team = await TeamRepo.open('t', { repo, base: 'main', test: 'true' }, path.join(repo, 'workspace'));
  fs.mkdirSync(path.join(repo, 'workspace', 'worktrees', '_probe-w1'), { recursive: true });
  const probe = await team.probeDir('w1');
  expect(fs.existsSync(path.join(probe, '.git'))).toBe(true);
  const other = git(repo, 'commit-tree', git(repo, 'rev-parse', 'HEAD^{tree}'), '-m', 'another commit');
  expect(await team.testStatusAt(other, probe)).toBe(true);
  expect(git(probe, 'rev-parse', 'HEAD')).toBe(other);
  await team.close();
  expect(checkout()).toBe(before);
  expect(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8')).toBe('my uncommitted edit\n');
});

it('work on a branch the task switched to is refused with a clear error, not reported as merged', async () => {
  const { repo, workspace, checkout } = makeRepo();
  const before = checkout();
  const team = await TeamRepo.open('t', { repo }, workspace);
  const into = git(repo, 'rev-parse', team.mergeInto);
  const wt = await team.worktreeFor('t1', 'w1');
  git(wt, 'checkout', '-q', '-b', 'fix/my-change'); // a command run in the task
  fs.writeFileSync(path.join(wt, 'a.txt'), 'fixed\n');
  await expect(team.commit(wt, 't1', 'Fix a', 'w1')).rejects.toThrow(/no longer on its branch agent-team-tasks\/t\/t1 .*fix\/my-change/);
  expect(git(repo, 'rev-parse', team.mergeInto)).toBe(into);
  await team.close();
  expect(checkout()).toBe(before);
});

it("git variables of a hook in the environment (GIT_INDEX_FILE, GIT_DIR) do not turn the team's commands on the user's repository", async () => {
  const { repo, workspace, checkout } = makeRepo();
  const before = checkout();
  const team = await TeamRepo.open('t', { repo }, workspace);
  const wt = await team.worktreeFor('t1', 'w1');
  fs.writeFileSync(path.join(wt, 'agent.txt'), 'agent\n');
  process.env.GIT_INDEX_FILE = path.join(repo, '.git', 'index');
  process.env.GIT_DIR = path.join(repo, '.git');
  try {
    const info = await team.commit(wt, 't1', 'Add agent.txt', 'w1');
    expect(info.diffStat).toContain('agent.txt');
  } finally {
    delete process.env.GIT_INDEX_FILE;
    delete process.env.GIT_DIR;
  }
  await team.close();
  expect(checkout()).toBe(before);
});

it('a shared tree commits what it can: an ignored file a task wrote is left out, a file named like a pattern is that file, a stale index lock is cleared', async () => {
  const { repo, workspace, checkout } = makeRepo({ 'a.txt': 'a\n', '.gitignore': '*.log\n', 'pages/[id].tsx': '1\n', 'pages/i.tsx': '1\n' });
  const before = checkout();
  const team = await TeamRepo.open('t', { repo, isolation: 'shared' }, workspace);
  const shared = (team.shared as NonNullable<TeamRepo['shared']>).dir;
  fs.writeFileSync(path.join(shared, 'a.txt'), 'changed\n');
  fs.writeFileSync(path.join(shared, 'debug.log'), 'x\n');
  const first = await team.commitPaths('t1', 'Change a', 'w1', ['a.txt', 'debug.log']);
  expect(first.committedNow).toBe(true);
  expect(git(repo, 'show', '--name-only', '--format=', first.commit as string)).toBe('a.txt');
  // pages/[id].tsx is a file name, not a pattern matching pages/i.tsx (another task's half-done edit).
  fs.writeFileSync(path.join(shared, 'pages/[id].tsx'), 'mine\n');
  fs.writeFileSync(path.join(shared, 'pages/i.tsx'), 'another task, half done\n');
  const second = await team.commitPaths('t2', 'Change [id]', 'w1', ['pages/[id].tsx']);
  expect(git(repo, 'show', '--name-only', '--format=', second.commit as string)).toBe('pages/[id].tsx');
  // An index lock left by a killed commit, older than a few seconds.
  const gitDir = git(shared, 'rev-parse', '--absolute-git-dir');
  const lock = path.join(gitDir, 'index.lock');
  fs.writeFileSync(lock, '');
  const old = Date.now() / 1000 - 60;
  fs.utimesSync(lock, old, old);
  fs.writeFileSync(path.join(shared, 'a.txt'), 'changed again\n');
  const third = await team.commitPaths('t3', 'Change a again', 'w1', ['a.txt']);
  expect(third.committedNow).toBe(true);
  await team.close();
  expect(checkout()).toBe(before);
});

it('one agent probing two commits at once gets each its own answer (the probes take turns in its probe worktree)', async () => {
  const { repo, workspace, checkout } = makeRepo({ ok: 'yes\n' });
  const before = checkout();
  const green = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'rm', '--quiet', 'ok');
  git(repo, 'commit', '--quiet', '-m', 'red');
  const red = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'reset', '--quiet', '--hard', green);
  const team = await TeamRepo.open('t', { repo, base: 'main', test: 'sleep 0.3; test -f ok' }, workspace);
  expect(await Promise.all([team.probeTestStatus(green, 'w1'), team.probeTestStatus(red, 'w1'), team.probeTestStatus(green, 'w1')])).toEqual([true, false, true]);
  await team.close();
  expect(checkout()).toBe(before);
});

it('a task id git cannot take in a branch name is a clear error, not a git failure at every attempt', async () => {
  const { repo, workspace } = makeRepo();
  const team = await TeamRepo.open('t', { repo }, workspace);
  for (const id of ['x.lock', 'a..b', 'v1.']) {
    await expect(team.worktreeFor(id, 'w1')).rejects.toThrow(/cannot name a git branch/);
  }
  expect(team.branchOf('fix-1.2')).toBe('agent-team-tasks/t/fix-1.2');
  await team.close();
});

it("a task whose work a killed worker merged before recording it is reported merged by the next claimer (as that merge), not as 'changed nothing'", async () => {
  const { repo, workspace, checkout } = makeRepo();
  const before = checkout();
  // The killed worker's part: its commit merged, its worktree left, no result recorded.
  const first = await TeamRepo.open('t', { repo }, workspace);
  const wt = await first.worktreeFor('fix-a', 'w1');
  fs.writeFileSync(path.join(wt, 'a.txt'), 'fixed\n');
  await first.commit(wt, 'fix-a', 'Fix a', 'w1');
  const merged = await first.merge('fix-a', 'w1');
  expect(merged).toMatchObject({ merged: true });
  // The next claimer: an agent whose model finds nothing more to do.
  const team = new AgentTeam({ workspace, teamId: 't', codebase: { repo } });
  team.addAgent('w2', AgentRole.WORKER, fromFunction(() => 'a.txt is fixed already'), { codebase: 'write' });
  await team.addTask('Fix a', { id: 'fix-a' });
  expect((await team.run()).status).toBe('completed');
  const result = (await team.queue.get('fix-a'))?.result as { commit: string | null; merged?: { commit: string; into: string } };
  expect(result.commit).toBeNull();
  expect(result.merged).toEqual({ commit: (merged as { commit: string }).commit, into: 'agent-team/t' });
  await team.close();
  // A task that changed nothing and was never merged says nothing of a merge.
  const other = new AgentTeam({ workspace, teamId: 't', codebase: { repo } });
  other.addAgent('w3', AgentRole.WORKER, fromFunction(() => 'nothing to change'), { codebase: 'write' });
  await other.addTask('Look at b', { id: 'look-b' });
  await other.run();
  expect(((await other.queue.get('look-b'))?.result as { merged?: unknown }).merged).toBeUndefined();
  await other.close();
  expect(checkout()).toBe(before);
});

it('a workspace reached through a link works as its real path does (git records real paths), and the git version is read from git --version', async () => {
  const { repo, checkout } = makeRepo();
  const before = checkout();
  const real = path.join(dir as string, 'real');
  fs.mkdirSync(real);
  const linked = path.join(dir as string, 'linked');
  fs.symlinkSync(real, linked);
  // Opened twice through the link: the shared tree made the first time is recognised as the team's own.
  const first = await TeamRepo.open('t', { repo, isolation: 'shared' }, path.join(linked, 'ws'));
  await first.close();
  const second = await TeamRepo.open('t', { repo, isolation: 'shared' }, path.join(linked, 'ws'));
  expect(second.worktrees).toBe(path.join(real, 'ws', 'worktrees'));
  await second.close();
  expect(checkout()).toBe(before);
  expect(parseGitVersion('git version 2.39.5')).toEqual([2, 39]);
  expect(parseGitVersion('git version 2.37.1 (Apple Git-136)')).toEqual([2, 37]);
  expect(parseGitVersion('not git')).toBeUndefined();
});

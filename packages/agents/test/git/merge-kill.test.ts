// SIGKILL of a process in the middle of a merge (merge commit made, its tests
// running): mergeInto is never left half-merged, the task's commit is not
// lost, and the next merger takes the queue over and merges it. Real git,
// real processes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { TeamRepo } from '../../src/git/team-repo.js';
import { gone, tempDir } from '../helpers.js';
import { checkoutOf, git, initRepo } from './repo-fixture.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});


it('a merger killed while the merged result is being tested leaves mergeInto as it was; the next merger merges the task', async () => {
  dir = tempDir('merge-kill-');
  const repo = path.join(dir, 'repo');
  const workspace = path.join(dir, 'ws');
  const marker = path.join(dir, 'testing');
  const hold = path.join(dir, 'hold');
  fs.mkdirSync(repo);
  // The test command: while `hold` exists it says it started and then hangs (the kill comes then).
  fs.writeFileSync(
    path.join(repo, 'slow-test.js'),
    `const fs = require('fs');\nif (fs.existsSync(${JSON.stringify(hold)})) { fs.writeFileSync(${JSON.stringify(marker)}, String(process.pid)); setTimeout(() => {}, 60000); }\n`,
  );
  fs.writeFileSync(path.join(repo, 'a.txt'), 'one\n');
  initRepo(repo);
  const checkout = checkoutOf(repo);
  const before = checkout();

  const team = await TeamRepo.open('k', { repo, test: 'node slow-test.js' }, workspace);
  const wt = await team.worktreeFor('t1');
  fs.writeFileSync(path.join(wt, 'a.txt'), 'two\n');
  const work = await team.commit(wt, 't1', 'Change a', 'w1');
  const branchTip = git(repo, 'rev-parse', team.branchOf('t1'));
  expect(work.commit).toBe(branchTip);
  const intoBefore = git(repo, 'rev-parse', team.mergeInto);

  fs.writeFileSync(hold, '');
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--conditions=@agent-team/source', path.join(import.meta.dirname, 'fixtures', 'merge-child.ts'), repo, workspace, 'k', 't1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Wait until the merge is made and its test runs, then kill the merger outright.
  for (let i = 0; !fs.existsSync(marker); i++) {
    if (i > 600) throw new Error(`the merger never reached its test: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const mergeTree = path.join(workspace, 'worktrees', '_merge');
  expect(git(mergeTree, 'rev-list', '--count', '--merges', 'HEAD')).toBe('1'); // the merge commit exists, untested
  child.kill('SIGKILL');
  await exited;
  // The test process group goes with its supervisor.
  expect(await gone(Number(fs.readFileSync(marker, 'utf8')))).toBe(true);

  // Nothing moved: mergeInto holds no merge, the task's commit is still its branch's tip.
  expect(git(repo, 'rev-parse', team.mergeInto)).toBe(intoBefore);
  expect(git(repo, 'rev-parse', team.branchOf('t1'))).toBe(branchTip);
  expect(git(repo, 'show', `${team.mergeInto}:a.txt`)).toBe('one');

  // The next merger takes over the queue's lock (its holder is dead) and merges, tested.
  fs.rmSync(hold);
  const outcome = await team.merge('t1', 'w2');
  expect(outcome.merged).toBe(true);
  const into = git(repo, 'rev-parse', team.mergeInto);
  expect(git(repo, 'rev-parse', `${into}^1`)).toBe(intoBefore);
  expect(git(repo, 'rev-parse', `${into}^2`)).toBe(branchTip);
  expect(git(repo, 'show', `${team.mergeInto}:a.txt`)).toBe('two');
  await team.close();
  expect(checkout()).toBe(before);
});

// SIGKILL of a worker while its agent is between two edits of a task (real
// processes, real git): the next claimer, once the lease has run out, continues
// in the same worktree on the same branch with the first edit still there; the
// finished task merges once, mergeInto never holds a half-merge, nothing is
// lost, and the user's checkout is untouched.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { AgentTeam } from '../../src/index.js';
import { runScript } from '../../../core/test/helpers/processes.js';
import { tempDir } from '../helpers.js';
import { checkoutOf, git, initRepo } from './repo-fixture.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});


it('a worker killed between two edits: the next claimer continues in the same worktree and branch, and the task merges once', async () => {
  dir = tempDir('edit-kill-');
  const repo = path.join(dir, 'repo');
  const workspace = path.join(dir, 'ws');
  const marks = path.join(dir, 'marks');
  fs.mkdirSync(marks);
  fs.mkdirSync(path.join(repo, 'src'), { recursive: true });
  for (const name of ['a', 'b']) fs.writeFileSync(path.join(repo, 'src', `${name}.js`), `export const ${name} = 1;\n`);
  initRepo(repo);
  const base = git(repo, 'rev-parse', 'HEAD');
  const checkout = checkoutOf(repo);
  const before = checkout();
  const adder = new AgentTeam({ workspace, teamId: 'midedit' });
  await adder.addTask('set a and b to 2 in src/a.js and src/b.js', { id: 'set-ab' });
  await adder.close();

  const fixture = path.join(import.meta.dirname, 'fixtures', 'edit-kill-worker.ts');
  const first = runScript(fixture, [workspace, repo, 'w1', marks, 'block']);
  for (let i = 0; i < 600 && !fs.existsSync(path.join(marks, 'edited-a')); i++) await new Promise((r) => setTimeout(r, 50));
  expect(fs.existsSync(path.join(marks, 'edited-a')), first.stderr()).toBe(true);
  // The first edit is on disk, uncommitted, in the task's worktree on its branch; the second is not made.
  const worktree = path.join(workspace, 'worktrees', 'set-ab');
  const branch = 'agent-team-tasks/midedit/set-ab';
  expect(fs.readFileSync(path.join(worktree, 'src', 'a.js'), 'utf8')).toBe('export const a = 2;\n');
  expect(fs.readFileSync(path.join(worktree, 'src', 'b.js'), 'utf8')).toBe('export const b = 1;\n');
  expect(git(worktree, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(branch);
  first.proc.kill('SIGKILL');
  expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
  expect(git(repo, 'rev-parse', 'agent-team/midedit')).toBe(base);
  expect(git(repo, 'rev-parse', branch)).toBe(base); // nothing committed yet: the edit lives in the worktree

  // The next claimer takes the task once w1's lease (1.5 s) has run out, and finishes it where w1 stopped.
  const second = runScript(fixture, [workspace, repo, 'w2', marks, 'finish']);
  expect(await second.exited, second.stderr()).toEqual({ code: 0, signal: null });
  expect(second.lines.at(-1)).toBe('run ended: completed');
  const team = new AgentTeam({ workspace, teamId: 'midedit' });
  const task = await team.queue.get('set-ab');
  await team.close();
  expect(task).toMatchObject({ status: 'completed', attempt: 2, owner: 'w2' });
  const result = task?.result as { summary: string; commit: string; branch: string; merged: { commit: string; into: string } };
  expect(result.summary).toBe('continued: the first edit was already made, I made the second');
  expect(result.branch).toBe(branch);

  // One commit on the task's branch holds both edits (w1's and w2's); one merge brings it into mergeInto.
  expect(git(repo, 'rev-parse', branch)).toBe(result.commit);
  expect(git(repo, 'rev-list', '--count', `${base}..${branch}`)).toBe('1');
  expect(git(repo, 'log', '-1', '--format=%an', branch)).toBe('w2');
  expect(git(repo, 'diff', '--name-only', base, branch).split('\n')).toEqual(['src/a.js', 'src/b.js']);
  const into = git(repo, 'rev-parse', 'agent-team/midedit');
  expect(result.merged).toEqual({ commit: into, into: 'agent-team/midedit' });
  expect(git(repo, 'rev-parse', `${into}^1`)).toBe(base);
  expect(git(repo, 'rev-parse', `${into}^2`)).toBe(result.commit);
  expect(git(repo, 'log', '--merges', '--format=%s', 'agent-team/midedit').split('\n')).toEqual(['Merge task set-ab']);
  for (const name of ['a', 'b']) expect(git(repo, 'show', `agent-team/midedit:src/${name}.js`)).toBe(`export const ${name} = 2;`);
  expect(checkout()).toBe(before);
}, 60_000);

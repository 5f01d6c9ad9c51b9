// `agent-team worker --codebase <spec>`: a worker in its own process joins a
// spec's git codebase (its repository and team id), works each task in the
// task's worktree, and its commits go through the merge queue. Real git, the
// real CLI, a command agent (a small node program) as the worker.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { TaskQueue } from '@agent-team/core';
import { tempDir } from '../helpers.js';
import { checkoutOf, git, initRepo } from './repo-fixture.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'agent-team.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

it('a CLI worker with --codebase works in task worktrees and merges into the spec team’s mergeInto; the checkout is untouched', async () => {
  dir = tempDir('worker-codebase-');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo);
  fs.writeFileSync(path.join(repo, 'README.md'), 'hello\n');
  initRepo(repo);
  const checkout = checkoutOf(repo);
  const before = checkout();
  // The program: writes a file named after the task it was given (its prompt on stdin), in its working folder.
  const program = path.join(dir, 'edit.js');
  fs.writeFileSync(program, "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const id=(/note-(\\w+)/.exec(s)||[])[1]||'x';require('fs').writeFileSync('note-'+id+'.txt',id+'\\n');console.log('wrote note-'+id);});\n");
  const spec = path.join(dir, 'team.yaml');
  fs.writeFileSync(spec, `team: { id: notes }\ncodebase: { repo: ./repo }\nagents:\n  - { id: w1, role: worker, model: offline, codebase: write }\ntasks:\n  - { id: a, description: Write note-alpha }\n`);
  const workspace = path.join(dir, 'ws');
  const queue = TaskQueue.open({ workspace });
  await queue.addMany([
    { id: 'a', description: 'Write note-alpha' },
    { id: 'b', description: 'Write note-beta' },
  ]);
  await queue.close();

  const run = cli('worker', '--id', 'w9', '--command', `node ${program}`, '--codebase', spec, '-w', workspace);
  expect(run.stderr).toContain('2 tasks done');
  expect(run.status).toBe(0);
  const files = git(repo, 'ls-tree', '--name-only', 'agent-team/notes').split('\n');
  expect(files).toEqual(expect.arrayContaining(['README.md', 'note-alpha.txt', 'note-beta.txt']));
  expect(git(repo, 'rev-list', '--merges', '--count', 'agent-team/notes')).toBe('2');
  expect(git(repo, 'log', '-1', '--format=%an', 'agent-team-tasks/notes/a')).toBe('w9');
  expect(checkout()).toBe(before);

  // A spec without a codebase section is refused before anything runs.
  fs.writeFileSync(path.join(dir, 'plain.yaml'), 'agents:\n  - { id: w1, role: worker, model: offline }\ntasks:\n  - { description: x }\n');
  const refused = cli('worker', '--id', 'w8', '--role', 'worker', '--codebase', path.join(dir, 'plain.yaml'), '-w', workspace);
  expect(refused.status).toBe(2);
  expect(refused.stderr).toContain('has no codebase section');
});

it('agent-team recover --codebase removes the worktrees of finished tasks and broken ones, and keeps those in progress', async () => {
  dir = tempDir('recover-codebase-');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo);
  fs.writeFileSync(path.join(repo, 'README.md'), 'hello\n');
  initRepo(repo);
  const spec = path.join(dir, 'team.yaml');
  fs.writeFileSync(spec, 'team: { id: rec }\ncodebase: { repo: ./repo }\nagents:\n  - { id: w1, role: worker, model: offline, codebase: write }\ntasks:\n  - { id: done, description: x }\n');
  const workspace = path.join(dir, 'ws');
  const queue = TaskQueue.open({ workspace });
  await queue.addMany([
    { id: 'done', description: 'finished' },
    { id: 'busy', description: 'in progress' },
  ]);
  const claim = await queue.claim({ agentId: 'w1' });
  expect(claim?.taskId).toBe('done');
  await claim?.complete('ok');
  await queue.close();
  const { TeamRepo } = await import('../../src/git/team-repo.js');
  const team = await TeamRepo.open('rec', { repo }, workspace);
  await team.worktreeFor('done');
  const busy = await team.worktreeFor('busy');
  fs.writeFileSync(path.join(busy, 'draft.txt'), 'uncommitted\n');
  fs.mkdirSync(path.join(workspace, 'worktrees', 'wreck'));
  fs.writeFileSync(path.join(workspace, 'worktrees', 'wreck', 'junk'), '');
  await team.close();
  // A worker that parked a worktree and was killed (never closed): its pool is left behind.
  const dead = await TeamRepo.open('rec', { repo }, workspace);
  const old = await dead.worktreeFor('old', 'w7');
  await dead.commit(old, 'old', 'nothing', 'w7');
  await dead.park('old', 'w7');
  const pooled = path.join(workspace, 'worktrees', '_idle', 'w7', 'old');
  expect(fs.existsSync(pooled)).toBe(true);

  const out = cli('recover', '--codebase', spec, '-w', workspace, '--json');
  expect(out.status, out.stderr).toBe(0);
  const report = JSON.parse(out.stdout) as { worktrees: { finished: string[]; broken: string[]; parked: number } };
  expect(report.worktrees).toEqual({ finished: ['done'], broken: ['wreck'], parked: 1 });
  expect(fs.existsSync(pooled)).toBe(false);
  expect(git(repo, 'worktree', 'list')).not.toContain('_idle');
  expect(fs.existsSync(path.join(workspace, 'worktrees', 'done'))).toBe(false);
  expect(fs.readFileSync(path.join(busy, 'draft.txt'), 'utf8')).toBe('uncommitted\n');
  expect(git(repo, 'worktree', 'list')).not.toContain(path.join('worktrees', 'done'));
  // The finished task's branch stays.
  expect(git(repo, 'branch', '--list', 'agent-team-tasks/rec/done')).not.toBe('');
});

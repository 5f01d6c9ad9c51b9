// codebase.isolation "shared": every write agent in one team working tree
// (worktrees/_shared on mergeInto; the user's checkout untouched), a path lock
// per file from a task's first write until its commit, and a commit per task
// holding the files it wrote. Real git, real processes for the SIGKILL.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ResourceLockedError, ResourceLocks, type TeamEvent } from '@agent-team/core';
import { AgentRole, AgentTeam, CommandAgent, fromFunction } from '../../src/index.js';
import { runScript } from '../../../core/test/helpers/processes.js';
import { tempDir } from '../helpers.js';
import { checkoutOf, git, initRepo } from './repo-fixture.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function makeRepo() {
  dir = tempDir('shared-tree-');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(path.join(repo, 'src'), { recursive: true });
  for (const name of ['a', 'b']) fs.writeFileSync(path.join(repo, 'src', `${name}.js`), `export const ${name} = 1;\n`);
  initRepo(repo);
  const checkout = checkoutOf(repo);
  return { repo, workspace: path.join(dir, 'ws'), base: git(repo, 'rev-parse', 'HEAD'), checkout, before: checkout() };
}

/** The task id in an agent's prompt. */
const taskOf = (request: { messages: Array<{ role: string; content: string }> }) => /Task: (\S+)/.exec(request.messages.find((m) => m.role === 'user')?.content ?? '')?.[1] ?? '';

it('two agents on different files at once: one tree, and each task committed on mergeInto by itself', async () => {
  const { repo, workspace, base, checkout, before } = makeRepo();
  const edited = new Set<string>();
  const coder = fromFunction(async function coder(_prompt, request) {
    const name = taskOf(request) === 'set-a' ? 'a' : 'b';
    const tools = request.messages.filter((m) => m.role === 'tool');
    if (tools.length === 0) return { text: '', toolCalls: [{ name: 'read_file', arguments: { path: `src/${name}.js` } }] };
    if (tools.length === 1) return { text: '', toolCalls: [{ name: 'edit_file', arguments: { path: `src/${name}.js`, old_string: `export const ${name} = 1;`, new_string: `export const ${name} = 2;` } }] };
    // Both edits are in the tree, uncommitted, before either task finishes.
    edited.add(name);
    for (let i = 0; edited.size < 2; i++) {
      if (i > 500) throw new Error('the other agent never edited its file at the same time');
      await sleep(20);
    }
    return `set ${name}: ${tools[1]?.content.split('\n')[0] ?? ''}`;
  });
  const team = new AgentTeam({ workspace, teamId: 'sh', codebase: { repo, isolation: 'shared' } });
  team.addAgent('w1', AgentRole.WORKER, coder, { codebase: 'write' });
  team.addAgent('w2', AgentRole.WORKER, coder, { codebase: 'write' });
  await team.addTask('set src/a.js a to 2', { id: 'set-a' });
  await team.addTask('set src/b.js b to 2', { id: 'set-b' });
  expect((await team.run()).status).toBe('completed');
  const results = { a: (await team.queue.get('set-a'))?.result, b: (await team.queue.get('set-b'))?.result } as Record<string, { commit: string; branch: string; diffStat: string; merged: { commit: string; into: string } }>;
  await team.close();

  const into = 'agent-team/sh';
  const commits = git(repo, 'log', '--format=%H %an %s', `${base}..${into}`).split('\n');
  expect(commits).toHaveLength(2); // two commits, no merges: a line on mergeInto
  expect(git(repo, 'rev-list', '--merges', '--count', into)).toBe('0');
  for (const name of ['a', 'b']) {
    const result = results[name] as (typeof results)['a'];
    expect(result.branch).toBe(into);
    expect(result.merged).toEqual({ commit: result.commit, into });
    expect(git(repo, 'show', '--format=', '--name-only', result.commit)).toBe(`src/${name}.js`); // its own file only
    expect(result.diffStat).toContain(`src/${name}.js`);
    expect(git(repo, 'log', '-1', '--format=%B', result.commit)).toContain(`Task: set-${name}`);
    expect(git(repo, 'show', `${into}:src/${name}.js`)).toBe(`export const ${name} = 2;`);
  }
  const shared = path.join(workspace, 'worktrees', '_shared');
  expect(git(shared, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${into}`);
  expect(git(shared, 'status', '--porcelain')).toBe('');
  expect(fs.readdirSync(path.join(workspace, 'worktrees')).filter((n) => !n.startsWith('.') && !n.startsWith('_') && n !== 'repo.json')).toEqual([]);
  expect(checkout()).toBe(before);
}, 60_000);

it('two agents on the same file are serialised: the second is told which task holds it, and edits after that task is committed', async () => {
  const { repo, workspace, base, checkout, before } = makeRepo();
  let holdEdited = false;
  let release = false;
  const refusals: string[] = [];
  const readA = { name: 'read_file', arguments: { path: 'src/a.js' } };
  const editA = { name: 'edit_file', arguments: { path: 'src/a.js', old_string: 'export const a = 2;', new_string: 'export const a = 3;' } };
  let thenCall: typeof readA | typeof editA | undefined;
  const coder = fromFunction(async function coder(_prompt, request) {
    const task = taskOf(request);
    const tools = request.messages.filter((m) => m.role === 'tool');
    const last = tools.at(-1)?.content ?? '';
    if (task === 'hold') {
      if (tools.length === 0) return { text: '', toolCalls: [{ name: 'read_file', arguments: { path: 'src/a.js' } }] };
      if (tools.length === 1) return { text: '', toolCalls: [{ name: 'edit_file', arguments: { path: 'src/a.js', old_string: 'export const a = 1;', new_string: 'export const a = 2;' } }] };
      holdEdited = true;
      while (!release) await sleep(20); // holds src/a.js until the other task has been refused
      return 'a is 2';
    }
    while (!holdEdited) await sleep(20);
    if (tools.length === 0) return { text: '', toolCalls: [(thenCall = readA)] };
    if (last.startsWith('error:')) {
      refusals.push(last);
      release = true; // the holder may finish now: its commit frees src/a.js
      return { text: '', toolCalls: [(thenCall = readA)] };
    }
    if (thenCall === readA) return { text: '', toolCalls: [(thenCall = editA)] };
    return 'a is 3';
  });
  const team = new AgentTeam({ workspace, teamId: 'ser', codebase: { repo, isolation: 'shared' } });
  team.addAgent('w1', AgentRole.WORKER, coder, { codebase: 'write' });
  team.addAgent('w2', AgentRole.WORKER, coder, { codebase: 'write' });
  await team.addTask('set src/a.js a to 2', { id: 'hold' });
  await team.addTask('set src/a.js a to 3', { id: 'then' });
  expect((await team.run()).status).toBe('completed');
  const hold = (await team.queue.get('hold'))?.result as { commit: string };
  const then = (await team.queue.get('then'))?.result as { commit: string };
  await team.close();

  expect(refusals).toHaveLength(1);
  expect(refusals[0]).toMatch(/src\/a\.js is being changed by task "hold" in the team's shared working tree, which holds it until that task is committed/);
  // One after the other: hold's commit, then then's on top of it, each with src/a.js alone.
  expect(git(repo, 'rev-list', '--reverse', `${base}..agent-team/ser`).split('\n')).toEqual([hold.commit, then.commit]);
  expect(git(repo, 'show', `${hold.commit}:src/a.js`)).toBe('export const a = 2;');
  expect(git(repo, 'show', `${then.commit}:src/a.js`)).toBe('export const a = 3;');
  for (const commit of [hold.commit, then.commit]) expect(git(repo, 'show', '--format=', '--name-only', commit)).toBe('src/a.js');
  expect(checkout()).toBe(before);
}, 60_000);

it('a killed agent’s path locks hold until its lease runs out; then the next claimer of its task commits what it wrote', async () => {
  const { repo, workspace, base, checkout, before } = makeRepo();
  const marks = path.join(dir as string, 'marks');
  fs.mkdirSync(marks);
  const adder = new AgentTeam({ workspace, teamId: 'shk' });
  await adder.addTask('set src/a.js a to 2', { id: 'hold' });
  await adder.close();
  const child = runScript(path.join(import.meta.dirname, 'fixtures', 'shared-kill-worker.ts'), [workspace, repo, 'w1', marks]);
  for (let i = 0; i < 600 && !fs.existsSync(path.join(marks, 'edited-a')); i++) await sleep(50);
  expect(fs.existsSync(path.join(marks, 'edited-a')), child.stderr()).toBe(true);
  child.proc.kill('SIGKILL');
  expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
  const shared = path.join(workspace, 'worktrees', '_shared');
  expect(fs.readFileSync(path.join(shared, 'src', 'a.js'), 'utf8')).toBe('export const a = 2;\n');

  // The dead agent's lock on src/a.js is still there (its holder is dead, but the lock waits out the lease).
  const probe = new ResourceLocks({ root: shared, lockDir: path.join(workspace, 'worktrees', '.path-locks'), staleMs: 2000, takeOverDeadHolders: false });
  const refused = await probe.acquire('src/a.js', { owner: 'probe', waitMs: 0 }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ResourceLockedError);
  expect((refused as ResourceLockedError).holder?.owner).toBe('hold');

  // The next claimer (after the 2 s lease) finds the edit made and finishes: the task's commit holds it.
  const checker = fromFunction(function checker(_prompt, request) {
    const tools = request.messages.filter((m) => m.role === 'tool');
    if (tools.length === 0) return { text: '', toolCalls: [{ name: 'read_file', arguments: { path: 'src/a.js' } }] };
    return tools[0]?.content.includes('export const a = 2;') ? 'a is 2 already' : 'a is not 2';
  });
  const team = new AgentTeam({ workspace, teamId: 'shk', leaseMs: 2000, codebase: { repo, isolation: 'shared' } });
  team.addAgent('w2', AgentRole.WORKER, checker, { codebase: 'write' });
  expect((await team.run()).status).toBe('completed');
  const task = await team.queue.get('hold');
  await team.close();
  expect(task).toMatchObject({ status: 'completed', attempt: 2, owner: 'w2' });
  const result = task?.result as { summary: string; commit: string };
  expect(result.summary).toBe('a is 2 already');
  expect(git(repo, 'rev-list', `${base}..agent-team/shk`)).toBe(result.commit);
  expect(git(repo, 'show', '--format=', '--name-only', result.commit)).toBe('src/a.js');
  expect(git(repo, 'show', 'agent-team/shk:src/a.js')).toBe('export const a = 2;');
  // Its locks went with its commit.
  const free = await probe.acquire('src/a.js', { owner: 'probe', waitMs: 0 });
  await free.release();
  expect(checkout()).toBe(before);
}, 60_000);

it('refuses a command agent with write access in a shared tree (its writes cannot be told apart)', async () => {
  const { repo, workspace } = makeRepo();
  const team = new AgentTeam({ workspace, teamId: 'cmd', codebase: { repo, isolation: 'shared' } });
  team.addAgent(new CommandAgent('c1', 'worker', { command: process.execPath, args: ['-e', '0'], codebase: 'write' }));
  await team.addTask('anything', { id: 't' });
  await expect(team.run()).rejects.toThrow(/agent "c1" is a command agent: in codebase.isolation "shared" .* use isolation "worktree"/);
  await team.close();
});

it('a reviewed task in a shared tree: the reviewer sees its commit, and its merge is announced once', async () => {
  const { repo, workspace, checkout, before } = makeRepo();
  const coder = fromFunction(function coder(_prompt, request) {
    const tools = request.messages.filter((m) => m.role === 'tool');
    if (tools.length === 0) return { text: '', toolCalls: [{ name: 'read_file', arguments: { path: 'src/a.js' } }] };
    if (tools.length === 1) return { text: '', toolCalls: [{ name: 'edit_file', arguments: { path: 'src/a.js', old_string: 'export const a = 1;', new_string: 'export const a = 4;' } }] };
    return 'a is 4';
  });
  const prompts: string[] = [];
  const reviewer = fromFunction(function reviewer(prompt) {
    prompts.push(prompt);
    return JSON.stringify({ verdict: 'approve', feedback: 'fine' });
  });
  const team = new AgentTeam({ workspace, teamId: 'shr', codebase: { repo, isolation: 'shared' } });
  team.addAgent('w1', AgentRole.WORKER, coder, { codebase: 'write' });
  team.addAgent('r1', AgentRole.REVIEWER, reviewer);
  const events: TeamEvent[] = [];
  team.on('*', (e: TeamEvent) => events.push(e));
  await team.addTask('set src/a.js a to 4', { id: 'four', metadata: { review: true } });
  expect((await team.run({ timeoutMs: 60_000 })).status).toBe('completed');
  const result = (await team.queue.get('four'))?.result as { commit: string };
  await team.close();
  expect(prompts.some((p) => p.includes(result.commit.slice(0, 12)) && p.includes('src/a.js'))).toBe(true);
  const merged = events.filter((e) => e.type === 'git.merged' && e.taskId === 'four');
  expect(merged).toHaveLength(1);
  expect(git(repo, 'show', 'agent-team/shr:src/a.js')).toBe('export const a = 4;');
  expect(checkout()).toBe(before);
}, 60_000);

import fs from 'node:fs';
import path from 'node:path';
import type { TaskRecord } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, AgentTeam, type TaskContext, fromFunction } from '../../src/index.js';
import { type CodingResult, TeamRepo } from '../../src/git/index.js';
import { checkoutState, gitSync, makeRepo, show } from './git-helpers.js';

const model = fromFunction(() => 'done');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** An agent whose "model" is a function editing files in its task's worktree. */
class EditingAgent extends Agent {
  constructor(
    id: string,
    private readonly edit: (task: TaskRecord, ctx: TaskContext) => unknown,
  ) {
    super(id, 'worker', model, { codebase: 'write' });
  }
  override async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
    return this.edit(task, ctx);
  }
}

function setup(files: Record<string, string>) {
  const { dir, repo } = makeRepo(files);
  dirs.push(dir);
  return { dir, repo, workspace: path.join(dir, 'ws'), before: checkoutState(repo) };
}

describe('codebase validation', () => {
  it('refuses a folder that is not a repository, a missing folder, a bad isolation, before writing anything', async () => {
    const { dir } = setup({ 'a.txt': 'a\n' });
    fs.mkdirSync(path.join(dir, 'plain'));
    const team = new AgentTeam({ workspace: path.join(dir, 'ws'), codebase: { repo: path.join(dir, 'plain') } });
    await expect(team.openCodebase()).rejects.toThrow(/is not a git repository/);
    const missing = new AgentTeam({ workspace: path.join(dir, 'ws'), codebase: { repo: path.join(dir, 'nope') } });
    await expect(missing.openCodebase()).rejects.toThrow(/"[^"]*nope" is not a folder/);
    expect(() => new AgentTeam({ workspace: path.join(dir, 'ws'), codebase: { repo: dir, isolation: 'shared' as 'worktree' } })).toThrow(/isolation "shared" is not supported/);
    expect(fs.existsSync(path.join(dir, 'ws', 'worktrees'))).toBe(false);
  });

  it('refuses a dirty base and a mergeInto that is the checked-out branch; the checkout stays as it was', async () => {
    const { dir, repo } = setup({ 'a.txt': 'a\n' });
    const mergeIntoMain = new AgentTeam({ workspace: path.join(dir, 'ws'), codebase: { repo, mergeInto: 'main' } });
    await expect(mergeIntoMain.openCodebase()).rejects.toThrow(/mergeInto "main" is the branch checked out/);
    fs.writeFileSync(path.join(repo, 'a.txt'), 'changed\n');
    const before = checkoutState(repo);
    const team = new AgentTeam({ workspace: path.join(dir, 'ws'), codebase: { repo } });
    await expect(team.openCodebase()).rejects.toThrow(/checked out in .* with uncommitted changes \(1 file: a\.txt\)/);
    expect(gitSync(repo, 'branch', '--list', 'agent-team/*')).toBe('');
    expect(checkoutState(repo)).toBe(before);
  });

  it('says git is missing when it is not on PATH', async () => {
    const { dir, repo } = setup({ 'a.txt': 'a\n' });
    const saved = process.env.PATH;
    process.env.PATH = path.join(dir, 'empty-bin');
    try {
      await expect(TeamRepo.open({ repo }, { teamId: 't', worktrees: path.join(dir, 'wt') })).rejects.toThrow(/git was not found on PATH/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('a coding team on a real repository', () => {
  it('merges parallel tasks editing different files; the user checkout is untouched', async () => {
    const { repo, workspace, before } = setup({ 'README.md': 'hello\n' });
    const team = new AgentTeam({ workspace, teamId: 'par', codebase: { repo, test: 'node check.js' } });
    fs.writeFileSync(path.join(repo, '..', 'unused'), '');
    const edit = (task: TaskRecord, ctx: TaskContext) => {
      const wt = ctx.worktree as string;
      fs.writeFileSync(path.join(wt, `${task.id}.txt`), `${task.id}\n`);
      if (!fs.existsSync(path.join(wt, 'check.js'))) fs.writeFileSync(path.join(wt, 'check.js'), 'process.exit(0)\n');
      return `wrote ${task.id}.txt`;
    };
    team.addAgent(new EditingAgent('w1', edit));
    team.addAgent(new EditingAgent('w2', edit));
    for (const id of ['a', 'b', 'c', 'd']) await team.addTask(`Write ${id}.txt`, { id });
    const summary = await team.run({ timeoutMs: 60_000 });
    expect(summary.completed).toBe(4);
    const files = gitSync(repo, 'ls-tree', '--name-only', 'agent-team/par-result').split('\n');
    expect(files).toEqual(expect.arrayContaining(['README.md', 'a.txt', 'b.txt', 'c.txt', 'd.txt']));
    const a = (await team.queue.get('a')) as TaskRecord;
    const result = a.result as CodingResult;
    expect(result.summary).toBe('wrote a.txt');
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(result.branch).toBe('agent-team/par/a');
    expect(result.diffstat).toContain('a.txt');
    expect(result.test?.passed === true || result.test?.passed === false).toBe(true);
    // The commit is the agent's, with the task's first line and id.
    expect(gitSync(repo, 'log', '-1', '--format=%an|%s|%b', result.commit as string)).toMatch(/^w[12]\|Write a\.txt\|agent-team task: a/);
    // Worktrees of merged tasks are gone; the merge worktree stays for the next merge.
    expect(fs.readdirSync(path.join(workspace, 'worktrees')).filter((n) => !n.startsWith('.'))).toEqual([]);
    expect(checkoutState(repo)).toBe(before);
  });

  it('two tasks editing the same line: one merges, the other is re-opened on the new base and merges on attempt 2', async () => {
    const { repo, workspace, before } = setup({ 'config.txt': 'value = 0\n' });
    const team = new AgentTeam({ workspace, teamId: 'cf', retry: { baseMs: 5, maxMs: 20 }, codebase: { repo } });
    let waiting = 0;
    let release: () => void = () => {};
    const bothStarted = new Promise<void>((r) => (release = r));
    const seen: Record<string, string[]> = {};
    const edit = async (task: TaskRecord, ctx: TaskContext) => {
      const file = path.join(ctx.worktree as string, 'config.txt');
      (seen[task.id] ??= []).push(fs.readFileSync(file, 'utf8'));
      if (task.attempt === 1) {
        // Both first attempts start from the same base before either finishes.
        waiting += 1;
        if (waiting === 2) release();
        await bothStarted;
      }
      fs.writeFileSync(file, `value = ${task.id}\n`);
      return `set ${task.id}; feedback: ${ctx.feedback.join(' | ')}`;
    };
    team.addAgent(new EditingAgent('w1', edit));
    team.addAgent(new EditingAgent('w2', edit));
    await team.addTasks([{ id: 'x', description: 'Set x' }, { id: 'y', description: 'Set y' }]);
    const summary = await team.run({ timeoutMs: 60_000 });
    expect(summary.completed).toBe(2);
    const tasks = [(await team.queue.get('x')) as TaskRecord, (await team.queue.get('y')) as TaskRecord];
    const second = tasks.find((t) => t.attempt === 2) as TaskRecord;
    const first = tasks.find((t) => t.attempt === 1) as TaskRecord;
    expect(second).toBeDefined();
    expect(second.errors[0]?.message).toMatch(/^merge conflict: .*conflicting files: config\.txt/);
    // Its second attempt started from mergeInto holding the first task's change, with the conflict as feedback.
    expect(seen[second.id]?.[1]).toBe(`value = ${first.id}\n`);
    expect((second.result as CodingResult).summary).toMatch(/feedback: merge conflict/);
    expect(show(repo, 'agent-team/cf-result', 'config.txt')).toBe(`value = ${second.id}`);
    // The first attempt's work is kept on its own branch.
    expect(show(repo, `agent-team/cf/${second.id}@1`, 'config.txt')).toBe(`value = ${second.id}`);
    expect(gitSync(repo, 'log', '--format=%s', 'agent-team/cf-result')).not.toMatch(/<<<<<<<|>>>>>>>/);
    expect(checkoutState(repo)).toBe(before);
  });

  it("a dependent task's worktree holds its dependency's merged change", async () => {
    const { repo, workspace, before } = setup({ 'src/lib.js': 'export const a = 1;\n' });
    const team = new AgentTeam({ workspace, teamId: 'dep', codebase: { repo, mergeInto: 'team-result' } });
    let sawDependency = '';
    team.addAgent(
      new EditingAgent('w1', (task, ctx) => {
        const wt = ctx.worktree as string;
        if (task.id === 'first') fs.writeFileSync(path.join(wt, 'src/helper.js'), 'export const helper = 2;\n');
        else sawDependency = fs.readFileSync(path.join(wt, 'src/helper.js'), 'utf8');
        if (task.id === 'second') fs.appendFileSync(path.join(wt, 'src/lib.js'), "export { helper } from './helper.js';\n");
        return 'ok';
      }),
    );
    await team.addTasks([
      { id: 'first', description: 'Add a helper' },
      { id: 'second', description: 'Export the helper', dependencies: ['first'] },
    ]);
    const summary = await team.run({ timeoutMs: 60_000 });
    expect(summary.completed).toBe(2);
    expect(sawDependency).toBe('export const helper = 2;\n');
    expect(show(repo, 'team-result', 'src/lib.js')).toContain("export { helper } from './helper.js';");
    expect(gitSync(repo, 'rev-list', '--count', '--merges', 'team-result')).toBe('2');
    expect(checkoutState(repo)).toBe(before);
  });

  it('a task that changes nothing commits nothing and merges nothing', async () => {
    const { repo, workspace, before } = setup({ 'a.txt': 'a\n' });
    const team = new AgentTeam({ workspace, teamId: 'noop', codebase: { repo } });
    team.addAgent(new EditingAgent('w1', () => 'looked, nothing to change'));
    await team.addTask('Look around', { id: 'look' });
    await team.run({ timeoutMs: 30_000 });
    const result = (await team.queue.get('look'))?.result as CodingResult;
    expect(result.commit).toBeNull();
    expect(gitSync(repo, 'rev-parse', 'agent-team/noop-result')).toBe(gitSync(repo, 'rev-parse', 'main'));
    expect(checkoutState(repo)).toBe(before);
  });
});

// Coding teams on a real git repository (no mocks of git): a worktree and
// branch per task, commits by agent, a merge queue into mergeInto with the
// test command run on the merged result, conflicts and failing tests sent
// back, and the user's checkout never touched.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TeamEvent } from '@agent-team/core';
import { codebaseFromSpec } from '../../src/cli/build-team.js';
import { validateSpec } from '../../src/cli/spec.js';
import { AgentRole, AgentTeam, CommandAgent, fromFunction, type LanguageModel } from '../../src/index.js';
import { runScript } from '../../../core/test/helpers/processes.js';
import { BIN } from '../faults/cli-harness.js';
import { tempDir } from '../helpers.js';
import { checkoutOf, git, initRepo } from './repo-fixture.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});


/** A small repository: three modules and a check that fails when one holds BROKEN. */
function makeRepo(): { repo: string; workspace: string; checkout: () => string } {
  dir = tempDir('coding-');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(path.join(repo, 'src'), { recursive: true });
  for (const name of ['a', 'b', 'c']) fs.writeFileSync(path.join(repo, 'src', `${name}.js`), `export const ${name} = 1;\n`);
  fs.writeFileSync(
    path.join(repo, 'check.js'),
    "const fs = require('fs');\nfor (const f of fs.readdirSync('src')) if (fs.readFileSync('src/' + f, 'utf8').includes('BROKEN')) { console.error('broken: ' + f); process.exit(1); }\nconsole.log('all good');\n",
  );
  initRepo(repo);
  // What the user sees of their checkout: branch, HEAD, status (untracked included), the index.
  const checkout = checkoutOf(repo);
  return { repo, workspace: path.join(dir, 'ws'), checkout };
}

/**
 * A scripted coder for tasks "set <file> <name> to <value>": it reads the file,
 * edits the line that defines <name> as it finds it, and answers. `gate`
 * holds every edit until it resolves (to make two tasks start from one base).
 */
function coder(gate?: Promise<void>): LanguageModel {
  return fromFunction(
    async function coder(_prompt, request) {
      const prompt = request.messages.find((m) => m.role === 'user')?.content ?? '';
      const [, file, name, value] = /set (\S+) (\w+) to (\w+)/.exec(prompt) ?? [];
      if (!file || !name || !value) return 'nothing to do';
      const tools = request.messages.filter((m) => m.role === 'tool');
      if (tools.length === 0) return { text: '', toolCalls: [{ name: 'read_file', arguments: { path: file } }] };
      if (tools.length === 1) {
        await gate;
        const line = tools[0]?.content.split('\n').find((l) => l.startsWith(`export const ${name} = `));
        if (!line) return `no ${name} in ${file}`;
        return { text: '', toolCalls: [{ name: 'edit_file', arguments: { path: file, old_string: line, new_string: `export const ${name} = ${value};` } }] };
      }
      return `set ${name} to ${value}: ${tools.at(-1)?.content.split('\n')[0] ?? ''}`;
    },
  );
}

function collect(team: AgentTeam) {
  const events: TeamEvent[] = [];
  team.on('*', (e: TeamEvent) => events.push(e));
  return events;
}

describe('coding teams on a git repository', () => {
  it('tasks on different files all merge, a dependent task starts from its dependency’s merged change, and the user’s checkout is untouched', async () => {
    const { repo, workspace, checkout } = makeRepo();
    const before = checkout();
    const team = new AgentTeam({ workspace, teamId: 'demo', codebase: { repo, test: 'node check.js' } });
    for (const id of ['w1', 'w2', 'w3']) team.addAgent(id, AgentRole.WORKER, coder(), { codebase: 'write' });
    await team.addTask('set src/a.js a to 2', { id: 'edit-a' });
    await team.addTask('set src/b.js b to 2', { id: 'edit-b' });
    await team.addTask('set src/c.js c to 2', { id: 'edit-c' });
    await team.addTask('set src/a.js a to 5', { id: 'edit-a-again', dependencies: ['edit-a'] });
    const events = collect(team);
    const summary = await team.run();
    expect(summary.status, JSON.stringify(summary.tasks)).toBe('completed');

    const into = 'agent-team/demo';
    for (const name of ['b', 'c']) expect(git(repo, 'show', `${into}:src/${name}.js`)).toBe(`export const ${name} = 2;`);
    expect(git(repo, 'show', `${into}:src/a.js`)).toBe('export const a = 5;');
    expect(events.filter((e) => e.type === 'git.merge_refused')).toEqual([]);
    // One merge commit per task, each with the task's commit by its agent under it.
    const merges = git(repo, 'log', '--merges', '--format=%s', into).split('\n');
    expect(merges.sort()).toEqual(['Merge task edit-a', 'Merge task edit-a-again', 'Merge task edit-b', 'Merge task edit-c']);
    const authors = git(repo, 'log', '--no-merges', '--format=%an %s', into).split('\n');
    expect(authors).toEqual(expect.arrayContaining([expect.stringMatching(/^w\d set src\/a\.js a to 2$/)]));
    expect(authors).toHaveLength(5); // four tasks' commits and the user's first commit

    const result = (await team.queue.get('edit-b'))?.result as Record<string, unknown>;
    expect(result).toMatchObject({ branch: 'agent-team-tasks/demo/edit-b', merged: { into }, test: { command: 'node check.js', passed: true } });
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(result.diffStat).toMatch(/src\/b\.js \| 2 \+-/);
    expect(String(result.summary)).toMatch(/^set b to 2: edited src\/b\.js/);

    expect(checkout()).toBe(before);
    expect(fs.readFileSync(path.join(repo, 'src', 'a.js'), 'utf8')).toBe('export const a = 1;\n');
    await team.close();

    // agent-team diff: the task's change, merged as it is.
    const diff = spawnSync(process.execPath, [BIN, 'diff', 'edit-b', '-w', workspace], { encoding: 'utf8' });
    expect(diff.status, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('-export const b = 1;\n+export const b = 2;');
    const none = spawnSync(process.execPath, [BIN, 'diff', 'nope', '-w', workspace], { encoding: 'utf8' });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no task "nope" in this workspace/);

    // A worktree a killed worker left for a task that has since finished: recover removes it and prunes git's record.
    const left = path.join(workspace, 'worktrees', 'edit-c');
    git(repo, 'worktree', 'add', '--quiet', '--force', left, 'agent-team-tasks/demo/edit-c'); // --force: its old record is still there
    const recovered = spawnSync(process.execPath, [BIN, 'recover', '--json', '-w', workspace], { encoding: 'utf8' });
    expect(recovered.status, recovered.stderr).toBe(0);
    expect((JSON.parse(recovered.stdout) as { worktreesRemoved: string[] }).worktreesRemoved).toEqual(['edit-c']);
    expect(fs.existsSync(left)).toBe(false);
    expect(git(repo, 'worktree', 'list')).not.toContain('edit-c');
  });

  it('two tasks change the same line: one merges, the other starts over from the merged code and merges on its second attempt', async () => {
    const { repo, workspace, checkout } = makeRepo();
    const before = checkout();
    let open!: () => void;
    const bothRead = new Promise<void>((resolve) => (open = resolve));
    let reads = 0;
    const gate = { then: (ok: () => void) => void (++reads >= 2 ? (open(), ok()) : bothRead.then(ok)) } as unknown as Promise<void>;
    const team = new AgentTeam({ workspace, teamId: 'race', codebase: { repo, mergeInto: 'team-result' } });
    team.addAgent('w1', AgentRole.WORKER, coder(gate), { codebase: 'write' });
    team.addAgent('w2', AgentRole.WORKER, coder(gate), { codebase: 'write' });
    await team.addTask('set src/a.js a to 2', { id: 'two' });
    await team.addTask('set src/a.js a to 3', { id: 'three' });
    const events = collect(team);
    const summary = await team.run();
    expect(summary.status).toBe('completed');

    const refused = events.filter((e): e is TeamEvent<'git.merge_refused'> => e.type === 'git.merge_refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.reason).toBe('conflict');
    const loser = refused[0]?.taskId as string;
    const winner = loser === 'two' ? 'three' : 'two';
    const lost = await team.queue.get(loser);
    expect(lost?.feedback.some((f) => f.startsWith('Merge conflict: your change to src/a.js conflicts'))).toBe(true);
    // The loser's first work is kept on a branch of its own; its second attempt merged last.
    expect(git(repo, 'branch', '--list', `agent-team-tasks/race/${loser}-attempt-*`)).not.toBe('');
    expect(git(repo, 'show', 'team-result:src/a.js')).toBe(`export const a = ${loser === 'two' ? 2 : 3};`);
    expect(git(repo, 'log', '--merges', '--format=%s', 'team-result').split('\n')).toEqual([`Merge task ${loser}`, `Merge task ${winner}`]);
    expect(checkout()).toBe(before);
    await team.close();
  });

  it('tests failing after the merge: mergeInto stays where it was, and the task fails after its attempts with the test output', async () => {
    const { repo, workspace, checkout } = makeRepo();
    const before = checkout();
    const team = new AgentTeam({ workspace, teamId: 'red', maxAttempts: 2, codebase: { repo, test: 'node check.js' } });
    team.addAgent('w1', AgentRole.WORKER, coder(), { codebase: 'write' });
    await team.addTask('set src/a.js a to BROKEN', { id: 'break-it' });
    const start = git(repo, 'rev-parse', 'main'); // mergeInto is made there when the run starts
    const summary = await team.run();
    expect(summary.status).not.toBe('completed');
    const task = await team.queue.get('break-it');
    expect(task?.status).toBe('failed');
    expect(task?.reason).toMatch(/^Tests failed after merging your change into agent-team\/red \(node check\.js, exit 1\):.*\(after 2 merge attempts\)$/);
    expect(task?.feedback[0]).toContain('broken: a.js');
    expect(git(repo, 'rev-parse', 'agent-team/red')).toBe(start);
    // Nothing is lost: both attempts' work is on branches.
    expect(git(repo, 'branch', '--list', 'agent-team-tasks/red/break-it*').split('\n')).toHaveLength(2);
    expect(checkout()).toBe(before);
    await team.close();
  });

  it('a suite that fails at the start is fixed one merge at a time: a merge may leave red tests red, never turn green ones red', async () => {
    const { repo, workspace } = makeRepo();
    for (const name of ['a', 'b']) fs.writeFileSync(path.join(repo, 'src', `${name}.js`), `export const ${name} = BROKEN;\n`);
    git(repo, 'commit', '--quiet', '-am', 'two bugs');
    const team = new AgentTeam({ workspace, teamId: 'fix', codebase: { repo, test: 'node check.js' } });
    team.addAgent('w1', AgentRole.WORKER, coder(), { codebase: 'write' });
    await team.addTask('set src/a.js a to 1', { id: 'fix-a' });
    await team.addTask('set src/b.js b to 1', { id: 'fix-b', dependencies: ['fix-a'] });
    await team.addTask('set src/c.js c to BROKEN', { id: 'break-c', dependencies: ['fix-b'], maxAttempts: 1 });
    await team.run();
    const fixA = (await team.queue.get('fix-a'))?.result as { test: { passed: boolean; baseFailed?: boolean } };
    expect(fixA.test).toMatchObject({ passed: false, baseFailed: true }); // b was still broken: merged anyway
    const fixB = (await team.queue.get('fix-b'))?.result as { test: { passed: boolean } };
    expect(fixB.test.passed).toBe(true);
    // Once green, a change that breaks it is refused.
    expect((await team.queue.get('break-c'))?.status).toBe('failed');
    const tip = git(repo, 'rev-parse', 'agent-team/fix');
    const wt = path.join(dir as string, 'verify');
    git(repo, 'worktree', 'add', '--quiet', '--detach', wt, tip);
    expect(execFileSync('node', ['check.js'], { cwd: wt, encoding: 'utf8' })).toBe('all good\n');
    await team.close();
  });

  it('a reviewer sees the diff and the test run; its approval merges the work, and it cannot approve failing tests', async () => {
    const { repo, workspace, checkout } = makeRepo();
    const before = checkout();
    const prompts: string[] = [];
    const reviewer = fromFunction(function reviewer(prompt) {
      prompts.push(prompt);
      return JSON.stringify({ verdict: 'approve', feedback: 'looks right' });
    });
    const team = new AgentTeam({ workspace, teamId: 'rev', maxReviewRounds: 2, codebase: { repo, test: 'node check.js' } });
    team.addAgent('w1', AgentRole.WORKER, coder(), { codebase: 'write' });
    team.addAgent('r1', AgentRole.REVIEWER, reviewer);
    await team.addTask('set src/b.js b to 7', { id: 'good', review: true });
    await team.addTask('set src/c.js c to BROKEN', { id: 'bad', review: true });
    const events = collect(team);
    await team.run();

    const good = prompts.find((p) => p.includes('Task: good')) as string;
    expect(good).toContain('diff --git a/src/b.js b/src/b.js');
    expect(good).toContain('+export const b = 7;');
    expect(good).toMatch(/src\/b\.js \| 2 \+-/);
    expect(good).toContain('Tests (node check.js): passed');
    expect((await team.queue.get('good'))?.status).toBe('completed');
    expect(git(repo, 'show', 'agent-team/rev:src/b.js')).toBe('export const b = 7;');
    expect(events.some((e) => e.type === 'git.merged' && e.taskId === 'good' && (e).agentId === 'r1')).toBe(true);

    // The reviewer approved the broken change twice; both approvals were refused, and the task failed review.
    expect(prompts.find((p) => p.includes('Task: bad'))).toContain('Tests (node check.js): FAILED (exit 1)');
    const bad = await team.queue.get('bad');
    expect(bad?.status).toBe('failed');
    expect(bad?.feedback[0]).toMatch(/^Approval refused: the tests fail on this commit \(node check\.js exit 1: .*broken: c\.js/s);
    expect(git(repo, 'show', 'agent-team/rev:src/c.js')).toBe('export const c = 1;');
    expect(checkout()).toBe(before);
    await team.close();
  });

  it('a command agent (an outside program) works in the task’s worktree; its change is committed, merged and recorded like any agent’s', async () => {
    const { repo, workspace, checkout } = makeRepo();
    const before = checkout();
    const script = path.join(dir as string, 'outside-agent.cjs');
    // Stands in for Claude Code or Codex: reads the prompt on stdin, edits a file where it runs, prints JSON.
    fs.writeFileSync(
      script,
      "const fs = require('fs'); const prompt = fs.readFileSync(0, 'utf8');\n" +
        "fs.writeFileSync('src/c.js', 'export const c = 42;\\n');\n" +
        "console.log(JSON.stringify({ edited: 'src/c.js', task: process.env.AGENT_TEAM_TASK_ID, sawPrompt: prompt.includes('answer 42') }));\n",
    );
    const team = new AgentTeam({ workspace, teamId: 'ext', codebase: { repo, test: 'node check.js' } });
    team.addAgent(new CommandAgent('claude-1', 'worker', { command: ['node', script], codebase: 'write' }));
    await team.addTask('set c to the answer 42', { id: 'outside' });
    const summary = await team.run();
    expect(summary.status).toBe('completed');
    const result = (await team.queue.get('outside'))?.result as Record<string, unknown>;
    expect(result.summary).toEqual({ edited: 'src/c.js', task: 'outside', sawPrompt: true });
    expect(result).toMatchObject({ merged: { into: 'agent-team/ext' }, test: { passed: true } });
    expect(git(repo, 'show', 'agent-team/ext:src/c.js')).toBe('export const c = 42;');
    expect(git(repo, 'log', '-1', '--format=%an', 'agent-team/ext^2')).toBe('claude-1'); // the merge's second parent: the task's commit
    expect(checkout()).toBe(before);
    await team.close();
  });

  it('SIGKILL of a worker while its merge is being tested: mergeInto keeps its old commit, and the next worker merges the work once', async () => {
    const { repo, workspace } = makeRepo();
    const marks = path.join(dir as string, 'marks');
    fs.mkdirSync(marks);
    // The test command says when it starts (the merge is then done in the merge worktree) and takes a while.
    fs.writeFileSync(path.join(repo, 'slow-test.js'), "require('fs').writeFileSync(require('path').join(process.env.MARK_DIR, 'testing-' + process.pid), '');\nsetTimeout(() => {}, 1500);\n");
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'slow test');
    const base = git(repo, 'rev-parse', 'HEAD');
    const adder = new AgentTeam({ workspace, teamId: 'kill' });
    await adder.addTask('set src/a.js a to 2', { id: 'set-a' });
    await adder.close();

    const fixture = path.join(import.meta.dirname, 'fixtures', 'coding-worker.ts');
    const first = runScript(fixture, [workspace, repo, 'w1', marks]);
    for (let i = 0; i < 300 && fs.readdirSync(marks).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.readdirSync(marks)).toHaveLength(1);
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(git(repo, 'rev-parse', 'agent-team/kill')).toBe(base);

    const second = runScript(fixture, [workspace, repo, 'w2', marks]);
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.lines.at(-1)).toBe('run ended: completed');
    expect(git(repo, 'show', 'agent-team/kill:src/a.js')).toBe('export const a = 2;');
    expect(git(repo, 'log', '--merges', '--format=%s', 'agent-team/kill').split('\n')).toEqual(['Merge task set-a']);
    const team = new AgentTeam({ workspace, teamId: 'kill' });
    const task = await team.queue.get('set-a');
    expect(task).toMatchObject({ status: 'completed', attempt: 2, owner: 'w2' });
    await team.close();
  }, 60_000);

  it('refuses before anything starts: not a repository, uncommitted changes on HEAD, mergeInto checked out by the user', async () => {
    const { repo, workspace, checkout } = makeRepo();
    let runs = 0;
    const run = async (codebase: { repo: string; mergeInto?: string }) => {
      const team = new AgentTeam({ workspace: `${workspace}-${++runs}`, teamId: 'bad', codebase });
      team.addAgent('w1', AgentRole.WORKER, coder(), { codebase: 'write' });
      await team.addTask('set src/a.js a to 2', { id: 't' });
      const error = await team.run().catch((e: unknown) => e);
      await team.close();
      return error as Error;
    };
    const plain = path.join(dir as string, 'plain');
    fs.mkdirSync(plain);
    expect((await run({ repo: plain })).message).toMatch(/is not a git repository: run "git init" there/);
    expect((await run({ repo, mergeInto: 'main' })).message).toMatch(/codebase\.mergeInto "main" is checked out in .*repo; the team never touches your checkout/);
    fs.writeFileSync(path.join(repo, 'src', 'a.js'), 'export const a = 9;\n');
    expect((await run({ repo })).message).toMatch(/has uncommitted changes, which the team would not see/);
    git(repo, 'checkout', '--quiet', '--', 'src/a.js');
    expect(checkout()).toContain('refs/heads/main');
  });

  it('spec files name the codebase and each agent’s access', () => {
    const spec = validateSpec({
      codebase: { repo: './repo', test: 'npm test', mergeInto: 'team-result', commands: ['npm test', 'node *', { shell: 'npm run lint && npm test' }] },
      agents: [{ id: 'w1', role: 'worker', model: 'offline', codebase: 'write' }, { id: 'r1', role: 'reviewer', model: 'offline', codebase: 'read' }],
      tasks: [{ description: 'fix it' }],
    });
    expect(spec.codebase?.repo).toBe('./repo');
    expect(() => validateSpec({ agents: [{ id: 'w1', role: 'worker', model: 'offline', codebase: 'write' }], tasks: [{ description: 'x' }] })).toThrow(
      /agents\[0\]\.codebase: "write" needs a top-level codebase section/,
    );
    const shared = validateSpec({ codebase: { repo: '.', isolation: 'shared' }, agents: [{ id: 'w1', role: 'worker', model: 'offline' }], tasks: [{ description: 'x' }] });
    expect(codebaseFromSpec(shared.codebase as NonNullable<typeof shared.codebase>, '/somewhere').isolation).toBe('shared');
    expect(() => validateSpec({ codebase: { repo: '.', isolation: 'private' }, agents: [{ id: 'w1', role: 'worker', model: 'offline' }], tasks: [{ description: 'x' }] })).toThrow(/isolation/);
  });
});

// Coding tasks on a real git repository, after review and from the CLI: an
// approved task whose merge conflicts is re-opened on the new mergeInto and
// merges at its next approval; `diff`, `tasks show` and `export` show the
// commit. The user's checkout is compared before and after.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TeamEvent } from '@agent-team/core';
import { AgentRole, AgentTeam, fromFunction, type LanguageModel } from '../../src/index.js';
import { tempDir } from '../helpers.js';
import { checkoutOf, git, initRepo } from './repo-fixture.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});


function makeRepo(): { repo: string; workspace: string; checkout: () => string } {
  dir = tempDir('review-merge-');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(path.join(repo, 'src'), { recursive: true });
  for (const name of ['a', 'b']) fs.writeFileSync(path.join(repo, 'src', `${name}.js`), `export const ${name} = 1;\n`);
  fs.writeFileSync(
    path.join(repo, 'check.js'),
    "const fs = require('fs');\nfor (const f of fs.readdirSync('src')) if (fs.readFileSync('src/' + f, 'utf8').includes('BROKEN')) { console.error('broken: ' + f); process.exit(1); }\nconsole.log('all good');\n",
  );
  initRepo(repo);
  const checkout = checkoutOf(repo);
  return { repo, workspace: path.join(dir, 'ws'), checkout };
}

/**
 * A scripted coder for "set <file> <name> to <value>": reads the file, edits
 * the line.
 * `gate` holds the first edit of every task (two tasks start from one base).
 */
function coder(gate?: Promise<void>): LanguageModel {
  return fromFunction(async function coder(_prompt, request) {
    const prompt = request.messages.find((m) => m.role === 'user')?.content ?? '';
    const [, file, name, value] = /set (\S+) (\w+) to (\w+)/.exec(prompt) ?? [];
    if (!file || !name || !value) return 'nothing to do';
    const tools = request.messages.filter((m) => m.role === 'tool');
    if (tools.length === 0) return { text: '', toolCalls: [{ name: 'read_file', arguments: { path: file } }] };
    if (tools.length === 1) {
      if (!prompt.includes('Merge conflict')) await gate;
      const line = tools[0]?.content.split('\n').find((l) => l.startsWith(`export const ${name} = `));
      if (!line) return `no ${name} in ${file}`;
      return { text: '', toolCalls: [{ name: 'edit_file', arguments: { path: file, old_string: line, new_string: `export const ${name} = ${value};` } }] };
    }
    return `set ${name} to ${value}`;
  });
}

/** A reviewer that approves everything and keeps the prompts it saw. */
function approver(prompts: string[]): LanguageModel {
  return fromFunction(function approver(_prompt, request) {
    prompts.push(request.messages.map((m) => m.content).join('\n'));
    return JSON.stringify({ verdict: 'approve', feedback: 'looks right' });
  });
}

describe('reviewing coding tasks', () => {
  it('an approved task that no longer merges is re-opened on the new mergeInto and merges at its next approval', async () => {
    const { repo, workspace, checkout } = makeRepo();
    const before = checkout();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const prompts: string[] = [];
    const team = new AgentTeam({ workspace, teamId: 'rc', maxReviewRounds: 3, codebase: { repo, test: 'node check.js' } });
    team.addAgent('w1', AgentRole.WORKER, coder(gate), { codebase: 'write' });
    team.addAgent('w2', AgentRole.WORKER, coder(gate), { codebase: 'write' });
    team.addAgent('r1', AgentRole.REVIEWER, approver(prompts));
    const events: TeamEvent[] = [];
    team.on('*', (e: TeamEvent) => {
      events.push(e);
      if (events.filter((x) => x.type === 'task.claimed' && !String(x.taskId).includes('review')).length === 2) open();
    });
    await team.addTasks([
      { id: 'x', description: 'set src/a.js a to 5', metadata: { review: true } },
      { id: 'y', description: 'set src/a.js a to 7', metadata: { review: true } },
    ]);
    await team.run({ timeoutMs: 60_000 });
    expect([(await team.queue.get('x'))?.status, (await team.queue.get('y'))?.status]).toEqual(['completed', 'completed']);
    const refused = events.filter((e) => e.type === 'git.merge_refused');
    expect(refused).toHaveLength(1);
    const loser = refused[0]?.taskId as string;
    const lost = await team.queue.get(loser);
    expect(lost?.feedback[0]).toMatch(/^Approved, but the merge conflicts with work merged meanwhile \(src\/a\.js\)/);
    // The loser's second attempt started from the winner's merged change; its first attempt is kept on a branch.
    expect(git(repo, 'show', 'agent-team/rc:src/a.js')).toBe(`export const a = ${loser === 'x' ? 5 : 7};`);
    expect(git(repo, 'branch', '--list', `agent-team-tasks/rc/${loser}-attempt-*`)).not.toBe('');
    expect(git(repo, 'rev-list', '--merges', '--count', 'agent-team/rc')).toBe('2');
    expect(checkout()).toBe(before);
  });

  it('agent-team diff, tasks show and export show the commit, its stat and the tests', async () => {
    const { repo, workspace, checkout } = makeRepo();
    const before = checkout();
    const team = new AgentTeam({ workspace, teamId: 'cli', codebase: { repo, test: 'node check.js' } });
    team.addAgent('w1', AgentRole.WORKER, coder(), { codebase: 'write' });
    await team.addTask('set src/b.js b to 9', { id: 'setb' });
    await team.run({ timeoutMs: 60_000 });
    const bin = path.join(import.meta.dirname, '..', '..', 'bin', 'agent-team.js');
    const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args, '-w', workspace], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const diff = cli('diff', 'setb');
    expect(diff.status).toBe(0);
    expect(diff.stdout).toContain('-export const b = 1;\n+export const b = 9;');
    const stat = cli('diff', 'setb', '--stat');
    expect(stat.stdout).toMatch(/src\/b\.js \| 2 \+-/);
    const show = cli('tasks', 'show', 'setb');
    const commit = git(repo, 'rev-parse', 'agent-team-tasks/cli/setb');
    expect(show.stdout).toContain(`commit        ${commit}`);
    expect(show.stdout).toMatch(/merged +into agent-team\/cli as [0-9a-f]{40}/);
    expect(show.stdout).toMatch(/tests +node check\.js: passed/);
    const exported = cli('export');
    expect(exported.stdout).toContain(`Commit \`${commit.slice(0, 12)}\` on \`agent-team-tasks/cli/setb\`, merged into \`agent-team/cli\``);
    const missing = cli('diff', 'nope');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no task "nope"');
    expect(checkout()).toBe(before);
  });
});

/**
 * pnpm bench:coding [--json] [--tasks N] [--workers N] [--dir D] [--source REPO]
 *
 * The team's overhead per coding task on a repository the size of this one
 * (a local clone of it): claim, worktree, the agent's tool call (a scripted
 * model, no network), commit, merge queue, worktree removal, completion;
 * no test command. Per task, from `task.claimed` to `task.completed`, p50 and
 * p99, for N tasks on W workers (each task edits its own file, so every merge
 * is clean). The baseline, measured in the same run on the same clone:
 * `git worktree add` alone (and its removal), which every task pays once.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { TeamEvent } from '@agent-team/core';
import { AgentRole, AgentTeam, fromFunction } from '@agent-team/agents';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    json: { type: 'boolean', default: false },
    tasks: { type: 'string', default: '20' },
    workers: { type: 'string', default: '4' },
    dir: { type: 'string' },
    source: { type: 'string', default: path.resolve(import.meta.dirname, '..', '..', '..') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    'Usage: pnpm bench:coding [--json] [--tasks N] [--workers N] [--dir D] [--source REPO]\n\n' +
      '  --tasks N     coding tasks (default 20)\n  --workers N   workers (default 4)\n' +
      '  --dir D       where to clone and run (default: the temp folder)\n  --source R    the repository to clone (default: this one)\n' +
      '  --json        print one JSON object as the last line',
  );
  process.exit(0);
}
const tasks = Number(values.tasks);
const workers = Number(values.workers);
if (!Number.isInteger(tasks) || tasks < 1 || !Number.isInteger(workers) || workers < 1) {
  console.error('--tasks and --workers must be whole numbers >= 1');
  process.exit(2);
}
const log = (line: string) => (values.json ? process.stderr.write(`${line}\n`) : console.log(line));
const base = fs.mkdtempSync(path.join(values.dir ? path.resolve(values.dir) : os.tmpdir(), 'bench-coding-'));
const repo = path.join(base, 'repo');
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

try {
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', values.source, repo]);
  git(repo, 'config', 'user.email', 'bench@example.invalid');
  git(repo, 'config', 'user.name', 'bench');
  const files = Number(git(repo, 'ls-files').split('\n').length);
  log(`Coding-team overhead: ${tasks} tasks, ${workers} workers, a clone of ${values.source} (${files} files) in ${base}`);

  // Baseline: git worktree add (and remove) alone, the same number of times, in the same clone.
  const baseline: number[] = [];
  for (let i = 0; i < tasks; i++) {
    const wt = path.join(base, 'plain', `w${i}`);
    const t0 = performance.now();
    git(repo, 'worktree', 'add', '--quiet', '-b', `plain-${i}`, wt, 'HEAD');
    baseline.push(performance.now() - t0);
    git(repo, 'worktree', 'remove', '--force', wt);
  }

  const edit = fromFunction(function benchCoder(_prompt, request) {
    const task = request.messages.find((m) => m.role === 'user')?.content ?? '';
    const id = /Write (bench-\d+)/.exec(task)?.[1] ?? 'bench-x';
    const done = request.messages.some((m) => m.role === 'tool');
    return done ? 'written' : { text: '', toolCalls: [{ name: 'write_file', arguments: { path: `bench/${id}.txt`, content: `${id}\n` } }] };
  });
  const team = new AgentTeam({ workspace: path.join(base, 'ws'), teamId: 'bench', codebase: { repo } });
  for (let i = 1; i <= workers; i++) team.addAgent(`w${i}`, AgentRole.WORKER, edit, { codebase: 'write' });
  await team.addTasks(Array.from({ length: tasks }, (_, i) => ({ id: `bench-${i}`, description: `Write bench-${i}` })));
  const claimed = new Map<string, number>();
  const perTask: number[] = [];
  team.on('*', (e: TeamEvent) => {
    if (e.type === 'task.claimed' && e.taskId) claimed.set(e.taskId, performance.now());
    if (e.type === 'task.completed' && e.taskId && claimed.has(e.taskId)) perTask.push(performance.now() - (claimed.get(e.taskId) as number));
  });
  const t0 = performance.now();
  const summary = await team.run({ timeoutMs: 10 * 60_000 });
  const wall = performance.now() - t0;
  if (summary.completed !== tasks) throw new Error(`only ${summary.completed} of ${tasks} tasks completed: ${summary.reason}`);
  const merges = Number(git(repo, 'rev-list', '--count', '--merges', 'HEAD..agent-team/bench'));
  if (merges !== tasks) throw new Error(`${merges} merges on agent-team/bench, expected ${tasks}`);

  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
  };
  const out = {
    tasks,
    workers,
    files,
    perTaskMs: { p50: pct(perTask, 50), p99: pct(perTask, 99) },
    worktreeAddMs: { p50: pct(baseline, 50), p99: pct(baseline, 99) },
    ratioP50: pct(perTask, 50) / pct(baseline, 50),
    wallMs: wall,
    tasksPerSecond: tasks / (wall / 1000),
  };
  log(`  per task (claim to completed: worktree, tool call, commit, merge queue, cleanup): p50 ${out.perTaskMs.p50.toFixed(0)} ms, p99 ${out.perTaskMs.p99.toFixed(0)} ms`);
  log(`  git worktree add alone (same run, same clone):                                 p50 ${out.worktreeAddMs.p50.toFixed(0)} ms, p99 ${out.worktreeAddMs.p99.toFixed(0)} ms`);
  log(`  ratio p50: ${out.ratioP50.toFixed(1)}x worktree add; ${tasks} tasks in ${(wall / 1000).toFixed(1)} s (${out.tasksPerSecond.toFixed(1)} tasks/s, merges serialised)`);
  if (values.json) console.log(JSON.stringify(out));
} finally {
  fs.rmSync(base, { recursive: true, force: true });
}

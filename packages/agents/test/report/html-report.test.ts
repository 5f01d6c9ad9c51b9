import fs from 'node:fs';
import path from 'node:path';
import { FileBackend, TaskQueue } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentRole, AgentTeam, offlineModel } from '../../src/index.js';
import { MAX_DIFF_BYTES, type DiffCache, attemptsFromEvents, buildReportData, clipDiff } from '../../src/report/data.js';
import { reportHtml, scriptSafe } from '../../src/report/html.js';
import { tempDir } from '../helpers.js';
import { namedChange } from '../../src/git/result.js';
import { git as gitIn, repoOf } from '../git/repo-fixture.js';

/** A repository in `dir/repo` with a.txt committed on main, and git to run there. */
function repoWithOneFile(dir: string) {
  const { repo } = repoOf(dir, { 'a.txt': 'one\n' });
  return { repo, git: (...args: string[]) => gitIn(repo, ...args) };
}

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A small run: a plan, a retried step, a failed step, and a model call, written through the real queue. */
async function smallRun(ws: string): Promise<void> {
  const backend = FileBackend.open(ws, { watch: false });
  const queue = TaskQueue.open({ backend });
  await queue.add({ id: 'plan', description: 'Plan </script><script>alert(1)</script> the work' });
  await queue.add({ id: 'build', description: 'Build it', dependencies: ['plan'], maxAttempts: 2, retry: { baseMs: 1, maxMs: 1 } });
  await queue.add({ id: 'ship', description: 'Ship it', dependencies: ['build'], maxAttempts: 1 });
  const plan = await queue.claim({ agentId: 'planner' });
  backend.events.append({ type: 'model.call', agentId: 'planner', taskId: 'plan', model: 'offline:echo', inputTokens: 120, outputTokens: 30, costUsd: 0.002, durationMs: 5 });
  await queue.complete(plan!.ref, { answer: 'three steps' });
  const first = await queue.claim({ agentId: 'coder' });
  await queue.fail(first!.ref, new Error('compiler crashed'));
  await new Promise((r) => setTimeout(r, 20));
  const second = await queue.claim({ agentId: 'coder' });
  await queue.complete(second!.ref, 'built');
  const ship = await queue.claim({ agentId: 'coder' });
  await queue.fail(ship!.ref, new Error('no network'), { retryable: false });
  await queue.close();
  await backend.close();
}

describe('HTML report', () => {
  it('carries every task, the attempts and the usage in one file with no network reference', async () => {
    dir = tempDir('report-');
    await smallRun(dir);
    const backend = FileBackend.open(dir, { watch: false });
    const data = await buildReportData(backend);
    await backend.close();

    expect(data.tasks.map((t) => t.id).sort()).toEqual(['build', 'plan', 'ship']);
    expect(data.attempts.map((a) => [a.taskId, a.agentId, a.attempt, a.outcome])).toEqual([
      ['plan', 'planner', 1, 'completed'],
      ['build', 'coder', 1, 'retried'],
      ['build', 'coder', 2, 'completed'],
      ['ship', 'coder', 1, 'failed'],
    ]);
    expect(data.attempts[1]!.note).toMatch(/compiler crashed/);
    expect(data.usage.byAgent.planner).toMatchObject({ calls: 1, inputTokens: 120, outputTokens: 30 });

    const html = reportHtml(data);
    // The page's own script and data cannot be closed early by task text.
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    expect(html).not.toContain('alert(1)</script>');
    // Self-contained: no src/href attributes and no fetch of anything; dagre is inline.
    expect(html).not.toMatch(/\s(src|href)=/i);
    expect(html).toContain('var dagre=');
    expect(html).toContain("default-src 'none'");
    const json = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect((JSON.parse(json) as { tasks: Array<{ description: string }> }).tasks.map((t) => t.description)).toContain(
      'Plan </script><script>alert(1)</script> the work',
    );
  });

  it('scriptSafe escapes closing script tags and comment openers', () => {
    expect(scriptSafe('a</SCRIPT>b<!--c')).toBe('a<\\/SCRIPT>b<\\!--c');
  });

  it('folds a lease takeover and an open claim into attempts', () => {
    const base = { writer: 'w', seq: '1' };
    const spans = attemptsFromEvents([
      { ...base, ts: 1, type: 'task.claimed', taskId: 't', agentId: 'a', attempt: 1, leaseUntil: 5 },
      { ...base, ts: 6, type: 'task.requeued', taskId: 't', attempt: 2, reason: 'lease expired', previousOwner: 'a' },
      { ...base, ts: 7, type: 'task.claimed', taskId: 't', agentId: 'b', attempt: 2, leaseUntil: 20 },
    ] as never);
    expect(spans).toEqual([
      { taskId: 't', agentId: 'a', attempt: 1, start: 1, end: 6, outcome: 'requeued', note: 'lease expired' },
      { taskId: 't', agentId: 'b', attempt: 2, start: 7, end: null, outcome: 'running' },
    ]);
  });

  it("records the team's budget and draws it: team.started carries it, the data has it and the spend over time", async () => {
    dir = tempDir('report-budget-');
    const team = new AgentTeam({ workspace: dir, watch: false, budget: { maxTokens: 250_000, maxUsd: 5 } });
    team.addAgent('worker', AgentRole.WORKER, offlineModel());
    await team.addTasks([{ id: 'a', description: 'Summarise the handbook' }, { id: 'b', description: 'Summarise the appendix' }]);
    await team.run({ timeoutMs: 10_000, handleSignals: false });
    await team.close();
    const backend = FileBackend.open(dir, { watch: false });
    const data = await buildReportData(backend);
    await backend.close();
    expect(data.budget).toEqual({ maxTokens: 250_000, maxUsd: 5 });
    expect(data.usage.total.calls).toBeGreaterThan(0);
    expect(data.spend.length).toBe(data.usage.total.calls);
    const last = data.spend[data.spend.length - 1]!;
    expect(last[1]).toBe(data.usage.total.inputTokens + data.usage.total.outputTokens);
    // Cumulative, in time order.
    expect(data.spend.every((p, i) => i === 0 || (p[0] >= data.spend[i - 1]![0] && p[1] >= data.spend[i - 1]![1]))).toBe(true);
    expect(reportHtml(data)).toContain('"budget":{"maxTokens":250000,"maxUsd":5}');
  });

  it("carries a coding task's diff when its repository is reachable, its stat otherwise, and asks git once per commit", async () => {
    dir = tempDir('report-diff-');
    const { repo, git } = repoWithOneFile(dir);
    const base = git('rev-parse', 'HEAD');
    fs.writeFileSync(path.join(repo, 'a.txt'), 'one\ntwo\n');
    git('commit', '-qam', 'change');
    const commit = git('rev-parse', 'HEAD');
    const ws = path.join(dir, 'ws');
    const backend = FileBackend.open(ws, { watch: false });
    const queue = TaskQueue.open({ backend });
    const coding = (r: string) => ({ summary: 'added two', branch: 'task/x', commit, diffStat: ' a.txt | 1 +', repo: r, base });
    await queue.add({ id: 'here', description: 'Reachable' });
    await queue.add({ id: 'gone', description: 'Repository moved away' });
    for (const r of [repo, path.join(dir, 'nowhere')]) {
      const claim = await queue.claim({ agentId: 'coder' });
      await queue.complete(claim!.ref, coding(r));
    }
    const cache: DiffCache = new Map();
    const data = await buildReportData(backend, { diffCache: cache });
    expect(Object.keys(data.diffs)).toEqual(['here']);
    expect(data.diffs.here!.text).toContain('+two');
    expect(data.diffs.here!.clipped).toBe(false);
    expect(cache.size).toBe(2);
    // A second build takes the diff from the cache: git is not asked again (the repository is gone now).
    fs.rmSync(repo, { recursive: true, force: true });
    expect((await buildReportData(backend, { diffCache: cache })).diffs.here!.text).toContain('+two');
    expect(Object.keys((await buildReportData(backend)).diffs)).toEqual([]);
    expect((await buildReportData(backend, { diffs: false })).diffs).toEqual({});
    await queue.close();
    await backend.close();
  });

  it('a result that names options instead of commits (written by anyone who completes a task) is never passed to git', async () => {
    dir = tempDir('report-inject-');
    const { repo, git } = repoWithOneFile(dir);
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'precious\n');
    const backend = FileBackend.open(path.join(dir, 'ws'), { watch: false });
    const queue = TaskQueue.open({ backend });
    const results = [
      { base: `--output=${victim}`, commit: 'HEAD', repo },
      { base: git('rev-parse', 'HEAD'), commit: `--output=${victim}`, repo },
      { base: git('rev-parse', 'HEAD'), commit: git('rev-parse', 'HEAD'), repo: 'repo' }, // not an absolute path
    ];
    for (const [i, r] of results.entries()) {
      await queue.add({ id: `t${i}`, description: 'x' });
      const claim = await queue.claim({ agentId: 'mcp-client' });
      await queue.complete(claim!.ref, { summary: 'x', branch: 'b', diffStat: '', ...r });
    }
    expect((await buildReportData(backend)).diffs).toEqual({});
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(namedChange({ summary: 'x', branch: 'b', diffStat: '', base: 'abc1234', commit: 'def5678', repo })).toEqual({ repo, base: 'abc1234', commit: 'def5678', branch: 'b' });
    await queue.close();
    await backend.close();
  });

  it('clips a long diff at a line break and says how long it was', () => {
    const line = `+${'x'.repeat(99)}\n`;
    const long = line.repeat(Math.ceil((MAX_DIFF_BYTES * 1.5) / line.length));
    const clipped = clipDiff(long);
    expect(clipped.clipped).toBe(true);
    expect(clipped.bytes).toBe(Buffer.byteLength(long));
    expect(Buffer.byteLength(clipped.text)).toBeLessThanOrEqual(MAX_DIFF_BYTES);
    expect(clipped.text.endsWith('x\n')).toBe(true);
    expect(clipDiff('+é\n', 2)).toEqual({ text: '+', bytes: 4, clipped: true });
    expect(clipDiff('short\n')).toEqual({ text: 'short\n', bytes: 6, clipped: false });
  });
});

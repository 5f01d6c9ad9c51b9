import fs from 'node:fs';
import { FileBackend, TaskQueue } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { attemptsFromEvents, buildReportData } from '../../src/report/data.js';
import { reportHtml, scriptSafe } from '../../src/report/html.js';
import { tempDir } from '../helpers.js';

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
});

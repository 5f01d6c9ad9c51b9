import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuplicateTaskError, FileTaskStore, TaskQueue, Workspace } from '../src/index.js';
import { tempDir } from './helpers/processes.js';
import { describeTaskStoreConformance } from './conformance/task-store-suite.js';
import { fileHarness } from './helpers/file-harness.js';

describeTaskStoreConformance('file', (options) => fileHarness(options));

// What the file backend does to save system calls, pinned where it could go wrong.
describe('file backend: fewer system calls, same records', () => {
  it('a result record shorter than the claim it overwrites is whole JSON, with nothing of the claim left', async () => {
    const h = await fileHarness();
    try {
      // A long agent id makes the claim longer than the result record that replaces it.
      const agentId = `agent-${'x'.repeat(120)}`;
      const short = await h.queue.add({ description: 'short result', id: 'short' });
      const long = await h.queue.add({ description: 'long result', id: 'long' });
      for (const [task, result] of [[short, 1], [long, 'r'.repeat(2000)]] as const) {
        const claim = await h.queue.claim({ agentId });
        expect(claim?.task.id).toBe(task.id);
        await claim!.complete(result);
        const text = fs.readFileSync(path.join(h.dir, 'results', `${task.id}.json`), 'utf8');
        const record = JSON.parse(text) as Record<string, unknown>;
        expect(record).toMatchObject({ status: 'completed', result, owner: agentId });
        expect(record).not.toHaveProperty('token');
        expect(text.trimEnd()).toBe(JSON.stringify(record));
        expect((await h.queue.get(task.id))?.result).toEqual(result);
      }
    } finally {
      await h.close();
    }
  });

  it('claimMany claims the best ready tasks in one pass, each with its own claim file, and writes their events at once', async () => {
    const dir = tempDir('claim-many-');
    const ws = Workspace.open(dir, { watch: false });
    const queue = TaskQueue.open({ workspace: ws, autoHeartbeat: false });
    const store = new FileTaskStore(ws);
    try {
      await queue.addMany([
        { description: 'low', id: 'low', priority: 0 },
        { description: 'high', id: 'high', priority: 5 },
        { description: 'mid 1', id: 'mid1', priority: 2 },
        { description: 'mid 2', id: 'mid2', priority: 2 },
        { description: 'other type', id: 'other', type: 'review' },
      ]);
      const first = await store.claimMany({ agentId: 'w1', leaseMs: 60_000, types: ['task'] }, 3);
      expect(first.map((g) => g.task.id)).toEqual(['high', 'mid1', 'mid2']);
      for (const grant of first) {
        const claim = JSON.parse(fs.readFileSync(path.join(dir, 'claims', grant.task.id), 'utf8')) as { token: string };
        expect(claim.token).toBe(grant.ref.token);
      }
      const claimed = ws.events.read({ types: ['task.claimed'] }).map((e) => e.taskId);
      expect(claimed).toEqual(['high', 'mid1', 'mid2']);
      const rest = await store.claimMany({ agentId: 'w1', leaseMs: 60_000, types: ['task'] }, 10);
      expect(rest.map((g) => g.task.id)).toEqual(['low']);
      expect(await store.claimMany({ agentId: 'w1', leaseMs: 60_000, types: ['task'] }, 10)).toEqual([]);
      // The grants are real claims: each completes, fenced by its token.
      for (const grant of [...first, ...rest]) await store.complete(grant.ref, grant.task.id);
      expect((await queue.counts()).completed).toBe(4);
    } finally {
      await store.close();
      await queue.close();
      await ws.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a batch with an id already taken leaves no task file, key or intent of the batch behind', async () => {
    const h = await fileHarness();
    try {
      await h.queue.add({ description: 'first', id: 'taken' });
      const before = await h.snapshot();
      await expect(
        h.queue.addMany([
          { description: 'new one', id: 'fresh', idempotencyKey: 'k-fresh' },
          { description: 'clash', id: 'taken' },
        ]),
      ).rejects.toBeInstanceOf(DuplicateTaskError);
      expect(await h.snapshot()).toBe(before);
      expect(await h.queue.get('fresh')).toBeNull();
      // The id and the key are free again.
      const added = await h.queue.add({ description: 'new one', id: 'fresh', idempotencyKey: 'k-fresh' });
      expect(added.id).toBe('fresh');
    } finally {
      await h.close();
    }
  });
});

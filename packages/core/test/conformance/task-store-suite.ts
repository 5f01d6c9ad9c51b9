import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DependencyCycleError,
  DuplicateTaskError,
  InvalidIdError,
  LeaseLostError,
  type ManualClock,
  TaskStateError,
  type TaskQueue,
  type TaskQueueOptions,
  UnknownDependencyError,
  ValidationError,
} from '../../src/index.js';

/** What a backend provides to run the conformance suite against it. */
export interface QueueHarness {
  /** A queue on a fresh, empty store, driven by `clock`, heartbeats off. */
  queue: TaskQueue;
  clock: ManualClock;
  /** Another queue on the same storage, as a second process would open it (same clock). */
  openPeer(): Promise<TaskQueue>;
  /** A fingerprint of everything the store holds, to prove that a refused call wrote nothing. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

export type HarnessFactory = (options: Partial<TaskQueueOptions>) => Promise<QueueHarness>;

/**
 * The contract every TaskStore must honour (docs/architecture.md,
 * "Contracts"). Written once against the seam; each backend runs it.
 */
export function describeTaskStoreConformance(backend: string, create: HarnessFactory): void {
  describe(`TaskStore conformance: ${backend}`, () => {
    let h: QueueHarness;
    let q: TaskQueue;
    const open = async (options: Partial<TaskQueueOptions> = {}) => {
      await h?.close();
      h = await create({ leaseMs: 1000, retry: { baseMs: 100, maxMs: 1000 }, ...options });
      q = h.queue;
    };
    beforeEach(async () => {
      await open();
    });
    afterEach(async () => {
      await h.close();
    });

    it('adds a task and reads it back', async () => {
      const t = await q.add({ description: 'write the parser', id: 'parser', metadata: { file: 'src/p.ts' } });
      expect(t).toMatchObject({ id: 'parser', status: 'ready', attempt: 1, type: 'task', priority: 0 });
      const got = await q.get('parser');
      expect(got).toMatchObject({ id: 'parser', description: 'write the parser', status: 'ready', metadata: { file: 'src/p.ts' } });
      expect(await q.get('missing')).toBeNull();
      const generated = await q.add({ description: 'no id given' });
      expect(generated.id).toMatch(/^t-/);
    });

    it('claims by priority, then first in first out', async () => {
      await q.add({ description: 'low', id: 'low', priority: -1 });
      await q.add({ description: 'first', id: 'first' });
      await q.add({ description: 'second', id: 'second' });
      await q.add({ description: 'urgent', id: 'urgent', priority: 10 });
      const order: string[] = [];
      for (;;) {
        const c = await q.claim({ agentId: 'w1' });
        if (!c) break;
        order.push(c.taskId);
        await c.complete(null);
      }
      expect(order).toEqual(['urgent', 'first', 'second', 'low']);
    });

    it('offers a task only to claimers that can do it', async () => {
      await q.add({ description: 'audit auth', id: 'sec', requires: 'security' });
      await q.add({ description: 'review it', id: 'rev', type: 'review' });
      await q.add({ description: 'plain', id: 'plain' });
      expect(await q.claim({ agentId: 'w', types: ['task'], acceptUnrequired: true, capabilities: [] })).toMatchObject({
        taskId: 'plain',
      });
      expect(await q.claim({ agentId: 'w', types: ['task'] })).toBeNull();
      expect(await q.claim({ agentId: 's', capabilities: ['security'], acceptUnrequired: false })).toMatchObject({
        taskId: 'sec',
      });
      expect(await q.claim({ agentId: 'r', types: ['review'] })).toMatchObject({ taskId: 'rev' });
    });

    it('claims several tasks in one step: best first across lanes, only what the filter accepts, each with its own fence', async () => {
      await q.addMany([
        { description: 'low', id: 'low', priority: -1 },
        { description: 'first', id: 'first' },
        { description: 'audit', id: 'sec', requires: 'security', priority: 5 },
        { description: 'review', id: 'rev', type: 'review', priority: 20 },
        { description: 'second', id: 'second' },
        { description: 'urgent', id: 'urgent', priority: 10 },
      ]);
      const peer = await h.openPeer();
      const some = await q.claimMany({ agentId: 'w', capabilities: ['security'], types: ['task'] }, 3);
      expect(some.map((c) => c.taskId)).toEqual(['urgent', 'sec', 'first']);
      expect(some.every((c) => c.task.status === 'claimed' && c.task.owner === 'w' && c.agentId === 'w')).toBe(true);
      expect(new Set(some.map((c) => c.ref.token)).size).toBe(3);
      // The rest, past what is left: fewer than asked for, never another claimer's task.
      const rest = await peer.claimMany({ agentId: 'p', types: ['task'] }, 5);
      expect(rest.map((c) => c.taskId)).toEqual(['second', 'low']);
      expect(await peer.claimMany({ agentId: 'p', types: ['task'] }, 5)).toEqual([]);
      expect((await q.claimMany({ agentId: 'r', types: ['review'] }, 2)).map((c) => c.taskId)).toEqual(['rev']);
      // One grant's token does not open another grant's task.
      await expect(q.complete({ taskId: 'first', token: some[0]!.ref.token }, 'forged')).rejects.toBeInstanceOf(LeaseLostError);
      for (const c of [...some, ...rest]) await c.complete(c.taskId);
      expect(await q.counts()).toMatchObject({ completed: 5, claimed: 1, ready: 0 });
      expect((await q.get('first'))?.result).toBe('first');
      await peer.close();
    });

    it('refuses a claimMany size that is not a whole number from 1 to 1000, writing nothing', async () => {
      await q.add({ description: 'a', id: 'a' });
      const before = await h.snapshot();
      for (const bad of [0, -1, 1.5, 1001, Number.NaN, '2' as unknown as number]) {
        await expect(q.claimMany({ agentId: 'w' }, bad)).rejects.toBeInstanceOf(ValidationError);
      }
      expect(await h.snapshot()).toBe(before);
      const c = await q.claim({ agentId: 'w' });
      await expect(c!.completeAndClaim(null, { agentId: 'w', max: 0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(c!.completeAndClaim(null, { agentId: '../w' })).rejects.toBeInstanceOf(InvalidIdError);
      // Refused before the completion: the claim still stands.
      expect((await q.get('a'))?.status).toBe('claimed');
      await c!.complete(null);
    });

    it('completes and claims the next task in one step, including a dependent the completion made ready', async () => {
      const seen: string[] = [];
      q.on('task.claimed', (event) => seen.push(`${event.type} ${event.taskId}`));
      q.on('task.completed', (event) => seen.push(`${event.type} ${event.taskId}`));
      await q.addMany([
        { description: 'a', id: 'a' },
        { description: 'then b', id: 'b', dependencies: ['a'], priority: 5 },
        { description: 'c', id: 'c' },
      ]);
      const a = await q.claim({ agentId: 'w' });
      expect(a?.taskId).toBe('a');
      const step = await a!.completeAndClaim({ answer: 1 }, { agentId: 'w' });
      expect(step.record).toMatchObject({ id: 'a', status: 'completed', owner: 'w', result: { answer: 1 } });
      expect(step.next.map((c) => c.taskId)).toEqual(['b']);
      expect(step.next[0]!.task).toMatchObject({ status: 'claimed', owner: 'w', attempt: 1 });
      const step2 = await step.next[0]!.completeAndClaim('b done', { agentId: 'w', max: 4 });
      expect(step2.next.map((c) => c.taskId)).toEqual(['c']);
      // Held for review: nothing completes, dependents wait; the next claim still happens.
      await q.add({ description: 'd', id: 'd' });
      const step3 = await step2.next[0]!.completeAndClaim('c done', { agentId: 'w', types: ['task'] }, { review: true });
      expect(step3.record.status).toBe('review');
      expect(step3.next.map((c) => c.taskId)).toEqual(['d']);
      const last = await step3.next[0]!.completeAndClaim('d done', { agentId: 'w' });
      expect(last.next).toEqual([]);
      expect(await q.counts()).toMatchObject({ completed: 3, review: 1, claimed: 0, ready: 0 });
      await q.approve('c');
      expect(seen.filter((line) => line.endsWith(' a') || line.endsWith(' b'))).toEqual([
        'task.claimed a',
        'task.completed a',
        'task.claimed b',
        'task.completed b',
      ]);
    });

    it('several slots completing and claiming at once: each completion fenced on its own, each slot gets its own next tasks', async () => {
      const peer = await h.openPeer();
      await q.addMany(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => ({ id, description: id })));
      const held = await q.claimMany({ agentId: 'w' }, 3);
      expect(held.map((c) => c.taskId)).toEqual(['a', 'b', 'c']);
      // b's lease runs out and a peer takes it over: only b's completion is refused.
      h.clock.advance(1001);
      await held[0]!.heartbeat();
      await held[2]!.heartbeat();
      await peer.reap();
      const stolen = await peer.claim({ agentId: 'thief' });
      expect(stolen?.taskId).toBe('b');
      const steps = await Promise.allSettled([
        held[0]!.completeAndClaim('a done', { agentId: 'w', max: 2 }),
        held[1]!.completeAndClaim('b stale', { agentId: 'w' }),
        held[2]!.completeAndClaim('c done', { agentId: 'w' }),
      ]);
      expect(steps[1].status).toBe('rejected');
      expect((steps[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
      const a = steps[0] as PromiseFulfilledResult<{ record: { status: string }; next: Array<{ taskId: string }> }>;
      const c = steps[2] as PromiseFulfilledResult<{ record: { status: string }; next: Array<{ taskId: string }> }>;
      expect(a.value.record.status).toBe('completed');
      expect(c.value.record.status).toBe('completed');
      expect(a.value.next).toHaveLength(2);
      expect(c.value.next).toHaveLength(1);
      const next = [...a.value.next, ...c.value.next].map((x) => x.taskId);
      expect(new Set(next).size).toBe(3);
      expect(next.every((id) => ['d', 'e', 'f', 'g', 'h'].includes(id))).toBe(true);
      expect(await q.get('b')).toMatchObject({ status: 'claimed', owner: 'thief' });
      expect(await q.counts()).toMatchObject({ completed: 2, claimed: 4, ready: 2 });
      await stolen!.complete('b by thief');
      expect((await q.get('b'))?.result).toBe('b by thief');
      await peer.close();
    });

    it('claims nothing when the completion of a complete-and-claim is refused', async () => {
      const peer = await h.openPeer();
      await q.addMany([
        { description: 'slow', id: 'slow' },
        { description: 'other', id: 'other' },
      ]);
      const old = await q.claim({ agentId: 'paused' });
      expect(old?.taskId).toBe('slow');
      h.clock.advance(1001);
      await peer.reap();
      await expect(old!.completeAndClaim('stale', { agentId: 'paused' })).rejects.toBeInstanceOf(LeaseLostError);
      expect(await q.counts()).toMatchObject({ ready: 2, claimed: 0 });
      const fresh = await peer.claimMany({ agentId: 'fresh' }, 2);
      expect(fresh.map((c) => c.taskId).sort()).toEqual(['other', 'slow']);
      await peer.close();
    });

    it('completes with a result and promotes dependents only then', async () => {
      await q.add({ description: 'a', id: 'a' });
      const b = await q.add({ description: 'b', id: 'b', dependencies: ['a'] });
      expect(b.status).toBe('pending');
      const c = await q.claim({ agentId: 'w1' });
      expect(c?.taskId).toBe('a');
      expect(await q.claim({ agentId: 'w2' })).toBeNull();
      const done = await c!.complete({ answer: 42 });
      expect(done).toMatchObject({ status: 'completed', owner: 'w1', result: { answer: 42 } });
      expect(await q.get('a')).toMatchObject({ status: 'completed', result: { answer: 42 } });
      expect((await q.get('b'))?.status).toBe('ready');
      expect((await q.claim({ agentId: 'w2' }))?.taskId).toBe('b');
    });

    it('adds a batch with internal dependencies atomically', async () => {
      const records = await q.addMany([
        { description: 'root', id: 'root' },
        { description: 'left', id: 'left', dependencies: ['root'] },
        { description: 'right', id: 'right', dependencies: ['root'] },
        { description: 'join', id: 'join', dependencies: ['left', 'right'] },
      ]);
      expect(records.map((r) => r.status)).toEqual(['ready', 'pending', 'pending', 'pending']);
      const seen: string[] = [];
      for (;;) {
        const c = await q.claim({ agentId: 'w' });
        if (!c) break;
        seen.push(c.taskId);
        await c.complete(c.taskId);
      }
      expect(seen[0]).toBe('root');
      expect(seen[3]).toBe('join');
      expect(new Set(seen)).toEqual(new Set(['root', 'left', 'right', 'join']));
    });

    it('retries with backoff, then fails for good keeping every error; dependents end blocked', async () => {
      await q.add({ description: 'flaky', id: 'flaky', maxAttempts: 3, retry: { baseMs: 1000, maxMs: 4000 } });
      await q.add({ description: 'next', id: 'next', dependencies: ['flaky'] });
      await q.add({ description: 'after next', id: 'last', dependencies: ['next'] });
      await q.add({ description: 'tolerant', id: 'tolerant', dependencies: ['flaky'], allowFailed: true });
      for (let attempt = 1; attempt <= 3; attempt++) {
        const c = await q.claim({ agentId: `w${attempt}` });
        expect(c?.task).toMatchObject({ id: 'flaky', attempt });
        const after = await c!.fail(new Error(`boom ${attempt}`));
        if (attempt < 3) {
          expect(after.status).toBe('delayed');
          // Backoff: not claimable until the delay passes (equal jitter: at least half of base * 2^(n-1)).
          expect(await q.claim({ agentId: 'x' })).toBeNull();
          expect(after.notBefore! - h.clock.now()).toBeGreaterThanOrEqual(500 * 2 ** (attempt - 1));
          h.clock.advance(1000 * 2 ** (attempt - 1) + 1);
        } else {
          expect(after.status).toBe('failed');
        }
      }
      const failed = await q.get('flaky');
      expect(failed?.status).toBe('failed');
      expect(failed?.errors.map((e) => e.message)).toEqual(['boom 1', 'boom 2', 'boom 3']);
      expect(failed?.errors.map((e) => e.agentId)).toEqual(['w1', 'w2', 'w3']);
      expect(failed?.reason).toMatch(/boom 3/);
      expect(await q.get('next')).toMatchObject({ status: 'blocked', reason: 'dependency "flaky" failed' });
      expect(await q.get('last')).toMatchObject({ status: 'blocked', reason: 'dependency "next" blocked' });
      // allowFailed runs with what succeeded.
      expect((await q.claim({ agentId: 'w' }))?.taskId).toBe('tolerant');
    });

    it('fails at once when the error is not retryable', async () => {
      await q.add({ description: 'x', id: 'x' });
      const c = await q.claim({ agentId: 'w' });
      const rec = await c!.fail('bad input', { retryable: false });
      expect(rec).toMatchObject({ status: 'failed', reason: 'bad input', attempt: 1 });
    });

    it('releases without using an attempt, keeping feedback', async () => {
      await q.add({ description: 'x', id: 'x' });
      const c = await q.claim({ agentId: 'w' });
      await c!.release({ feedback: 'handle the empty case' });
      const again = await q.claim({ agentId: 'w2' });
      expect(again?.task).toMatchObject({ id: 'x', attempt: 1, feedback: ['handle the empty case'] });
    });

    it('requeues an expired lease with attempt + 1; the old holder cannot commit', async () => {
      const peer = await h.openPeer();
      await q.add({ description: 'slow', id: 'slow' });
      const old = await q.claim({ agentId: 'paused' });
      expect(old?.task.attempt).toBe(1);
      h.clock.advance(999);
      expect((await peer.reap()).requeued).toEqual([]);
      h.clock.advance(2);
      const report = await peer.reap();
      expect(report.requeued).toEqual([{ taskId: 'slow', attempt: 2, holder: 'paused' }]);
      const fresh = await peer.claim({ agentId: 'fresh' });
      expect(fresh?.task).toMatchObject({ id: 'slow', attempt: 2 });
      await expect(old!.complete('stale result')).rejects.toBeInstanceOf(LeaseLostError);
      await expect(old!.heartbeat()).rejects.toBeInstanceOf(LeaseLostError);
      await fresh!.complete('fresh result');
      const rec = await q.get('slow');
      expect(rec).toMatchObject({ status: 'completed', owner: 'fresh', result: 'fresh result', attempt: 2 });
      expect(rec?.errors).toHaveLength(1);
      expect(rec?.errors[0]).toMatchObject({ kind: 'lease_expired', agentId: 'paused', attempt: 1 });
      await peer.close();
    });

    it('never takes away a task that keeps heartbeating', async () => {
      const peer = await h.openPeer();
      await q.add({ description: 'long', id: 'long' });
      const c = await q.claim({ agentId: 'busy' });
      for (let i = 0; i < 20; i++) {
        h.clock.advance(600);
        await c!.heartbeat();
        const report = await peer.reap();
        expect(report.requeued).toEqual([]);
      }
      expect(await c!.complete('finished')).toMatchObject({ status: 'completed', attempt: 1 });
      await peer.close();
    });

    it('fails a task whose leases keep expiring once attempts run out', async () => {
      await q.add({ description: 'poison', id: 'poison', maxAttempts: 2 });
      for (let i = 0; i < 2; i++) {
        await q.claim({ agentId: `crashy${i}` });
        h.clock.advance(1001);
        await q.reap();
      }
      const rec = await q.get('poison');
      expect(rec?.status).toBe('failed');
      expect(rec?.errors.map((e) => e.kind)).toEqual(['lease_expired', 'lease_expired']);
    });

    it('cancels ready, pending and claimed tasks; dependents follow their policy', async () => {
      await q.add({ description: 'a', id: 'a' });
      await q.add({ description: 'b', id: 'b', dependencies: ['a'] });
      await q.add({ description: 'c', id: 'c', dependencies: ['b'], allowFailed: true });
      await q.add({ description: 'd', id: 'd' });
      const held = await q.claim({ agentId: 'w' });
      expect(held?.taskId).toBe('a');
      expect(await q.cancel('a', 'no longer needed')).toMatchObject({ status: 'cancelled', reason: 'no longer needed', owner: 'w' });
      await expect(held!.complete('late')).rejects.toThrow(/cancelled/);
      expect(await q.get('b')).toMatchObject({ status: 'blocked', reason: 'dependency "a" cancelled' });
      expect((await q.get('c'))?.status).toBe('ready');
      expect((await q.cancel('d')).status).toBe('cancelled');
      await expect(q.cancel('d')).rejects.toBeInstanceOf(TaskStateError);
    });

    it('retries a failed task by hand, unblocking its dependents', async () => {
      await q.add({ description: 'a', id: 'a', maxAttempts: 1 });
      await q.add({ description: 'b', id: 'b', dependencies: ['a'] });
      await (await q.claim({ agentId: 'w' }))!.fail('broken');
      expect((await q.get('b'))?.status).toBe('blocked');
      const again = await q.retry('a');
      expect(again).toMatchObject({ status: 'ready', attempt: 2 });
      expect((await q.get('b'))?.status).toBe('pending');
      const c = await q.claim({ agentId: 'w' });
      expect(c?.task).toMatchObject({ id: 'a', attempt: 2 });
      await c!.complete('fixed');
      expect((await q.get('b'))?.status).toBe('ready');
      await expect(q.retry('a')).rejects.toBeInstanceOf(TaskStateError);
    });

    it('holds a result for review: dependents wait for approval; changes re-open with feedback', async () => {
      await q.add({ description: 'impl', id: 'impl' });
      await q.add({ description: 'docs', id: 'docs', dependencies: ['impl'] });
      const c = await q.claim({ agentId: 'w' });
      expect(await c!.complete('v1', { review: true })).toMatchObject({ status: 'review', result: 'v1' });
      expect((await q.get('docs'))?.status).toBe('pending');
      expect(await q.claim({ agentId: 'w' })).toBeNull();
      expect(await q.reopen('impl', 'add tests')).toMatchObject({ status: 'ready', attempt: 2, feedback: ['add tests'] });
      const c2 = await q.claim({ agentId: 'w2' });
      expect(c2?.task).toMatchObject({ id: 'impl', attempt: 2, feedback: ['add tests'] });
      await c2!.complete('v2', { review: true });
      expect((await q.get('docs'))?.status).toBe('pending');
      expect(await q.approve('impl', { agentId: 'rev' })).toMatchObject({ status: 'completed', result: 'v2' });
      expect((await q.get('docs'))?.status).toBe('ready');
      await expect(q.approve('impl')).rejects.toBeInstanceOf(TaskStateError);
    });

    it('defers a claimed task until new dependencies are final, whatever their outcome', async () => {
      await q.add({ description: 'parent', id: 'parent' });
      await q.add({ description: 'after parent', id: 'after', dependencies: ['parent'] });
      const first = await q.claim({ agentId: 'lead', types: ['task'] });
      expect(first?.taskId).toBe('parent');
      await q.addMany([
        { description: 'child a', id: 'child-a', maxAttempts: 1 },
        { description: 'child b', id: 'child-b' },
      ]);
      await expect(first!.defer(['nope'])).rejects.toBeInstanceOf(UnknownDependencyError);
      const deferred = await first!.defer(['child-a', 'child-b']);
      expect(deferred).toMatchObject({ status: 'pending', attempt: 1 });
      expect(deferred.dependencies).toEqual(['child-a', 'child-b']);
      const a = await q.claim({ agentId: 'w' });
      await a!.fail('child a broke', { retryable: false });
      expect((await q.get('parent'))?.status).toBe('pending');
      const b = await q.claim({ agentId: 'w' });
      expect(b?.taskId).toBe('child-b');
      await b!.complete('b done');
      const again = await q.claim({ agentId: 'lead' });
      expect(again?.task).toMatchObject({ id: 'parent', attempt: 1, dependencies: ['child-a', 'child-b'] });
      await again!.complete('combined');
      expect(await q.get('parent')).toMatchObject({ status: 'completed', result: 'combined' });
      expect((await q.get('after'))?.status).toBe('ready');
    });

    it('refuses a deferral that would close a cycle', async () => {
      await q.add({ description: 'x', id: 'x' });
      await q.add({ description: 'y', id: 'y', dependencies: ['x'] });
      const x = await q.claim({ agentId: 'w' });
      await expect(x!.defer(['y'])).rejects.toBeInstanceOf(DependencyCycleError);
      expect((await q.get('x'))?.status).toBe('claimed');
    });

    it('fails a held task for good when its review is rejected', async () => {
      await q.add({ description: 'impl', id: 'impl' });
      await q.add({ description: 'docs', id: 'docs', dependencies: ['impl'] });
      await (await q.claim({ agentId: 'w' }))!.complete('v1', { review: true });
      expect(await q.reject('impl', 'review rounds exhausted')).toMatchObject({ status: 'failed', reason: 'review rounds exhausted' });
      expect(await q.get('docs')).toMatchObject({ status: 'blocked', reason: 'dependency "impl" failed' });
      await expect(q.reject('impl', 'again')).rejects.toBeInstanceOf(TaskStateError);
    });

    it('yields one task for a repeated idempotency key', async () => {
      const a = await q.add({ description: 'once', idempotencyKey: 'job-7' });
      const b = await q.add({ description: 'once again', idempotencyKey: 'job-7' });
      expect(b.id).toBe(a.id);
      expect(b.description).toBe('once');
      expect((await q.counts()).total).toBe(1);
    });

    it('refuses cycles, unknown dependencies, duplicates and unsafe ids, writing nothing', async () => {
      await q.add({ description: 'exists', id: 'exists' });
      const before = await h.snapshot();
      await expect(
        q.addMany([
          { description: 'a', id: 'a', dependencies: ['b'] },
          { description: 'b', id: 'b', dependencies: ['c'] },
          { description: 'c', id: 'c', dependencies: ['a'] },
        ]),
      ).rejects.toBeInstanceOf(DependencyCycleError);
      await expect(q.add({ description: 'self', id: 'self', dependencies: ['self'] })).rejects.toBeInstanceOf(
        DependencyCycleError,
      );
      await expect(
        q.addMany([
          { description: 'ok', id: 'ok' },
          { description: 'bad', id: 'bad', dependencies: ['t-42'] },
        ]),
      ).rejects.toThrow(/unknown dependency "t-42" for task "bad"/);
      await expect(q.add({ description: 'dup', id: 'exists' })).rejects.toBeInstanceOf(DuplicateTaskError);
      await expect(
        q.addMany([
          { description: 'x', id: 'x' },
          { description: 'x again', id: 'x' },
        ]),
      ).rejects.toBeInstanceOf(DuplicateTaskError);
      for (const id of ['../x', 'a/b', '', '__proto__', 'a\0b', '.hidden', 'x'.repeat(129)]) {
        await expect(q.add({ description: 'unsafe', id })).rejects.toBeInstanceOf(InvalidIdError);
      }
      await expect(q.add({ description: 'unsafe dep', id: 'y', dependencies: ['../../etc/passwd'] })).rejects.toThrow(
        /invalid task id "..\/..\/etc\/passwd"/,
      );
      await expect(q.add({ description: '' })).rejects.toBeInstanceOf(ValidationError);
      await expect(q.add({ description: 'p', priority: 1.5 })).rejects.toThrow(/priority/);
      await expect(q.add({ description: 'typo', dependecies: ['exists'] } as never)).rejects.toThrow(/did you mean "dependencies"/);
      await expect(q.claim({ agentId: '../evil' })).rejects.toBeInstanceOf(InvalidIdError);
      expect(await h.snapshot()).toBe(before);
      expect((await q.counts()).total).toBe(1);
      await expect(q.add({ description: 'dangling', dependencies: ['nope'] })).rejects.toBeInstanceOf(
        UnknownDependencyError,
      );
    });

    it('counts and lists by state without mixing them up', async () => {
      await q.addMany([
        { description: 'a', id: 'a' },
        { description: 'b', id: 'b', type: 'review' },
        { description: 'c', id: 'c', dependencies: ['a'] },
        { description: 'd', id: 'd', requires: 'docs' },
      ]);
      const c = await q.claim({ agentId: 'w', types: ['task'] });
      expect(c?.taskId).toBe('a');
      const counts = await q.counts();
      expect(counts).toMatchObject({ total: 4, ready: 2, pending: 1, claimed: 1, completed: 0 });
      expect((await q.list({ status: 'claimed' })).map((t) => [t.id, t.owner])).toEqual([['a', 'w']]);
      expect((await q.list({ status: 'ready', type: 'review' })).map((t) => t.id)).toEqual(['b']);
      expect((await q.list({ status: ['ready', 'pending'] })).map((t) => t.id).sort()).toEqual(['b', 'c', 'd']);
      expect((await q.list({ requires: 'docs' })).map((t) => t.id)).toEqual(['d']);
      expect(await q.list({ limit: 2 })).toHaveLength(2);
      await c!.complete('ok');
      expect(await q.counts()).toMatchObject({ completed: 1, ready: 3, pending: 0, claimed: 0 });
    });

    it('keeps the seed design names working', async () => {
      const t1 = await q.addTask('Research the problem space');
      const t2 = await q.addTask('Compare and synthesize', { dependencies: [t1.id] });
      const claimed = await q.claimTask('worker-1');
      expect(claimed?.id).toBe(t1.id);
      await expect(q.completeTask(t1.id, 'worker-2', 'x')).rejects.toBeInstanceOf(LeaseLostError);
      await q.completeTask(t1.id, 'worker-1', 'notes');
      const second = await q.claimTask('worker-2');
      expect(second?.id).toBe(t2.id);
      await q.failTask(t2.id, 'worker-2', 'oops');
      const status = await q.getStatus();
      expect(status).toMatchObject({ total: 2, completed: 1, delayed: 1 });
    });

    it('waitForWork resolves at once when work exists and times out when none does', async () => {
      expect(await q.waitForWork({}, { timeoutMs: 50 })).toBe(false);
      await q.add({ description: 'x' });
      expect(await q.waitForWork({}, { timeoutMs: 1000 })).toBe(true);
      expect(await q.waitForWork({ types: ['review'] }, { timeoutMs: 50 })).toBe(false);
    });
  });
}

import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, MessageBus, TaskQueue } from '../src/index.js';
import { RedisBackend } from '../src/redis/index.js';
import { type Child, fixture, runScript } from './helpers/processes.js';
import { dropNamespace, uniqueNamespace } from './helpers/redis-harness.js';
import { NO_REDIS_MESSAGE, REDIS_SERVER, useRedisServer } from './helpers/redis-server.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const WORKER = fixture('redis-worker.ts');

if (!REDIS_SERVER) {
  describe.skip(NO_REDIS_MESSAGE, () => {
    it('needs redis-server', () => {});
  });
} else {
  /** Real processes, "as if on several machines", sharing one team over one real redis-server. */
  describe('Redis backend across processes', () => {
    const server = useRedisServer();
    let namespace = '';
    const children: Child[] = [];
    const opened: Array<{ close(): Promise<void> }> = [];
    const backends: RedisBackend[] = [];

    const spawnWorker = (args: string[], env: Record<string, string> = {}, url = server.url) => {
      const child = runScript(WORKER, [args[0] as string, url, namespace, ...args.slice(1)], env);
      children.push(child);
      return child;
    };
    const openQueue = async (options: { clockOffsetMs?: number; url?: string; reconnectTimeoutMs?: number } = {}) => {
      const clock = new ManualClock(Date.now() + (options.clockOffsetMs ?? 0));
      const backend = await RedisBackend.open(options.url ?? server.url, {
        namespace,
        clock,
        reconnectTimeoutMs: options.reconnectTimeoutMs ?? 30_000,
      });
      const queue = TaskQueue.open({ backend, autoHeartbeat: false });
      backends.push(backend);
      opened.push(queue, backend);
      return { queue, backend, clock };
    };
    const doneLines = (workers: Child[]) =>
      workers.flatMap((w) => w.lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[1] as string));

    afterEach(async () => {
      for (const child of children.splice(0)) if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
      if (!server.proc) await server.start();
      if (backends[0]) await dropNamespace(backends[0]);
      backends.length = 0;
      for (const item of opened.splice(0).reverse()) await item.close();
    });

    it('8 processes racing over 2,000 tasks (half of them claiming 4 at a time, completing and claiming in one step): each claimed and completed exactly once', async () => {
      namespace = uniqueNamespace('race');
      const { queue, backend } = await openQueue();
      const ids = Array.from({ length: 2000 }, (_, i) => `task-${String(i).padStart(4, '0')}`);
      for (let i = 0; i < ids.length; i += 500) {
        await queue.addMany(ids.slice(i, i + 500).map((id) => ({ id, description: `work item ${id}` })));
      }
      const startAt = String(Date.now() + 3000);
      const workers = Array.from({ length: 8 }, (_, i) =>
        spawnWorker(['drain', `w${i}`], { START_AT: startAt, IDLE_MS: '800', AGENT_TEAM_HOST: `machine-${i}`, CONCURRENCY: i % 2 === 1 ? '4' : '1' }),
      );
      const results = await Promise.all(workers.map((w) => w.exited));
      expect(results.every((r) => r.code === 0), workers.map((w) => w.stderr()).join('\n')).toBe(true);

      const done = doneLines(workers);
      expect(done).toHaveLength(2000);
      expect(new Set(done)).toEqual(new Set(ids));
      expect(workers.filter((w) => w.lines.some((l) => l.startsWith('done '))).length).toBeGreaterThan(1);

      const completed = await backend.events.read({ types: ['task.completed'] });
      expect(completed).toHaveLength(2000);
      expect(new Set(completed.map((e) => e.taskId)).size).toBe(2000);
      expect(await backend.events.read({ types: ['task.claimed'] })).toHaveLength(2000);
      expect(await queue.counts()).toMatchObject({ total: 2000, completed: 2000, claimed: 0, ready: 0 });
      for (const id of ids.slice(0, 50)) {
        const record = await queue.get(id);
        expect(record?.result).toBe(`${record?.owner}:${id}`);
      }
    });

    it('SIGKILL of a worker on one machine mid-task: its lease runs out, another machine finishes the task, once', async () => {
      namespace = uniqueNamespace('kill');
      const { queue, backend } = await openQueue();
      await queue.add({ id: 'victim', description: 'will lose its worker' });
      // A 400 ms lease, kept alive by heartbeats until the process dies.
      const holder = spawnWorker(['hold', 'doomed'], { LEASE_MS: '400', AGENT_TEAM_HOST: 'machine-a' });
      await holder.waitFor((l) => l.startsWith('claimed victim'));
      const others = Array.from({ length: 60 }, (_, i) => ({ id: `job-${i}`, description: `job ${i}` }));
      await queue.addMany(others);
      const workers = ['machine-b', 'machine-c', 'machine-d'].map((host, i) =>
        spawnWorker(['drain', `rescuer-${i}`], { IDLE_MS: '3000', AGENT_TEAM_HOST: host }),
      );
      await Promise.all(workers.map((w) => w.waitFor((l) => l === 'ready')));
      holder.proc.kill('SIGKILL');
      await holder.exited;
      const results = await Promise.all(workers.map((w) => w.exited));
      expect(results.every((r) => r.code === 0), workers.map((w) => w.stderr()).join('\n')).toBe(true);

      const done = doneLines(workers);
      expect(done.sort()).toEqual(['victim', ...others.map((o) => o.id)].sort());
      const record = await queue.get('victim');
      expect(record).toMatchObject({ status: 'completed', attempt: 2 });
      expect(record?.owner).toMatch(/^rescuer-/);
      expect(record?.errors).toMatchObject([{ kind: 'lease_expired', agentId: 'doomed', attempt: 1 }]);
      expect(record?.errors[0]?.message).toMatch(/on machine-a\) stopped heartbeating/);
      const victimEvents = await backend.events.read({ taskId: 'victim' });
      expect(victimEvents.filter((e) => e.type === 'task.requeued')).toHaveLength(1);
      expect(victimEvents.filter((e) => e.type === 'task.completed')).toHaveLength(1);
      const completed = await backend.events.read({ types: ['task.completed'] });
      expect(completed).toHaveLength(61);
      expect(new Set(completed.map((e) => e.taskId)).size).toBe(61);
    });

    it('a stale lease is taken over by exactly one of several reapers; the paused holder cannot commit', async () => {
      namespace = uniqueNamespace('reapers');
      const { queue } = await openQueue();
      const ids = Array.from({ length: 40 }, (_, i) => `stale-${i}`);
      await queue.addMany(ids.map((id) => ({ id, description: id })));
      const claims = [];
      for (const _ of ids) claims.push(await queue.claim({ agentId: 'gone', leaseMs: 1000 }));
      const startAt = String(Date.now() + 2500);
      const reapers = Array.from({ length: 4 }, (_, i) =>
        spawnWorker(['reap'], { START_AT: startAt, CLOCK_OFFSET_MS: '5000', AGENT_TEAM_HOST: `reaper-${i}` }),
      );
      await Promise.all(reapers.map((r) => r.exited));
      const reports = reapers.map((r) => {
        const line = r.lines.find((l) => l.startsWith('report '));
        if (!line) throw new Error(`no report: ${r.stderr()}`);
        return JSON.parse(line.slice(7)) as { requeued: Array<{ taskId: string; attempt: number }> };
      });
      const requeued = reports.flatMap((r) => r.requeued.map((x) => x.taskId));
      expect(requeued.sort()).toEqual([...ids].sort());
      expect(reports.flatMap((r) => r.requeued).every((x) => x.attempt === 2)).toBe(true);
      expect(await queue.counts()).toMatchObject({ ready: 40, claimed: 0 });
      await expect(claims[0]!.complete('too late')).rejects.toThrow(/lease lost on task "stale-/);
    });

    it('the same idempotency key added at once from several processes gives one task', async () => {
      namespace = uniqueNamespace('idem');
      const { queue } = await openQueue();
      const startAt = String(Date.now() + 2500);
      const adders = Array.from({ length: 6 }, () => spawnWorker(['add-key', 'deploy-2026-11-21'], { START_AT: startAt }));
      await Promise.all(adders.map((a) => a.exited));
      const ids = adders.map((a) => a.lines.find((l) => l.startsWith('id '))?.slice(3));
      expect(ids.every((id) => typeof id === 'string'), adders.map((a) => a.stderr()).join('\n')).toBe(true);
      expect(new Set(ids).size).toBe(1);
      expect((await queue.counts()).total).toBe(1);
    });

    it('Redis restarted twice mid-run (SIGTERM, then SIGKILL; AOF on): no task or message lost, work continues', async () => {
      namespace = uniqueNamespace('restart');
      const { queue, backend } = await openQueue({ reconnectTimeoutMs: 60_000 });
      const bus = MessageBus.open({ backend });
      opened.push(bus);
      await bus.register('reader');
      const ids = Array.from({ length: 240 }, (_, i) => `r-${String(i).padStart(3, '0')}`);
      await queue.addMany(ids.map((id) => ({ id, description: id })));
      for (let i = 0; i < 30; i++) await bus.send({ from: 'lead', to: 'reader', body: i });
      await bus.ack('reader', (await bus.receive('reader')).slice(0, 10));

      const workers = ['machine-a', 'machine-b'].map((host, i) =>
        spawnWorker(['drain', `w${i}`], { IDLE_MS: '3000', WORK_MS: '4', AGENT_TEAM_HOST: host }),
      );
      const progress = () => doneLines(workers).length;
      const until = async (n: number) => {
        while (progress() < n) await new Promise((resolve) => setTimeout(resolve, 5));
      };
      await until(60);
      await server.restart('SIGTERM');
      await until(140);
      await server.restart('SIGKILL');
      // Sent while workers reconnect: a sender process that arrives just after the restart.
      const sender = spawnWorker(['send', 'reader', '5']);
      const results = await Promise.all([...workers, sender].map((w) => w.exited));
      expect(results.every((r) => r.code === 0), [...workers, sender].map((w) => w.stderr()).join('\n')).toBe(true);

      const done = doneLines(workers);
      expect(new Set(done)).toEqual(new Set(ids));
      expect(done).toHaveLength(ids.length);
      expect(await queue.counts()).toMatchObject({ total: 240, completed: 240, claimed: 0, ready: 0 });
      const completed = await backend.events.read({ types: ['task.completed'] });
      expect(completed).toHaveLength(240);
      // The 20 unacked messages are still unread, the 10 acked ones still acked, and the 5 new ones arrived.
      const unread = await bus.receive('reader');
      expect(unread.filter((m) => m.from === 'lead').map((m) => m.body)).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
      expect(unread.filter((m) => m.from !== 'lead').map((m) => m.body)).toEqual([0, 1, 2, 3, 4]);
      expect((await bus.history('reader')).length).toBe(35);
    });

    it('a claimMany or complete-and-claim whose reply is lost happened once: the retry hands back the same grants', async () => {
      namespace = uniqueNamespace('drop-many');
      const proxy = await new TcpProxy(server.port).start();
      opened.push(proxy);
      const { queue, backend } = await openQueue({ url: proxy.url });
      await queue.addMany(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, description: id })));

      const cut = proxy.cutOn('lost-many', 'after-request');
      const batch = await queue.claimMany({ agentId: 'lost-many' }, 3);
      await cut;
      expect(batch.map((c) => c.taskId)).toEqual(['a', 'b', 'c']);
      expect(await queue.counts()).toMatchObject({ claimed: 3, ready: 3 });
      expect(await backend.events.read({ types: ['task.claimed'] })).toHaveLength(3);

      // The completion and the next claim ran; the reply was lost; the retry finds both done.
      const cut2 = proxy.cutOn('"a-result"', 'after-request');
      const step = await batch[0]!.completeAndClaim('a-result', { agentId: 'lost-many', max: 2 });
      await cut2;
      expect(step.record).toMatchObject({ id: 'a', status: 'completed', result: 'a-result' });
      expect(step.next.map((c) => c.taskId)).toEqual(['d', 'e']);
      expect(await queue.counts()).toMatchObject({ completed: 1, claimed: 4, ready: 1 });
      expect(await backend.events.read({ types: ['task.claimed'] })).toHaveLength(5);
      expect(await backend.events.read({ types: ['task.completed'] })).toHaveLength(1);
      // Several slots completing at once go as one script call; its reply is lost too.
      const cut3 = proxy.cutOn('"burst-b"', 'after-request');
      const steps = await Promise.all([
        batch[1]!.completeAndClaim('burst-b', { agentId: 'lost-many' }),
        batch[2]!.completeAndClaim('burst-c', { agentId: 'lost-many' }),
      ]);
      await cut3;
      expect(steps.map((s) => s.record.status)).toEqual(['completed', 'completed']);
      expect(steps.map((s) => s.next.map((c) => c.taskId))).toEqual([['f'], []]);
      expect(await queue.counts()).toMatchObject({ completed: 3, claimed: 3, ready: 0 });
      expect(await backend.events.read({ types: ['task.claimed'] })).toHaveLength(6);
      expect(await backend.events.read({ types: ['task.completed'] })).toHaveLength(3);
      // The grants handed back are the real ones: their tokens commit.
      for (const c of [...step.next, ...steps[0].next]) await c.complete(c.taskId);
      expect(await queue.counts()).toMatchObject({ completed: 6, claimed: 0, ready: 0 });
      expect(proxy.cuts).toBe(3);
    });

    it('a claim whose reply is lost when the connection drops happened once, and the worker carries on', async () => {
      namespace = uniqueNamespace('drop');
      const proxy = await new TcpProxy(server.port).start();
      opened.push(proxy);
      const { queue, backend } = await openQueue({ url: proxy.url });
      await queue.addMany(['a', 'b', 'c'].map((id) => ({ id, description: id })));

      // The claim script runs on Redis, and the connection dies before its reply comes back.
      const cut = proxy.cutOn('lost-reply', 'after-request');
      const first = await queue.claim({ agentId: 'lost-reply' });
      await cut;
      expect(first?.task).toMatchObject({ id: 'a', attempt: 1, status: 'claimed', owner: 'lost-reply' });
      // The retry after reconnecting found the claim already made: one claim, not two.
      expect(await queue.counts()).toMatchObject({ claimed: 1, ready: 2 });
      expect(await backend.events.read({ types: ['task.claimed'] })).toHaveLength(1);

      // The request never reaches Redis: the retry makes the claim, once.
      const cut2 = proxy.cutOn('never-sent', 'before-request');
      const second = await queue.claim({ agentId: 'never-sent' });
      await cut2;
      expect(second?.task).toMatchObject({ id: 'b', attempt: 1 });
      expect(await queue.counts()).toMatchObject({ claimed: 2, ready: 1 });

      // A commit whose reply is lost: the retry is recognised as already done.
      const cut3 = proxy.cutOn('"first"', 'after-request');
      expect(await first!.complete('first')).toMatchObject({ status: 'completed', result: 'first' });
      await cut3;
      expect(await second!.complete('second')).toMatchObject({ status: 'completed' });
      expect(await backend.events.read({ types: ['task.completed'] })).toHaveLength(2);
      expect(proxy.cuts).toBe(3);

      // Workers in other processes whose connections are cut again and again reconnect and finish the work, each task once.
      const ids = Array.from({ length: 400 }, (_, i) => `p-${i}`);
      await queue.addMany(ids.map((id) => ({ id, description: id })));
      const workers = [0, 1].map((i) => spawnWorker(['drain', `cut-${i}`], { IDLE_MS: '1500', WORK_MS: '1' }, proxy.url));
      // Opening fails fast by design; the cuts hit workers that are connected and working.
      await Promise.all(workers.map((w) => w.waitFor((l) => l.startsWith('done '))));
      for (let round = 0; round < 6; round++) {
        await new Promise((resolve) => setTimeout(resolve, 120));
        proxy.cutAll();
      }
      const results = await Promise.all(workers.map((w) => w.exited));
      expect(results.every((r) => r.code === 0), workers.map((w) => w.stderr()).join('\n')).toBe(true);
      // The cuts hit live connections (each worker has a command and a subscriber connection).
      expect(proxy.cuts).toBeGreaterThan(3 + 6);
      const done = doneLines(workers);
      expect(done.sort()).toEqual([...ids, 'c'].sort());
      expect(await queue.counts()).toMatchObject({ completed: 403, claimed: 0, ready: 0 });
      const claimed = await backend.events.read({ types: ['task.claimed'] });
      expect(claimed).toHaveLength(403);
      for (const id of ids.slice(0, 40)) expect((await queue.get(id))?.errors).toEqual([]);
    });
  });
}

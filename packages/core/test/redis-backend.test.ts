import { afterAll, describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  InvalidIdError,
  ManualClock,
  MessageBus,
  TaskQueue,
  type TeamEvent,
  openBackend,
} from '../src/index.js';
import { RedisBackend } from '../src/redis/index.js';
import { describeMessageStoreConformance } from './conformance/message-store-suite.js';
import { describeTaskStoreConformance } from './conformance/task-store-suite.js';
import { dropNamespace, redisBusHarness, redisQueueHarness, uniqueNamespace } from './helpers/redis-harness.js';
import { NO_REDIS_MESSAGE, REDIS_SERVER, RedisServer, freePort, useRedisServer } from './helpers/redis-server.js';

// An application's own event, added to the typed map as the docs show.
declare module '@agent-team/core' {
  interface TeamEventMap {
    'team.note': { agentId: string; text: string };
  }
}

if (!REDIS_SERVER) {
  describe.skip(NO_REDIS_MESSAGE, () => {
    it('needs redis-server', () => {});
  });
} else {
  const server = useRedisServer();
  describeTaskStoreConformance('redis', (options) => redisQueueHarness(server, options));
  describeMessageStoreConformance('redis', (options) => redisBusHarness(server, options));

  describe('Redis backend', () => {
    it('opens through openBackend(redis://...) with the team namespace, and refuses unsafe namespaces', async () => {
      const namespace = uniqueNamespace('seam');
      const backend = await openBackend(server.url, { namespace });
      try {
        expect(backend.kind).toBe('redis');
        expect(backend.location).toBe(`redis://127.0.0.1:${server.port} (namespace ${namespace})`);
        const queue = TaskQueue.open({ backend });
        await queue.add({ id: 'one', description: 'stored under the namespace' });
        expect((backend as RedisBackend).connection.prefix).toBe(`agent-team:{${namespace}}:`);
        expect((await (backend as RedisBackend).connection.keys()).every((key) => key.startsWith(`agent-team:{${namespace}}:`))).toBe(true);
        await dropNamespace(backend as RedisBackend);
      } finally {
        await backend.close();
      }
      for (const bad of ['../x', 'a}b', 'a{b', '', '__proto__', 'a b']) {
        await expect(openBackend(server.url, { namespace: bad })).rejects.toBeInstanceOf(InvalidIdError);
      }
    });

    it('fires in-process listeners exactly as the file backend, and keeps the events in the stream in commit order', async () => {
      const namespace = uniqueNamespace('events');
      const backend = await RedisBackend.open(server.url, { namespace, clock: new ManualClock() });
      try {
        const queue = TaskQueue.open({ backend, autoHeartbeat: false });
        const seen: string[] = [];
        const completed: TeamEvent[] = [];
        queue.on('task.completed', (event) => completed.push(event));
        backend.events.on('*', (event: TeamEvent) => seen.push(event.type));
        await queue.add({ id: 'a', description: 'a' });
        await queue.add({ id: 'b', description: 'b', dependencies: ['a'] });
        const claim = await queue.claim({ agentId: 'w' });
        await claim!.complete('done');
        backend.events.append({ type: 'team.note', agentId: 'w', text: 'appended by the process' });
        expect(seen).toEqual(['task.added', 'task.ready', 'task.added', 'task.claimed', 'task.completed', 'task.ready', 'team.note']);
        expect(completed).toMatchObject([{ type: 'task.completed', taskId: 'a', agentId: 'w', attempt: 1 }]);
        await new Promise((resolve) => setTimeout(resolve, 50));
        const stored = await backend.events.read();
        expect(stored.map((e) => e.type)).toEqual(seen);
        const before = [...seen];
        expect(await backend.events.read({ taskId: 'b' })).toHaveLength(2);
        expect(await backend.events.read({ types: ['task.claimed'] })).toMatchObject([{ agentId: 'w', attempt: 1 }]);
        // (writer, seq) is unique: scripts take even numbers, the process's own appends odd ones.
        expect(new Set(stored.map((e) => `${e.writer}/${e.seq}`)).size).toBe(stored.length);

        // follow(): what is there, then live events, until aborted.
        const controller = new AbortController();
        const followed: string[] = [];
        const following = (async () => {
          for await (const event of backend.events.follow({ signal: controller.signal, pollMs: 50 })) {
            followed.push(event.type);
            if (followed.length === stored.length + 1) controller.abort();
          }
        })();
        await new Promise((resolve) => setTimeout(resolve, 100));
        await queue.cancel('b', 'enough');
        await following;
        expect(followed).toEqual([...before, 'task.cancelled']);
        await dropNamespace(backend);
      } finally {
        await backend.close();
      }
    });

    it('keeps each agent’s last report in the agent directory', async () => {
      const backend = await RedisBackend.open(server.url, { namespace: uniqueNamespace('agents') });
      try {
        const record = {
          id: 'w1', role: 'worker', model: 'offline', capabilities: [], status: 'idle' as const, current: [],
          tasksDone: 2, pid: 1, host: 'machine-a', startedAt: 1, lastSeen: 2,
        };
        await backend.agents.report(record);
        await backend.agents.report({ ...record, id: 'lead', role: 'lead' });
        await backend.agents.report({ ...record, tasksDone: 3 });
        expect((await backend.agents.list()).map((a) => [a.id, a.tasksDone])).toEqual([['lead', 2], ['w1', 3]]);
        await expect(backend.agents.report({ ...record, id: '../x' })).rejects.toBeInstanceOf(InvalidIdError);
        await dropNamespace(backend);
      } finally {
        await backend.close();
      }
    });

    it('fails fast with a clear error when nothing listens, naming the location', async () => {
      const port = await freePort();
      const err = await openBackend(`redis://127.0.0.1:${port}`, { namespace: 'nobody' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as Error).message).toMatch(new RegExp(`cannot connect to Redis at redis://127.0.0.1:${port}: .*check that redis-server is running`));
    });

    describe('on a password-protected server', () => {
      const password = 'S3cret-pass_word';
      const secured = new RedisServer({ password });
      afterAll(() => secured.destroy());

      it('works with the password and never shows it: not in the location, errors, events or messages', async () => {
        await secured.start();
        const wrong = `redis://:not-the-${password}@127.0.0.1:${secured.port}`;
        const refused = await openBackend(wrong, { namespace: 'sec' }).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(BackendUnavailableError);
        expect((refused as Error).message).toMatch(/cannot connect to Redis at redis:\/\/\*\*\*@127\.0\.0\.1/);
        expect((refused as Error).message).not.toContain(password);
        const noPassword = await openBackend(`redis://127.0.0.1:${secured.port}`, { namespace: 'sec' }).catch((e: unknown) => e);
        expect((noPassword as Error).message).toMatch(/NOAUTH|auth/i);

        const backend = await RedisBackend.open(secured.url, { namespace: 'sec', reconnectTimeoutMs: 300 });
        const queue = TaskQueue.open({ backend, autoHeartbeat: false });
        const bus = MessageBus.open({ backend });
        expect(backend.location).toBe(`redis://***@127.0.0.1:${secured.port} (namespace sec)`);
        await queue.add({ id: 'x', description: 'x' });
        await bus.register('r');
        await bus.send({ from: 's', to: 'r', body: 'hello' });
        const events = await backend.events.read();
        expect(events.length).toBeGreaterThan(0);
        expect(JSON.stringify(events)).not.toContain(password);
        const dump = await backend.connection.keys();
        expect(dump.join(' ')).not.toContain(password);

        // The server goes away: the error says so, without the password.
        await secured.stop('SIGKILL');
        const gone = await queue.claim({ agentId: 'w' }).catch((e: unknown) => e);
        expect(gone).toBeInstanceOf(BackendUnavailableError);
        expect((gone as Error).message).toMatch(/did not answer .* for 300 ms/);
        expect((gone as Error).message).toContain('redis://***@127.0.0.1');
        expect((gone as Error).message).not.toContain(password);
        expect(String((gone as Error).stack)).not.toContain(password);
        await queue.close();
        await bus.close();
        await backend.close();
      });
    });
  });
}

import { ManualClock, MessageBus, type MessageBusOptions, TaskQueue, type TaskQueueOptions, uniqueSuffix } from '../../src/index.js';
import { RedisBackend, type RedisBackendOptions } from '../../src/redis/index.js';
import type { BusHarness } from '../conformance/message-store-suite.js';
import type { QueueHarness } from '../conformance/task-store-suite.js';
import { type RedisServer, dumpNamespace } from './redis-server.js';

/** A namespace no other test uses. */
export function uniqueNamespace(prefix = 'test'): string {
  return `${prefix}-${uniqueSuffix()}`;
}

/** Removes every key of the namespace (tests clean up after themselves). */
export async function dropNamespace(backend: RedisBackend): Promise<void> {
  const keys = await backend.connection.keys();
  for (let i = 0; i < keys.length; i += 500) await backend.connection.client.del(...keys.slice(i, i + 500));
}

/** The conformance harness of the task queue on Redis: a fresh namespace per test, a ManualClock, peers as second connections. */
export async function redisQueueHarness(server: RedisServer, options: Partial<TaskQueueOptions> = {}): Promise<QueueHarness & { backend: RedisBackend }> {
  const namespace = uniqueNamespace('queue');
  const clock = new ManualClock();
  const backends: RedisBackend[] = [];
  const queues: TaskQueue[] = [];
  const openQueue = async () => {
    const backend = await RedisBackend.open(server.url, { namespace, clock, rescanMs: 50 });
    backends.push(backend);
    const queue = TaskQueue.open({ ...options, backend, autoHeartbeat: false });
    queues.push(queue);
    return queue;
  };
  const queue = await openQueue();
  const backend = backends[0]!;
  let closed = false;
  return {
    backend,
    queue,
    clock,
    openPeer: openQueue,
    snapshot: () => dumpNamespace(backend.connection),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const q of queues) await q.close();
      await dropNamespace(backend);
      for (const b of backends) await b.close();
    },
  };
}

/** The conformance harness of the message bus on Redis. */
export async function redisBusHarness(server: RedisServer, options: Partial<MessageBusOptions> = {}): Promise<BusHarness> {
  const namespace = uniqueNamespace('bus');
  const clock = new ManualClock();
  const backends: RedisBackend[] = [];
  const buses: MessageBus[] = [];
  const storeOptions: RedisBackendOptions = { namespace, clock, rescanMs: 50 };
  if (options.retentionMs !== undefined) storeOptions.retentionMs = options.retentionMs;
  const openBus = async () => {
    const backend = await RedisBackend.open(server.url, storeOptions);
    backends.push(backend);
    const bus = MessageBus.open({ ...options, backend });
    buses.push(bus);
    return bus;
  };
  const bus = await openBus();
  const backend = backends[0]!;
  let closed = false;
  return {
    bus,
    clock,
    openPeer: openBus,
    snapshot: () => dumpNamespace(backend.connection),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const b of buses) await b.close();
      await dropNamespace(backend);
      for (const b of backends) await b.close();
    },
  };
}

/**
 * One process of the queue benchmark. Adds its share of no-op tasks, waits
 * until every process has added, then claims and completes until the queue is
 * empty. Prints one JSON line with its counts and timings.
 *   queue-worker.ts <dir> <index> <processes> <share> <durable 0|1> <startAt>
 * or, for the raw filesystem baseline:
 *   queue-worker.ts --raw <dir> <index> <count> <startAt>
 * or, the same workload on the Redis backend (a Redis counter is the barrier):
 *   queue-worker.ts --redis <url> <namespace> <index> <processes> <share> <startAt> [concurrency]
 * (with concurrency, the drain is a worker with that many slots: claimMany to
 * fill them, then complete-and-claim-next per task, as BullMQ's worker does)
 * or, the peer: a plain BullMQ queue with no-op jobs (add them all, then one
 * worker with the given concurrency processes them):
 *   queue-worker.ts --bullmq <url> <queue name> <count> <concurrency> <startAt>
 * Redis and BullMQ are imported only in their modes, so a file-backend run never loads them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Claim, TaskQueue, Workspace } from '@agent-team/core';

const argv = process.argv.slice(2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const waitUntil = async (at: number) => {
  const wait = at - Date.now();
  if (wait > 0) await sleep(wait);
};

if (argv[0] === '--fill' || argv[0] === '--drain') {
  // Worker memory: one process fills a workspace, another (a plain worker) drains it.
  //   queue-worker.ts --fill <dir> <count>    |    queue-worker.ts --drain <dir> [lean]
  const [dir, arg] = argv.slice(1) as [string, string | undefined];
  if (argv[0] === '--drain' && arg === 'lean') {
    // What `agent-team worker` does at start-up: V8 heap heuristics tuned for memory.
    (await import('node:v8')).setFlagsFromString('--optimize-for-size');
  }
  const ws = Workspace.open(dir, { watch: true });
  const queue = TaskQueue.open({ workspace: ws, autoHeartbeat: false });
  let done = 0;
  if (argv[0] === '--fill') {
    for (let i = 0; i < Number(arg); i += 500) {
      await queue.addMany(Array.from({ length: Math.min(500, Number(arg) - i) }, (_, j) => ({ description: `no-op ${i + j}` })));
    }
  } else {
    for (;;) {
      const claim = await queue.claim({ agentId: 'drain' });
      if (!claim) break;
      await claim.complete(null);
      done += 1;
    }
  }
  (globalThis as { gc?: () => void }).gc?.();
  console.log(JSON.stringify({ done, maxRssMb: process.resourceUsage().maxRSS / 1024, heapAfterGcMb: process.memoryUsage().heapUsed / 1048576 }));
  await queue.close();
  await ws.close();
  process.exit(0);
}

if (argv[0] === '--raw') {
  // The floor: a minimal claim-and-complete loop on the same folder (one
  // O_EXCL create for the claim, one temp file + rename for the result).
  const [dir, index, count, startAt] = argv.slice(1) as [string, string, string, string];
  const n = Number(count);
  const claims = path.join(dir, 'claims');
  const results = path.join(dir, 'results');
  const tmp = path.join(dir, 'tmp');
  for (const d of [claims, results, tmp]) fs.mkdirSync(d, { recursive: true });
  await waitUntil(Number(startAt));
  const t0 = performance.now();
  let exclUs = 0;
  let renameUs = 0;
  for (let i = 0; i < n; i++) {
    const name = `p${index}-${i}`;
    const a = performance.now();
    fs.closeSync(fs.openSync(path.join(claims, name), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY));
    const b = performance.now();
    const t = path.join(tmp, `${name}.tmp`);
    fs.writeFileSync(t, '{"result":null}');
    fs.renameSync(t, path.join(results, `${name}.json`));
    const c = performance.now();
    exclUs += (b - a) * 1000;
    renameUs += (c - b) * 1000;
  }
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ done: n, ms, exclUs: exclUs / n, renameUs: renameUs / n }));
  process.exit(0);
}

if (argv[0] === '--redis') {
  const [url, namespace, index, processes, share, startAt, concurrency = '1'] = argv.slice(1) as [string, string, string, string, string, string, string?];
  const { RedisBackend } = await import('@agent-team/core/redis');
  const backend = await RedisBackend.open(url, { namespace });
  const queue = TaskQueue.open({ backend, autoHeartbeat: false });
  const barrierKey = `bench:{${namespace}}:added`;
  await addThenDrain(
    queue,
    index,
    Number(share),
    Number(startAt),
    async () => {
      await backend.connection.client.incr(barrierKey);
      while (Number(await backend.connection.client.get(barrierKey)) < Number(processes)) await sleep(1);
    },
    Number(concurrency),
  );
  await queue.close();
  await backend.close();
  process.exit(0);
}

if (argv[0] === '--bullmq') {
  const [url, name, count, concurrency, startAt] = argv.slice(1) as [string, string, string, string, string];
  const { Queue, Worker } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connect = () => new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: connect() });
  const n = Number(count);
  await waitUntil(Number(startAt));
  const t0 = performance.now();
  for (let i = 0; i < n; i += 100) {
    const size = Math.min(100, n - i);
    await queue.addBulk(Array.from({ length: size }, (_, j) => ({ name: 'no-op', data: { i: i + j } })));
  }
  const tAdded = performance.now();
  let done = 0;
  let resolveDrained: () => void = () => {};
  const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
  const worker = new Worker(name, async () => null, { connection: connect(), concurrency: Number(concurrency) });
  worker.on('completed', () => {
    done += 1;
    if (done === n) resolveDrained();
  });
  await drained;
  const tEnd = performance.now();
  console.log(JSON.stringify({ added: n, done, addMs: tAdded - t0, drainMs: tEnd - tAdded, ms: tEnd - t0, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  process.exit(0);
}

const [dir, index, processes, share, durable, startAt] = argv as [string, string, string, string, string, string];
const ws = Workspace.open(dir, { durable: durable === '1', watch: true });
const queue = TaskQueue.open({ workspace: ws, autoHeartbeat: false });
await addThenDrain(queue, index, Number(share), Number(startAt), async () => {
  fs.writeFileSync(path.join(dir, `added-${index}`), '');
  while (fs.readdirSync(dir).filter((f) => f.startsWith('added-')).length < Number(processes)) await sleep(1);
});
await queue.close();
await ws.close();

/**
 * The measured workload, the same on every backend: add this process's share
 * in batches of 100, wait until every process has added (so an empty claim
 * means the queue is drained), then claim and complete until it is empty.
 * Prints one JSON line of counts and timings.
 */
async function addThenDrain(
  queue: TaskQueue,
  index: string,
  n: number,
  startAt: number,
  barrier: () => Promise<void>,
  slots?: number,
): Promise<void> {
  const agentId = `bench-${index}`;
  await waitUntil(startAt);
  const t0 = performance.now();
  for (let i = 0; i < n; i += 100) {
    const size = Math.min(100, n - i);
    await queue.addMany(Array.from({ length: size }, (_, j) => ({ description: `no-op ${index}-${i + j}` })));
  }
  const tAdded = performance.now();
  await barrier();
  const tBarrier = performance.now();
  let done = 0;
  if (slots === undefined) {
    for (;;) {
      const claim = await queue.claim({ agentId });
      if (!claim) break;
      await claim.complete(null);
      done += 1;
    }
  } else {
    // Every task was added before the barrier, so an empty claim means drained.
    const runSlot = async (first: Claim) => {
      let claim: Claim | undefined = first;
      while (claim) {
        const step: { next: Claim[] } = await claim.completeAndClaim(null, { agentId });
        done += 1;
        claim = step.next[0];
      }
    };
    await Promise.all((await queue.claimMany({ agentId }, slots)).map(runSlot));
  }
  const tEnd = performance.now();
  console.log(
    JSON.stringify({
      added: n,
      done,
      addMs: tAdded - t0,
      barrierMs: tBarrier - tAdded,
      drainMs: tEnd - tBarrier,
      endAt: performance.timeOrigin + tEnd,
      startAt: performance.timeOrigin + t0,
      rssMb: process.memoryUsage().rss / 1048576,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

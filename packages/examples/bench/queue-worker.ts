/**
 * One process of the queue benchmark. Adds its share of no-op tasks, waits
 * until every process has added, then claims and completes until the queue is
 * empty. Prints one JSON line with its counts and timings.
 *   queue-worker.ts <dir> <index> <processes> <share> <durable 0|1> <startAt>
 * or, for the raw filesystem baseline:
 *   queue-worker.ts --raw <dir> <index> <count> <startAt>
 */
import fs from 'node:fs';
import path from 'node:path';
import { TaskQueue, Workspace } from '@agent-team/core';

const argv = process.argv.slice(2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const waitUntil = async (at: number) => {
  const wait = at - Date.now();
  if (wait > 0) await sleep(wait);
};

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

const [dir, index, processes, share, durable, startAt] = argv as [string, string, string, string, string, string];
const ws = Workspace.open(dir, { durable: durable === '1', watch: true });
const queue = TaskQueue.open({ workspace: ws, autoHeartbeat: false });
const agentId = `bench-${index}`;
const n = Number(share);
const batch = 100;
await waitUntil(Number(startAt));
const t0 = performance.now();
for (let i = 0; i < n; i += batch) {
  const size = Math.min(batch, n - i);
  await queue.addMany(Array.from({ length: size }, (_, j) => ({ description: `no-op ${index}-${i + j}` })));
}
const tAdded = performance.now();
// Barrier: claim only once every process has added its share, so an empty claim means the queue is drained.
fs.writeFileSync(path.join(dir, `added-${index}`), '');
while (fs.readdirSync(dir).filter((f) => f.startsWith('added-')).length < Number(processes)) await sleep(1);
const tBarrier = performance.now();
let done = 0;
for (;;) {
  const claim = await queue.claim({ agentId });
  if (!claim) break;
  await claim.complete(null);
  done += 1;
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
await queue.close();
await ws.close();

/**
 * One process of the bus benchmark: bus-worker.ts <mode> <dir> [args...]
 * Times are epoch ms with microsecond precision, comparable across processes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MessageBus, TaskQueue, Workspace } from '@agent-team/core';

const [mode, dir, ...args] = process.argv.slice(2) as [string, string, ...string[]];
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (at: number) => {
  const wait = at - Date.now();
  if (wait > 0) await sleep(wait);
};
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
/** Latencies only for latency runs; a throughput run reports when it finished. */
const report = (latencies: number[]) => (latencies.length <= 5000 ? latencies : []);

if (mode.startsWith('raw-')) {
  // The floor: plain files and fs.watch, no framework.
  const box = path.join(dir, 'raw-inbox');
  const tmp = path.join(dir, 'raw-tmp');
  fs.mkdirSync(box, { recursive: true });
  fs.mkdirSync(tmp, { recursive: true });
  if (mode === 'raw-send') {
    const [from, n, startAt, gapMs] = args.map((a, i) => (i === 0 ? a : Number(a))) as [string, number, number, number];
    await until(startAt);
    for (let k = 0; k < n; k++) {
      const name = `${String(k).padStart(8, '0')}-${from}`;
      fs.writeFileSync(path.join(tmp, name), JSON.stringify({ k, sentAt: now() }));
      fs.renameSync(path.join(tmp, name), path.join(box, `${name}.json`));
      if (gapMs > 0) await sleep(gapMs);
    }
    print({ sent: n });
    process.stdout.write('', () => process.exit(0));
  } else {
    // raw-read <n>: readdir + read + unlink, woken by fs.watch, re-scanning every 100 ms.
    const n = Number(args[0]);
    let got = 0;
    const latencies: number[] = [];
    let wake: () => void = () => {};
    fs.watch(box, () => wake());
    print({ ready: true });
    while (got < n) {
      for (const name of fs.readdirSync(box).sort()) {
        const file = path.join(box, name);
        const body = JSON.parse(fs.readFileSync(file, 'utf8')) as { sentAt: number };
        latencies.push(now() - body.sentAt);
        fs.unlinkSync(file);
        got += 1;
      }
      if (got < n) await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 100); });
    }
    print({ doneAt: now(), latencies: report(latencies) });
    process.stdout.write('', () => process.exit(0));
  }
} else {
  await main();
}

async function main(): Promise<void> {

const ws = Workspace.open(dir);
switch (mode) {
  case 'send': {
    // send <from> <to> <n> <startAt> <gapMs>
    const [from, to, n, startAt, gapMs] = args as [string, string, string, string, string];
    const bus = MessageBus.open({ workspace: ws });
    await until(Number(startAt));
    const t0 = now();
    for (let k = 0; k < Number(n); k++) {
      await bus.send({ from, to, body: { k, sentAt: now() } });
      if (Number(gapMs) > 0) await sleep(Number(gapMs));
    }
    print({ sent: Number(n), ms: now() - t0 });
    await bus.close();
    break;
  }
  case 'read': {
    // read <agent> <n>: prints the send-to-handle latency of each message.
    const [agent, n] = args as [string, string];
    const bus = MessageBus.open({ workspace: ws });
    await bus.register(agent);
    await ws.notifier.start();
    print({ ready: true });
    const latencies: number[] = [];
    for await (const m of bus.messages(agent)) {
      latencies.push(now() - (m.body as { sentAt: number }).sentAt);
      if (latencies.length >= Number(n)) break;
    }
    print({ doneAt: now(), latencies: report(latencies) });
    await bus.close();
    break;
  }
  case 'add-tasks': {
    // add-tasks <n> <startAt> <gapMs>: one at a time, each stamped with when it became ready.
    const [n, startAt, gapMs] = args.map(Number) as [number, number, number];
    const queue = TaskQueue.open({ workspace: ws });
    await until(startAt);
    for (let k = 0; k < n; k++) {
      await queue.add({ description: `wake ${k}`, metadata: { readyAt: now() } });
      await sleep(gapMs);
    }
    print({ added: n });
    await queue.close();
    break;
  }
  case 'claim-tasks': {
    // claim-tasks <n>: an idle worker; prints ready-to-claimed latencies.
    const queue = TaskQueue.open({ workspace: ws });
    await ws.notifier.start();
    print({ ready: true });
    const latencies: number[] = [];
    while (latencies.length < Number(args[0])) {
      const claim = await queue.next({ agentId: 'waker' });
      if (!claim) continue;
      latencies.push(now() - (claim.task.metadata as { readyAt: number }).readyAt);
      await claim.complete(null);
    }
    print({ latencies });
    await queue.close();
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
await ws.close();
}

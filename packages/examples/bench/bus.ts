/**
 * pnpm bench:bus [--dir DIR] [--json] [--messages N]
 *
 * Message throughput (several senders, one reader, across processes),
 * send-to-handle latency on an idle reader, and the wake-up latency from a
 * task becoming ready in process A to its claim in process B. Each is shown
 * next to a floor measured in the same folder in the same run: plain files
 * with fs.watch, no framework.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { bundle, describeFilesystem, percentile, printTable } from './bench-utils.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    dir: { type: 'string' },
    json: { type: 'boolean', default: false },
    messages: { type: 'string', default: '20000' },
    samples: { type: 'string', default: '300' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`Usage: pnpm bench:bus [--dir DIR] [--json] [--messages N] [--samples N]

  --dir DIR       folder to run in (default: a new folder under the OS temp dir)
  --json          print one JSON object as the last line
  --messages N    messages in the throughput run, split over 2 senders (default 20000)
  --samples N     latency samples for delivery and wake-up (default 300)`);
  process.exit(0);
}
const log = (line: string) => (values.json ? process.stderr.write(`${line}\n`) : console.log(line));
const base = path.resolve(values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'agent-team-bus-')));
fs.mkdirSync(base, { recursive: true });
const WORKER = await bundle(path.join(import.meta.dirname, 'bus-worker.ts'));
const total = Number(values.messages);
const samples = Number(values.samples);

interface Proc {
  lines: string[];
  next(): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}
function start(args: string[]): Proc {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  return {
    lines,
    next: () =>
      new Promise((resolve) => {
        const line = lines.shift();
        if (line !== undefined) resolve(JSON.parse(line) as Record<string, unknown>);
        else waiting.push((l) => resolve(JSON.parse(l) as Record<string, unknown>));
      }),
    exited: new Promise((resolve) => child.on('exit', resolve)),
  };
}

let runs = 0;
const freshDir = () => {
  const dir = path.join(base, `run-${++runs}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};

async function throughput(raw: boolean) {
  const dir = freshDir();
  const reader = start(raw ? ['raw-read', dir, String(total)] : ['read', dir, 'sink', String(total)]);
  await reader.next();
  const startAt = Date.now() + 1500;
  const senders = [0, 1].map((i) =>
    start(
      raw
        ? ['raw-send', dir, `s${i}`, String(total / 2), String(startAt), '0']
        : ['send', dir, `s${i}`, 'sink', String(total / 2), String(startAt), '0'],
    ),
  );
  await Promise.all(senders.map((s) => s.exited));
  const done = (await reader.next()) as { doneAt: number };
  await reader.exited;
  return (total / (done.doneAt - startAt)) * 1000;
}

async function delivery(raw: boolean) {
  const dir = freshDir();
  const reader = start(raw ? ['raw-read', dir, String(samples)] : ['read', dir, 'idle', String(samples)]);
  await reader.next();
  const startAt = Date.now() + 1000;
  const sender = start(
    raw ? ['raw-send', dir, 'p', String(samples), String(startAt), '20'] : ['send', dir, 'p', 'idle', String(samples), String(startAt), '20'],
  );
  await sender.exited;
  const done = (await reader.next()) as { latencies: number[] };
  await reader.exited;
  return done.latencies;
}

async function wakeup() {
  const dir = freshDir();
  const claimer = start(['claim-tasks', dir, String(samples)]);
  await claimer.next();
  const adder = start(['add-tasks', dir, String(samples), String(Date.now() + 1000), '20']);
  await adder.exited;
  const done = (await claimer.next()) as { latencies: number[] };
  await claimer.exited;
  return done.latencies;
}

const fsInfo = describeFilesystem(base);
log(`agent-team bus benchmark: ${os.cpus().length} CPUs, Node ${process.version}`);
log(`folder: ${base} (${fsInfo})`);
const rawRate = await throughput(true);
const busRate = await throughput(false);
log(`throughput, 2 senders -> 1 reader, ${total} messages: ${Math.round(busRate)} msgs/s (floor: plain files ${Math.round(rawRate)}/s, ratio ${(busRate / rawRate).toFixed(2)})`);
const rawLat = await delivery(true);
const busLat = await delivery(false);
log(
  `delivery to an idle reader, ${samples} messages 20 ms apart: p50 ${percentile(busLat, 50).toFixed(2)} ms, p99 ${percentile(busLat, 99).toFixed(2)} ms (floor: fs.watch p50 ${percentile(rawLat, 50).toFixed(2)} ms, p99 ${percentile(rawLat, 99).toFixed(2)} ms)`,
);
const wake = await wakeup();
log(`wake-up, task ready in A to claimed in B, ${samples} tasks: p50 ${percentile(wake, 50).toFixed(2)} ms, p99 ${percentile(wake, 99).toFixed(2)} ms`);
log('');
const summary = {
  filesystem: fsInfo,
  dir: base,
  msgsPerSec: busRate,
  rawMsgsPerSec: rawRate,
  msgsRatioToRaw: busRate / rawRate,
  deliveryP50Ms: percentile(busLat, 50),
  deliveryP99Ms: percentile(busLat, 99),
  rawDeliveryP50Ms: percentile(rawLat, 50),
  rawDeliveryP99Ms: percentile(rawLat, 99),
  wakeupP50Ms: percentile(wake, 50),
  wakeupP99Ms: percentile(wake, 99),
  targets: { msgsPerSec: 5000, deliveryP50Ms: 15, deliveryP99Ms: 100, wakeupP50Ms: 15, wakeupP99Ms: 100 },
};
printTable(log, [
  ['figure', 'measured', 'floor', 'target'],
  ['messages/s', summary.msgsPerSec.toFixed(0), summary.rawMsgsPerSec.toFixed(0), '>= 5000'],
  ['delivery p50 (ms)', summary.deliveryP50Ms.toFixed(2), summary.rawDeliveryP50Ms.toFixed(2), '< 15'],
  ['delivery p99 (ms)', summary.deliveryP99Ms.toFixed(2), summary.rawDeliveryP99Ms.toFixed(2), '< 100'],
  ['wake-up p50 (ms)', summary.wakeupP50Ms.toFixed(2), '', '< 15'],
  ['wake-up p99 (ms)', summary.wakeupP99Ms.toFixed(2), '', '< 100'],
]);
if (values.json) console.log(JSON.stringify(summary));
if (!values.dir) fs.rmSync(base, { recursive: true, force: true });

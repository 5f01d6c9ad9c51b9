import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChangeNotifier, EventLog, type TeamEvent, TaskQueue, Workspace } from '../src/index.js';
import { tempDir } from './helpers/processes.js';

describe('event log', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('merges writers in time order, filters from a point, and skips a torn last line', () => {
    dir = tempDir('events-');
    const a = new EventLog(dir, 'host~1~a');
    const b = new EventLog(dir, 'host~2~b');
    a.append({ type: 'task.added', taskId: 't1', taskType: 'task', dependencies: [] });
    b.append({ type: 'task.claimed', taskId: 't1', agentId: 'w', attempt: 1, leaseUntil: 0 });
    const mark = b.append({ type: 'task.completed', taskId: 't1', agentId: 'w', attempt: 1 }).ts;
    a.append({ type: 'message.sent', agentId: 'lead', messageId: 'm1', to: 'w', kind: 'text', recipients: 1 });
    // A writer killed mid-append leaves half a line.
    fs.appendFileSync(path.join(dir, 'host~2~b.jsonl'), '{"ts":1,"type":"task.fa');
    const all = EventLog.read(dir);
    expect(all.map((e) => e.type)).toEqual(['task.added', 'task.claimed', 'task.completed', 'message.sent']);
    expect(EventLog.read(dir, { since: mark }).map((e) => e.type)).toEqual(['message.sent']);
    expect(EventLog.read(dir, { types: ['task.claimed'] })[0]).toMatchObject({ agentId: 'w', attempt: 1, writer: 'host~2~b' });
    expect(EventLog.read(dir, { taskId: 't1' })).toHaveLength(3);
    a.close();
    b.close();
  });

  it('follows logs longer than one read (it reads them a piece at a time): every event comes out, in time order across writers', async () => {
    dir = tempDir('events-');
    // Two writers' logs of about 3 MB each, interleaved in time, written as a long run leaves them.
    const pad = 'x'.repeat(200);
    const lines: Record<string, string[]> = { a: [], b: [] };
    const count = 30_000;
    for (let i = 0; i < count; i++) {
      const writer = i % 3 === 0 ? 'b' : 'a';
      lines[writer]?.push(JSON.stringify({ ts: 1_000_000 + i, writer, seq: i, type: 'message.sent', agentId: 'w', messageId: `m${i}`, to: 'x', kind: pad, recipients: 1 }));
    }
    for (const writer of ['a', 'b']) fs.writeFileSync(path.join(dir, `${writer}.jsonl`), `${lines[writer]?.join('\n')}\n`);
    expect(fs.statSync(path.join(dir, 'a.jsonl')).size).toBeGreaterThan(3 * 1024 * 1024);
    const controller = new AbortController();
    const seen: number[] = [];
    for await (const event of EventLog.follow(dir, { signal: controller.signal, pollMs: 20, reorderWindowMs: 30 })) {
      seen.push(event.ts);
      if (seen.length === count) controller.abort();
    }
    expect(seen).toHaveLength(count);
    expect(seen.every((ts, i) => ts === 1_000_000 + i)).toBe(true);
  });

  it('follows the stream live and notifies in-process listeners', async () => {
    dir = tempDir('events-');
    const ws = Workspace.open(dir, { watch: false });
    const queue = TaskQueue.open({ workspace: ws });
    const inProcess: string[] = [];
    queue.on('task.completed', (e: TeamEvent) => inProcess.push(e.taskId ?? ''));
    const controller = new AbortController();
    const followed: TeamEvent[] = [];
    const following = (async () => {
      for await (const event of EventLog.follow(path.join(dir, 'events'), { signal: controller.signal, pollMs: 20, reorderWindowMs: 30 })) {
        followed.push(event);
        if (event.type === 'task.completed') controller.abort();
      }
    })();
    await queue.add({ id: 'live', description: 'watched' });
    const claim = await queue.claim({ agentId: 'w' });
    await claim!.complete('ok');
    await following;
    expect(followed.map((e) => e.type)).toEqual(['task.added', 'task.ready', 'task.claimed', 'task.completed']);
    expect(inProcess).toEqual(['live']);
    await queue.close();
    await ws.close();
  });
});

describe('change notifier', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('wakes a waiter in another notifier on a ring, and times out without one', async () => {
    dir = tempDir('signals-');
    const a = new ChangeNotifier(dir);
    const b = new ChangeNotifier(dir);
    await b.start();
    expect(await b.wait(['tasks'], 50)).toBe('timeout');
    const woke = b.wait(['tasks'], 5000);
    const started = Date.now();
    a.ring('tasks');
    expect(await woke).toBe('tasks');
    expect(Date.now() - started).toBeLessThan(1000);
    // A second ring right after the first is not lost to chokidar's own throttling.
    const again = b.wait(['tasks'], 5000);
    await new Promise((resolve) => setTimeout(resolve, 5));
    a.ring('tasks');
    expect(await again).toBe('tasks');
    await a.close();
    await b.close();
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog, ManualClock, TaskQueue, Workspace, listDir } from '../src/index.js';
import { type Child, fixture, runScript, tempDir } from './helpers/processes.js';

const WORKER = fixture('queue-worker.ts');

/** Real processes racing on one workspace; an injected clock expires leases instead of sleeping. */
describe('task queue across processes', () => {
  let dir: string;
  const children: Child[] = [];
  const open: Array<{ close(): Promise<void> }> = [];

  const spawnWorker = (args: string[], env: Record<string, string> = {}) => {
    const child = runScript(WORKER, [args[0] as string, dir, ...args.slice(1)], env);
    children.push(child);
    return child;
  };
  const openQueue = (options: { clockOffsetMs?: number; leaseMs?: number } = {}) => {
    const clock = new ManualClock(Date.now() + (options.clockOffsetMs ?? 0));
    const ws = Workspace.open(dir, { clock, watch: false });
    const queue = TaskQueue.open({ workspace: ws, autoHeartbeat: false, leaseMs: options.leaseMs ?? 30_000 });
    open.push(queue, ws);
    return { queue, ws, clock };
  };
  const completedEvents = () => EventLog.read(path.join(dir, 'events'), { types: ['task.completed'] });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    for (const item of open.splice(0)) await item.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('8 processes racing over 2,000 tasks: each claimed and completed exactly once', async () => {
    dir = tempDir();
    const { queue } = openQueue();
    const ids = Array.from({ length: 2000 }, (_, i) => `task-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < ids.length; i += 500) {
      await queue.addMany(ids.slice(i, i + 500).map((id) => ({ id, description: `work item ${id}` })));
    }
    const startAt = String(Date.now() + 2500);
    const workers = Array.from({ length: 8 }, (_, i) => spawnWorker(['drain', `w${i}`], { START_AT: startAt, IDLE_MS: '1000' }));
    const results = await Promise.all(workers.map((w) => w.exited));
    expect(results.every((r) => r.code === 0)).toBe(true);

    const done = workers.flatMap((w) => w.lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[1]));
    expect(done).toHaveLength(2000);
    expect(new Set(done)).toEqual(new Set(ids));
    // Every process got a share: they really raced.
    expect(workers.filter((w) => w.lines.some((l) => l.startsWith('done '))).length).toBeGreaterThan(1);

    const completed = completedEvents();
    expect(completed).toHaveLength(2000);
    expect(new Set(completed.map((e) => e.taskId)).size).toBe(2000);
    const claimed = EventLog.read(path.join(dir, 'events'), { types: ['task.claimed'] });
    expect(claimed).toHaveLength(2000);
    expect(await queue.counts()).toMatchObject({ total: 2000, completed: 2000, claimed: 0, ready: 0 });
    for (const id of ids.slice(0, 50)) {
      const record = await queue.get(id);
      expect(record?.result).toBe(`${record?.owner}:${id}`);
    }
  });

  it('SIGKILL mid-task: after the lease expires the task is requeued once (attempt 2) and completed by another worker', async () => {
    dir = tempDir();
    const { queue } = openQueue();
    await queue.add({ id: 'victim', description: 'will lose its worker' });
    const holder = spawnWorker(['hold', 'doomed'], { LEASE_MS: '30000' });
    await holder.waitFor((l) => l.startsWith('claimed victim'));
    holder.proc.kill('SIGKILL');
    await holder.exited;

    // Before the lease runs out nobody takes it.
    expect((await queue.reap()).requeued).toEqual([]);
    expect((await queue.get('victim'))?.status).toBe('claimed');
    // 31 s later (an injected clock, not a sleep) the lease has expired.
    const later = openQueue({ clockOffsetMs: 31_000 });
    const report = await later.queue.reap();
    expect(report.requeued).toEqual([{ taskId: 'victim', attempt: 2, holder: 'doomed' }]);
    expect((await later.queue.reap()).requeued).toEqual([]);

    const rescuer = spawnWorker(['drain', 'rescuer'], { IDLE_MS: '500' });
    expect((await rescuer.exited).code).toBe(0);
    expect(rescuer.lines).toContain('done victim 2');
    const record = await queue.get('victim');
    expect(record).toMatchObject({ status: 'completed', attempt: 2, owner: 'rescuer', result: 'rescuer:victim' });
    expect(record?.errors).toMatchObject([{ kind: 'lease_expired', agentId: 'doomed', attempt: 1 }]);
    const events = EventLog.read(path.join(dir, 'events'), { taskId: 'victim' });
    expect(events.filter((e) => e.type === 'task.requeued')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'task.completed')).toHaveLength(1);
  });

  it('SIGKILL during the write of a large task or result: readers see old or new, never a torn file; temp files are swept', async () => {
    dir = tempDir();
    openQueue();
    let orphansSeen = 0;
    let torn = 0;
    let reads = 0;
    const readIfThere = (file: string) => {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        return; // not there yet: the old state
      }
      reads += 1;
      try {
        JSON.parse(text);
      } catch {
        torn += 1;
      }
    };
    for (let round = 0; round < 40 && orphansSeen === 0; round++) {
      const writer = spawnWorker(['write-large', String(8 * 1024 * 1024)]);
      const line = await writer.waitFor((l) => l.startsWith('wrote '));
      // Read the files the writer is about to produce while it writes them; kill it
      // the moment one of its temp files appears, i.e. in the middle of a write.
      const [, pid, i] = /^wrote large-(\d+)-(\d+)$/.exec(line)!;
      const next = `large-${pid}-${Number(i) + 1}.json`;
      const giveUp = Date.now() + 2000;
      while (Date.now() < giveUp) {
        readIfThere(path.join(dir, 'tasks', next));
        readIfThere(path.join(dir, 'results', next));
        if (listDir(path.join(dir, 'tmp')).some((n) => n.includes(`~${pid}~`))) break;
      }
      writer.proc.kill('SIGKILL');
      await writer.exited;
      readIfThere(path.join(dir, 'tasks', next));
      readIfThere(path.join(dir, 'results', next));
      orphansSeen += listDir(path.join(dir, 'tmp')).filter((n) => n.includes(`~${writer.proc.pid}~`)).length;
    }
    expect(torn).toBe(0);
    // At least one kill landed mid-write (its temp file was left behind)...
    expect(orphansSeen).toBeGreaterThan(0);
    // ...every file that is in place parses...
    for (const folder of ['tasks', 'results']) {
      for (const name of listDir(path.join(dir, folder))) readIfThere(path.join(dir, folder, name));
    }
    expect(torn).toBe(0);
    expect(reads).toBeGreaterThan(0);
    // ...and opening the workspace sweeps the dead writers' temp files.
    const reopened = Workspace.open(dir, { watch: false });
    open.push(reopened);
    expect(listDir(path.join(dir, 'tmp'))).toEqual([]);
    expect(listDir(path.join(dir, 'quarantine'))).toEqual([]);
  });

  it('two reapers racing on one stale claim: only one requeues it', async () => {
    dir = tempDir();
    const { queue } = openQueue({ leaseMs: 1000 });
    const ids = Array.from({ length: 40 }, (_, i) => `stale-${i}`);
    await queue.addMany(ids.map((id) => ({ id, description: id })));
    for (const _ of ids) expect(await queue.claim({ agentId: 'gone' })).not.toBeNull();
    const startAt = String(Date.now() + 2500);
    const reapers = Array.from({ length: 4 }, () => spawnWorker(['reap'], { START_AT: startAt, CLOCK_OFFSET_MS: '5000' }));
    await Promise.all(reapers.map((r) => r.exited));
    const reports = reapers.map((r) => {
      const line = r.lines.find((l) => l.startsWith('report '));
      if (!line) throw new Error(`no report: ${r.stderr()}`);
      return JSON.parse(line.slice(7)) as { requeued: Array<{ taskId: string; attempt: number }> };
    });
    const requeued = reports.flatMap((r) => r.requeued.map((x) => x.taskId));
    expect(requeued.sort()).toEqual([...ids].sort());
    expect(reports.flatMap((r) => r.requeued).every((x) => x.attempt === 2)).toBe(true);
    const events = EventLog.read(path.join(dir, 'events'), { types: ['task.requeued'] });
    expect(events).toHaveLength(ids.length);
    for (const id of ids) expect((await queue.get(id))?.attempt).toBe(2);
    expect(await queue.counts()).toMatchObject({ ready: 40, claimed: 0 });
  });

  it('a holder paused past its lease (SIGSTOP) cannot commit; the new holder’s result stands', async () => {
    dir = tempDir();
    const { queue } = openQueue();
    await queue.add({ id: 'contested', description: 'two holders, one result' });
    const paused = spawnWorker(['hold', 'sleepy'], { LEASE_MS: '1000', HOLD_MS: '300' });
    await paused.waitFor((l) => l.startsWith('claimed contested'));
    paused.proc.kill('SIGSTOP');
    try {
      const later = openQueue({ clockOffsetMs: 5000 });
      expect((await later.queue.reap()).requeued).toHaveLength(1);
      const fresh = await later.queue.claim({ agentId: 'fresh' });
      expect(fresh?.task.attempt).toBe(2);
      await fresh!.complete('the new holder wins');
    } finally {
      paused.proc.kill('SIGCONT');
    }
    const line = await paused.waitFor((l) => l.startsWith('lost ') || l.startsWith('completed '));
    expect(line).toMatch(/^lost LeaseLostError: lease lost on task "contested"/);
    expect(await queue.get('contested')).toMatchObject({ status: 'completed', owner: 'fresh', result: 'the new holder wins' });
    expect(completedEvents()).toHaveLength(1);
  });

  it('a long task that keeps heartbeating is never taken away', async () => {
    dir = tempDir();
    const { queue } = openQueue();
    await queue.add({ id: 'marathon', description: 'takes 8 leases' });
    // A 250 ms lease, held for 2 s: only the heartbeats keep it.
    const runner = spawnWorker(['hold', 'runner'], { LEASE_MS: '250', HOLD_MS: '2000' });
    await runner.waitFor((l) => l.startsWith('claimed marathon'));
    // This reaper runs on the real clock: it would take the task the moment a heartbeat was missed.
    const { queue: reaping } = openQueue();
    let reaps = 0;
    while (runner.proc.exitCode === null && !runner.lines.some((l) => l.startsWith('completed') || l.startsWith('lost'))) {
      expect((await reaping.reap()).requeued).toEqual([]);
      reaps += 1;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(reaps).toBeGreaterThan(20);
    expect(runner.lines).toContain('completed marathon');
    expect(await queue.get('marathon')).toMatchObject({ status: 'completed', attempt: 1, errors: [] });
  });

  it('the same idempotency key added at once from several processes gives one task', async () => {
    dir = tempDir();
    const { queue } = openQueue();
    const startAt = String(Date.now() + 2500);
    const adders = Array.from({ length: 6 }, () => spawnWorker(['add-key', 'deploy-2026-11-21'], { START_AT: startAt }));
    await Promise.all(adders.map((a) => a.exited));
    const ids = adders.map((a) => a.lines.find((l) => l.startsWith('id '))?.slice(3));
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(1);
    expect((await queue.counts()).total).toBe(1);
  });

  it('a corrupt JSON file is quarantined and reported; all other work proceeds', async () => {
    dir = tempDir();
    const { queue } = openQueue();
    await queue.addMany([
      { id: 'fine-1', description: 'ok' },
      { id: 'broken', description: 'will be corrupted' },
      { id: 'fine-2', description: 'ok' },
      { id: 'after-broken', description: 'depends on the broken one', dependencies: ['broken'] },
    ]);
    fs.writeFileSync(path.join(dir, 'tasks', 'broken.json'), '{"id": "broken", "descr');
    const worker = spawnWorker(['drain', 'w'], { IDLE_MS: '500' });
    expect((await worker.exited).code).toBe(0);
    expect(worker.lines.filter((l) => l.startsWith('done ')).sort()).toEqual(['done fine-1 1', 'done fine-2 1']);
    const quarantined = listDir(path.join(dir, 'quarantine'));
    expect(quarantined.some((n) => n.startsWith('tasks__broken.json.') && !n.endsWith('.reason.json'))).toBe(true);
    const reasons = (await queue.recover()).quarantined;
    expect(reasons).toHaveLength(1);
    expect(reasons[0]?.reason).toMatch(/not valid JSON/);
    const events = EventLog.read(path.join(dir, 'events'), { types: ['file.quarantined'] });
    expect(events).toHaveLength(1);
    const counts = await queue.counts();
    expect(counts).toMatchObject({ completed: 2, failed: 1, blocked: 1 });
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskQueue } from '../../src/index.js';
import { tempDir } from '../helpers/processes.js';

// A damaged workspace: foreign entries (a folder, a symlink, a FIFO) where a
// file should be, valid JSON of the wrong shape, markers removed, stray files.
// Each is quarantined or skipped; every reader goes on; the team drains the
// rest; recover repairs and reports.

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function open(): TaskQueue {
  return TaskQueue.open({ workspace: dir, watch: false, autoHeartbeat: false, leaseMs: 60_000 });
}

/** Claims and completes until nothing is claimable, running recover once when it runs dry. */
async function drain(queue: TaskQueue): Promise<string[]> {
  const done: string[] = [];
  let recovered = false;
  for (let i = 0; i < 1000; i++) {
    const claim = await queue.claim({ agentId: 'w1' });
    if (claim) {
      await claim.complete(`done ${claim.taskId}`);
      done.push(claim.taskId);
      continue;
    }
    if (recovered) break;
    await queue.recover();
    recovered = true;
  }
  return done;
}

function plant(target: string, kind: 'folder' | 'symlink' | 'fifo'): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.rmSync(target, { recursive: true, force: true });
  if (kind === 'folder') fs.mkdirSync(path.join(target, 'inner'), { recursive: true });
  else if (kind === 'symlink') fs.symlinkSync('/etc/hostname', target);
  else execFileSync('mkfifo', [target]);
}

const keyName = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 40);

describe('faults: foreign entries where files should be', () => {
  const places: Array<[string, (ws: string) => string]> = [
    ['tasks/<id>.json', (ws) => path.join(ws, 'tasks', 'x1.json')],
    ['state/<id>.json', (ws) => path.join(ws, 'state', 'a.json')],
    ['claims/<id>', (ws) => path.join(ws, 'claims', 'a')],
    ['results/<id>.json', (ws) => path.join(ws, 'results', 'b.json')],
    ['failed/<id>.json', (ws) => path.join(ws, 'failed', 'c.json')],
    ['review/<id>.json', (ws) => path.join(ws, 'review', 'x2.json')],
    ['keys/<hash>', (ws) => path.join(ws, 'keys', keyName('k-d'))],
    ['transit/<entry>', (ws) => path.join(ws, 'transit', 'junk')],
    ['delayed/<entry>', (ws) => path.join(ws, 'delayed', 'junk')],
    ['waiting/<id>', (ws) => path.join(ws, 'waiting', 'x3')],
    ['ready/<lane>/<marker>', (ws) => path.join(ws, 'ready', 'task', '0999999-zz-x4')],
    ['ready/<lane> (a file)', (ws) => path.join(ws, 'ready', 'odd')],
    ['tmp/<entry>', (ws) => path.join(ws, 'tmp', 'junk.tmp')],
    ['the claims/ folder itself', (ws) => path.join(ws, 'claims')],
  ];
  for (const [where, target] of places) {
    for (const kind of ['folder', 'symlink', 'fifo'] as const) {
      if (kind === 'folder' && where.endsWith('itself')) continue;
      it(`${kind} at ${where}: readers go on, the team drains every real task, recover reports it`, async () => {
        dir = tempDir('fault-foreign-');
        const setup = open();
        await setup.addMany([
          { id: 'a', description: 'a' },
          { id: 'b', description: 'b' },
          { id: 'c', description: 'c' },
          { id: 'd', description: 'd', idempotencyKey: 'k-d' },
        ]);
        await setup.close();
        plant(target(dir), kind);

        const queue = open();
        // Every reader copes: no EISDIR, no hang on a FIFO, no symlink followed.
        await queue.list();
        await queue.counts();
        for (const id of ['a', 'b', 'c', 'd', 'x1', 'x2']) await queue.get(id);
        await queue.add({ description: 'again', idempotencyKey: 'k-d' });
        const done = await drain(queue);
        // Each real task exactly once. (A damaged key file loses its mapping: the re-add then makes a new task.)
        expect(done.filter((id) => ['a', 'b', 'c', 'd'].includes(id)).sort()).toEqual(['a', 'b', 'c', 'd']);
        expect(new Set(done).size).toBe(done.length);
        const report = await queue.recover();
        const counts = await queue.counts();
        expect(counts.completed).toBe(done.length);
        expect(counts.ready + counts.claimed + counts.pending + counts.delayed).toBe(0);
        // Nothing silently dropped: every real task is listed.
        expect((await queue.list()).map((t) => t.id)).toEqual(expect.arrayContaining(['a', 'b', 'c', 'd']));
        // recover reports what it moved aside (tmp/ entries are swept or skipped instead).
        // (A layout folder that is not a folder is moved aside with a warning when the workspace opens.)
        if (!where.startsWith('tmp') && !where.endsWith('itself')) expect(report.quarantined.length).toBeGreaterThan(0);
        await queue.close();
      });
    }
  }

  it('a team.json-less layout folder that is a file: the workspace still opens', async () => {
    dir = tempDir('fault-foreign-');
    const setup = open();
    await setup.add({ id: 'a', description: 'a' });
    await setup.close();
    fs.rmSync(path.join(dir, 'delayed'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'delayed'), 'not a folder');
    const queue = open();
    expect(await drain(queue)).toEqual(['a']);
    await queue.close();
  });
});

describe('faults: valid JSON of the wrong shape is quarantined', () => {
  it('a {} task file, a [] result, a malformed state file, a spec copied over another: quarantined, the rest runs once', async () => {
    dir = tempDir('fault-shape-');
    const setup = open();
    await setup.addMany(['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, description: `task ${id}` })));
    const first = await setup.claim({ agentId: 'w0' });
    await first!.complete('ok');
    const second = await setup.claim({ agentId: 'w0' });
    await second!.release({ feedback: 'more detail' }); // leaves state/b.json
    await setup.close();
    expect(first!.taskId).toBe('a');
    fs.writeFileSync(path.join(dir, 'tasks', 'x.json'), '{}');
    fs.writeFileSync(path.join(dir, 'results', 'a.json'), '[]');
    fs.writeFileSync(path.join(dir, 'state', 'b.json'), JSON.stringify({ attempt: 'two', errors: 5 }));
    fs.copyFileSync(path.join(dir, 'tasks', 'c.json'), path.join(dir, 'tasks', 'd.json'));
    const past = new Date(Date.now() - 5000);
    for (const id of ['a', 'b', 'c', 'd', 'e']) fs.utimesSync(path.join(dir, 'tasks', `${id}.json`), past, past);

    const queue = open();
    const listed = await queue.list();
    expect(listed.every((t) => typeof t.id === 'string' && t.id.length > 0)).toBe(true);
    expect(listed.map((t) => t.id)).not.toContain('undefined');
    const done = await drain(queue);
    // c runs once (not twice through the copy); a's damaged result is redone; d is gone to quarantine.
    expect(done.filter((id) => id === 'c')).toHaveLength(1);
    expect(done).toContain('a');
    expect(done).toContain('b');
    expect(fs.existsSync(path.join(dir, 'failed', 'undefined.json'))).toBe(false);
    const report = await queue.recover();
    const reasons = report.quarantined.map((q) => `${q.file}: ${q.reason}`).join('\n');
    expect(reasons).toMatch(/tasks\/x\.json: .*wrong shape: its id is undefined/);
    expect(reasons).toMatch(/results\/a\.json: .*wrong shape: a completed record must be an object, got an array/);
    expect(reasons).toMatch(/state\/b\.json: .*wrong shape: attempt is not a positive integer/);
    expect(reasons).toMatch(/tasks\/d\.json: .*its id is "c", not "d"/);
    await queue.close();
  });
});

describe('faults: tasks without a state marker (F04, F05) and stray files (F06)', () => {
  it('a quarantined result or a deleted ready marker: counts show it, recover puts the task back, it runs', async () => {
    dir = tempDir('fault-stateless-');
    const setup = open();
    await setup.addMany(['a', 'b', 'c'].map((id) => ({ id, description: id })));
    const claim = await setup.claim({ agentId: 'w0' });
    await claim!.complete('ok');
    await setup.close();
    fs.writeFileSync(path.join(dir, 'results', 'a.json'), '{"status":"completed", torn');
    for (const lane of fs.readdirSync(path.join(dir, 'ready'))) {
      for (const marker of fs.readdirSync(path.join(dir, 'ready', lane))) if (marker.endsWith('-b')) fs.unlinkSync(path.join(dir, 'ready', lane, marker));
    }
    // Old enough that no add can be in progress.
    const past = new Date(Date.now() - 5000);
    for (const id of ['a', 'b', 'c']) fs.utimesSync(path.join(dir, 'tasks', `${id}.json`), past, past);

    const queue = open();
    expect((await queue.get('a'))?.status).toBe('pending');
    const counts = await queue.counts();
    const placed = counts.pending + counts.ready + counts.claimed + counts.delayed + counts.review + counts.completed + counts.failed + counts.blocked + counts.cancelled;
    expect(counts.total - placed).toBe(2); // what `status` reports as "without a state"
    const report = await queue.recover();
    expect(report.repaired.sort()).toEqual(['a', 'b']);
    const done = await drain(queue);
    expect(done.sort()).toEqual(['a', 'b', 'c']);
    expect((await queue.get('a'))?.status).toBe('completed');
    await queue.close();
  });

  it('a stray file in delayed/ does not keep workers waiting; a stray in ready/ makes no failed record', async () => {
    dir = tempDir('fault-stray-');
    const setup = open();
    await setup.add({ id: 'a', description: 'a' });
    await setup.close();
    fs.writeFileSync(path.join(dir, 'delayed', 'notes.txt'), 'hello');
    fs.writeFileSync(path.join(dir, 'ready', 'task', '0999999-zz-ghost'), '');
    const queue = open();
    expect(await drain(queue)).toEqual(['a']);
    expect(await queue.waitForWork({}, { timeoutMs: 50 })).toBe(false);
    const counts = await queue.counts();
    expect(counts.delayed).toBe(0);
    expect(counts.failed).toBe(0);
    expect(fs.existsSync(path.join(dir, 'failed', 'ghost.json'))).toBe(false);
    await queue.close();
  });
});

describe('faults: orphaned idempotency keys (F09)', () => {
  it('keys left by an adder killed mid-add are dropped at once when the spec is run again', async () => {
    dir = tempDir('fault-keys-');
    const setup = open();
    await setup.add({ id: 'seed', description: 'seed' });
    await setup.close();
    // A process that has exited: its pid is dead, as after a SIGKILL mid-add.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const host = fs.readdirSync(path.join(dir, 'events'))[0]?.split('~')[0] ?? 'host';
    for (let i = 0; i < 20; i++) {
      const key = `spec-task:t${i}`;
      fs.writeFileSync(path.join(dir, 'keys', keyName(key)), JSON.stringify({ key, id: `t${i}`, writer: `${host}~${dead.stdout}~abc` }));
    }
    const queue = open();
    const added = await queue.addMany(Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, description: `t${i}`, idempotencyKey: `spec-task:t${i}` })));
    expect(added.map((t) => t.id)).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`));
    expect((await queue.counts()).ready).toBe(21);
    await queue.close();
  });
});

describe('faults: workers recover by themselves', () => {
  it('an idle waiter runs recover: a task whose marker was deleted runs without anyone running `recover`', async () => {
    dir = tempDir('fault-autorecover-');
    const setup = open();
    await setup.addMany(['a', 'b'].map((id) => ({ id, description: id })));
    await setup.close();
    for (const lane of fs.readdirSync(path.join(dir, 'ready'))) fs.rmSync(path.join(dir, 'ready', lane), { recursive: true });
    const past = new Date(Date.now() - 5000);
    for (const id of ['a', 'b']) fs.utimesSync(path.join(dir, 'tasks', `${id}.json`), past, past);

    const queue = TaskQueue.open({ workspace: dir, watch: false, autoHeartbeat: false, reapIntervalMs: 10 });
    expect(await queue.claim({ agentId: 'w1' })).toBeNull();
    expect((await queue.get('a'))?.reason).toMatch(/no state/);
    // What every agent does when it finds nothing to claim:
    expect(await queue.waitForWork({ agentId: 'w1' }, { timeoutMs: 5000 })).toBe(true);
    const done: string[] = [];
    for (let claim = await queue.claim({ agentId: 'w1' }); claim; claim = await queue.claim({ agentId: 'w1' })) {
      await claim.complete('ok');
      done.push(claim.taskId);
    }
    expect(done.sort()).toEqual(['a', 'b']);
    await queue.close();
  });
});

describe('faults: foreign entries in the other folders (agents/, messages/, events/)', () => {
  it.each(['folder', 'symlink', 'fifo'] as const)('a %s: the agent list, the inbox and the event log read on', async (kind) => {
    dir = tempDir('fault-foreign-other-');
    const { FileBackend, MessageBus, EventLog } = await import('../../src/index.js');
    const bus = MessageBus.open({ workspace: dir, watch: false });
    await bus.send({ from: 'cli', to: 'w1', kind: 'text', body: 'hello' });
    plant(path.join(dir, 'agents', 'w9.json'), kind);
    plant(path.join(dir, 'messages', 'inbox', 'w1', '0zz-000001-abc-cli.json'), kind);
    plant(path.join(dir, 'events', 'zz.jsonl'), kind);
    const messages = await bus.receive('w1');
    expect(messages.map((m) => m.body)).toEqual(['hello']);
    await bus.close();
    const backend = FileBackend.open(dir, { watch: false });
    expect(await backend.agents.list()).toEqual([]);
    await backend.close();
    const events = EventLog.read(path.join(dir, 'events'));
    expect(events.some((e) => e.type === 'message.sent')).toBe(true);
  });
});

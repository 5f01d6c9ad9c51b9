import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock, TaskQueue, type TaskQueueOptions, Workspace } from '../../src/index.js';
import type { QueueHarness } from '../conformance/task-store-suite.js';
import { tempDir } from './processes.js';

/** Every file under `root` with its content, as one hash: equal hashes mean nothing was written. */
export function fingerprint(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const st = fs.statSync(file);
      if (st.isDirectory()) walk(file);
      else hash.update(`${path.relative(root, file)}\0`).update(fs.readFileSync(file)).update('\0');
    }
  };
  walk(root);
  return hash.digest('hex');
}

export async function fileHarness(options: Partial<TaskQueueOptions> = {}): Promise<QueueHarness & { dir: string }> {
  const dir = tempDir('queue-');
  const clock = new ManualClock();
  const workspaces: Workspace[] = [];
  const queues: TaskQueue[] = [];
  const openQueue = () => {
    const ws = Workspace.open(dir, { clock, watch: options.watch ?? false });
    workspaces.push(ws);
    const queue = TaskQueue.open({ ...options, workspace: ws, autoHeartbeat: false });
    queues.push(queue);
    return queue;
  };
  const queue = openQueue();
  return {
    dir,
    queue,
    clock,
    openPeer: async () => openQueue(),
    snapshot: async () => fingerprint(dir),
    close: async () => {
      for (const q of queues) await q.close();
      for (const ws of workspaces) await ws.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A first look at the task queue: a small plan with dependencies, worked by
 * three workers sharing one workspace. Replaced by the full team demo once the
 * agents exist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TaskQueue } from '@agent-team/core';

const dir = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../../../workspace/demo-queue'));
fs.rmSync(dir, { recursive: true, force: true });
const queue = TaskQueue.open({ workspace: dir });

const research = await queue.add({ description: 'Research the problem space', id: 'research' });
const a = await queue.add({ description: 'Implement solution A', id: 'solution-a', dependencies: [research.id] });
const b = await queue.add({ description: 'Implement solution B', id: 'solution-b', dependencies: [research.id] });
await queue.add({ description: 'Compare and synthesize', id: 'synthesize', dependencies: [a.id, b.id] });

const worker = async (agentId: string) => {
  for (;;) {
    const claim = await queue.next({ agentId }, { timeoutMs: 300 });
    if (!claim) return;
    console.log(`${agentId.padEnd(9)} claimed   ${claim.taskId}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await claim.complete(`${claim.task.description}: done by ${agentId}`);
    console.log(`${agentId.padEnd(9)} completed ${claim.taskId}`);
  }
};
await Promise.all(['worker-1', 'worker-2', 'worker-3'].map(worker));
const status = await queue.getStatus();
console.log(`\nCompleted: ${status.completed}/${status.total} (workspace: ${path.relative(process.cwd(), dir)})`);
await queue.close();

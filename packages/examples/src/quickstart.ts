/**
 * The seed design's Quick Start, in TypeScript. Run: pnpm example:quickstart
 *
 * Any `(prompt) => string | Promise<string>` works as a model, like the seed's
 * `llm_fn`; this one answers offline so the example needs no key. Swap in a
 * call to your provider, or pass a model: `offlineModel()`,
 * `createModel('anthropic:claude-sonnet-4-6')`, ...
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentRole, AgentTeam } from '@agent-team/agents';

async function myLlmFunction(prompt: string): Promise<string> {
  const task = /Task: (\S+)\n\n(.*)/.exec(prompt);
  return `Done: ${task?.[2] ?? prompt.split('\n')[0]} (by an offline stand-in for your LLM)`;
}

async function main() {
  // Create workspace for shared state (fresh each time the example runs).
  const workspace = path.join(os.tmpdir(), 'my_team');
  fs.rmSync(workspace, { recursive: true, force: true });
  const team = new AgentTeam({ workspace });

  // Add agents with roles
  team.addAgent('lead-1', AgentRole.LEAD, myLlmFunction);
  team.addAgent('worker-1', AgentRole.WORKER, myLlmFunction);
  team.addAgent('worker-2', AgentRole.WORKER, myLlmFunction);

  // Add tasks (with optional dependencies)
  const t1 = await team.addTask('Research the problem space');
  const t2 = await team.addTask('Implement solution A', { dependencies: [t1.id] });
  const t3 = await team.addTask('Implement solution B', { dependencies: [t1.id] });
  const t4 = await team.addTask('Compare and synthesize', { dependencies: [t2.id, t3.id] });

  // Run until completion
  const status = await team.run({ timeoutMs: 300_000 });
  console.log(`Completed: ${status.completed}/${status.total}`);
  console.log(`${t4.description}: ${String(status.tasks.find((t) => t.id === t4.id)?.result)}`);
  await team.close();
}

await main();

/**
 * Mixture-of-Agents, two ways. Run: pnpm example:moa
 *
 * 1. In memory: `mixtureOfAgents(...)` for scripts and experiments.
 * 2. In the queue: a `synthesize` task the lead expands into proposals that
 *    workers (in any process) take, then aggregates, streaming the answer.
 * Both on offline models here; put model specs like 'anthropic:claude-sonnet-4-6'
 * or 'openai:gpt-4.1-mini' in place of 'offline:<seed>' to use real ones.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentRole, AgentTeam, UsageTracker, mixtureOfAgents, offlineModel } from '@agent-team/agents';

const prompt = 'What are the trade-offs between optimistic and pessimistic locking in a task queue?';

console.log('1. In memory: three proposers (one model sampled three times, Self-MoA) and an aggregator, two layers\n');
const usage = new UsageTracker();
const moa = mixtureOfAgents({
  proposers: { samples: 3, model: offlineModel({ seed: 11, latencyMs: [100, 300] }), temperature: 0.8 },
  aggregator: offlineModel({ seed: 12 }),
  layers: 2,
  usage,
});
const started = Date.now();
const direct = await moa(prompt);
console.log(direct.answer);
console.log(
  `\n${direct.proposals.length} proposals over ${direct.layers} layers in ${Date.now() - started} ms; ${direct.usage.totalTokens} tokens; per layer and proposer: ${[...usage.byLayerProposer()].map(([k, v]) => `${k}=${v.totalTokens}`).join(' ')}\n`,
);

console.log('2. In the queue: mixed proposers, taken by workers, the final answer streamed as the lead writes it\n');
const workspace = path.join(os.tmpdir(), 'agent-team-moa-example');
fs.rmSync(workspace, { recursive: true, force: true });
const team = new AgentTeam({ workspace, teamId: 'moa' });
team.addAgent('lead', AgentRole.LEAD, offlineModel({ seed: 1 }));
for (let i = 1; i <= 3; i++) team.addAgent(`worker-${i}`, AgentRole.WORKER, offlineModel({ seed: 20 + i, latencyMs: [100, 300] }));
await team.synthesize({
  id: 'locking',
  prompt,
  proposers: [{ id: 'careful', model: 'offline:31', temperature: 0.2 }, { id: 'creative', model: 'offline:32', temperature: 1.0 }, { id: 'own-model' }],
  layers: 2,
  mode: 'synthesize',
  minSuccessful: 2,
});
team.on('moa.delta', (e) => process.stdout.write(String(e.delta)));
const summary = await team.run({ timeoutMs: 60_000 });
const result = summary.tasks.find((t) => t.id === 'locking')?.result as { proposals: unknown[]; usage: { totalTokens: number } } | undefined;
console.log(`\n\n${summary.status}: ${result?.proposals.length ?? 0} proposals, ${result?.usage.totalTokens ?? 0} tokens, ${summary.durationMs} ms (workspace ${workspace})`);
await team.close();

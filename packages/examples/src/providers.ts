/**
 * A small team on a real provider. Run:
 *   pnpm example:anthropic   (needs ANTHROPIC_API_KEY)
 *   pnpm example:openai      (needs OPENAI_API_KEY, or OPENAI_BASE_URL for a compatible server)
 * Without a key it says what to set and exits 0.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentRole, AgentTeam, attachProgress, createModel, formatSummary, useColor } from '@agent-team/agents';

const provider = process.argv[2] === 'openai' ? 'openai' : 'anthropic';
const defaults = { anthropic: 'anthropic:claude-haiku-4-5', openai: 'openai:gpt-4.1-mini' } as const;
const spec = process.env.AGENT_TEAM_MODEL ?? defaults[provider];
const keyVar = provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY';
if (!process.env[keyVar] && !(provider === 'openai' && process.env.OPENAI_BASE_URL)) {
  console.log(`This example calls the ${provider === 'anthropic' ? 'Anthropic' : 'OpenAI'} API. Set ${keyVar} to run it:\n`);
  console.log(`  export ${keyVar}=...`);
  if (provider === 'openai') console.log('  # or point it at an OpenAI-compatible server: export OPENAI_BASE_URL=http://localhost:11434/v1');
  console.log(`  pnpm example:${provider}\n\nOptional: AGENT_TEAM_MODEL=${defaults[provider]} (any "${provider}:<model>").`);
  process.exit(0);
}

const workspace = path.join(os.tmpdir(), `agent-team-${provider}-example`);
fs.rmSync(workspace, { recursive: true, force: true });
const model = createModel(spec);
const team = new AgentTeam({ workspace, teamId: provider, budget: { maxUsd: 0.5, maxTokens: 200_000 } });
team.addAgent('lead', AgentRole.LEAD, model, { maxTokens: 1500 });
team.addAgent('worker-1', AgentRole.WORKER, model, { maxTokens: 800 });
team.addAgent('worker-2', AgentRole.WORKER, model, { maxTokens: 800 });
team.addAgent('reviewer', AgentRole.REVIEWER, model, { maxTokens: 600 });
await team.goal('Write a one-page guide to choosing lease durations for a distributed task queue', { id: 'guide' });
const detach = attachProgress(team, { stream: process.stderr });
const summary = await team.run({ timeoutMs: 10 * 60_000 });
detach();
console.log(`\n${formatSummary(summary, { color: useColor() })}`);
const final = summary.tasks.find((t) => t.id === 'guide.synthesis');
if (final?.status === 'completed') console.log(`\n${String(final.result)}`);
await team.close();
process.exitCode = summary.status === 'completed' ? 0 : 1;

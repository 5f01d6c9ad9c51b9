/**
 * pnpm demo: a team on the offline model (no API key, no network), from a goal
 * to a plan, parallel work, review and the lead's synthesis, with live
 * progress and a readable summary. The workspace is kept in workspace/demo.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AgentRole, AgentTeam, attachProgress, formatSummary, offlineModel, useColor } from '@agent-team/agents';

const dir = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../../../workspace/demo'));
fs.rmSync(dir, { recursive: true, force: true });

const team = new AgentTeam({ workspace: dir, teamId: 'demo' });
// Simulated latency, so you can watch the workers overlap; the answers are deterministic.
const model = (seed: number) => offlineModel({ seed, latencyMs: [150, 450], reviewChangesFirst: 1 });
team.addAgent('lead', AgentRole.LEAD, model(1));
team.addAgent('worker-1', AgentRole.WORKER, model(2));
team.addAgent('worker-2', AgentRole.WORKER, model(3));
team.addAgent('worker-3', AgentRole.WORKER, model(4));
team.addAgent('reviewer', AgentRole.REVIEWER, model(5));
team.addAgent('security', AgentRole.SPECIALIST, model(6), { specialty: 'security' });

const goal = 'Design a rate limiter for a public HTTP API: research the options, implement it, test it, review its security and document it';
console.log(`Goal: ${goal}\nTeam: ${team.listAgents().map((a) => `${a.id} (${a.role})`).join(', ')}\n`);
await team.goal(goal, { id: 'demo' });

const detach = attachProgress(team, { stream: process.stdout });
const summary = await team.run({ timeoutMs: 60_000 });
detach();

console.log(`\n${formatSummary(summary, { color: useColor() })}`);
const final = summary.tasks.find((t) => t.id === 'demo.synthesis');
if (final?.status === 'completed') console.log(`\nFinal answer (demo.synthesis):\n${String(final.result)}`);
console.log(`\nWorkspace: ${path.relative(process.cwd(), dir) || dir} — try \`pnpm agent-team status --workspace ${dir}\``);
await team.close();
process.exitCode = summary.status === 'completed' ? 0 : 1;

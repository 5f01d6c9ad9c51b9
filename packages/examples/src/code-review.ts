/**
 * A code review by a team: security, performance and docs specialists read a
 * real folder of this repository through file tools confined to it, a
 * reviewer checks each report, and the lead writes the combined review.
 * Run: pnpm example:code-review [folder]   (default: packages/core/src/queue)
 * On the offline model the reports are placeholders built from what the
 * tools returned; put a real model spec in MODEL to get a real review, e.g.
 *   MODEL=anthropic:claude-sonnet-4-6 pnpm example:code-review
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentRole, AgentTeam, attachProgress, createModel, formatSummary, offlineModel, useColor } from '@agent-team/agents';

const repo = path.resolve(import.meta.dirname, '..', '..', '..');
const folder = path.resolve(repo, process.argv[2] ?? 'packages/core/src/queue');
if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
  console.error(`not a folder: ${folder}`);
  process.exit(2);
}
const rel = path.relative(repo, folder) || '.';
const model = (seed: number) => (process.env.MODEL ? createModel(process.env.MODEL) : offlineModel({ seed, latencyMs: [50, 200] }));

const workspace = path.join(os.tmpdir(), 'agent-team-code-review');
fs.rmSync(workspace, { recursive: true, force: true });
const team = new AgentTeam({ workspace, teamId: 'code-review' });
// Read-only access to the folder under review; a write_file tool is not even offered.
const codebase = { root: folder };
team.addAgent('lead', AgentRole.LEAD, model(1));
team.addAgent('reviewer', AgentRole.REVIEWER, model(2));
for (const [i, specialty] of ['security', 'performance', 'docs'].entries()) {
  team.addAgent(specialty, AgentRole.SPECIALIST, model(10 + i), { specialty, codebase, maxSteps: 6 });
}
const focus: Record<string, string> = {
  security: 'input validation, path handling, anything an attacker or a crash could exploit',
  performance: 'work on hot paths, needless I/O, anything that grows with the queue size',
  docs: 'whether comments and docs say why, and match what the code does',
};
const reviews = await team.addTasks(
  Object.entries(focus).map(([specialty, what]) => ({
    id: `${specialty}-review`,
    description: `Review the code in "${rel}" (use list_files, read_file and search_code) for ${specialty}: ${what}. Cite files and lines.`,
    requires: specialty,
    review: true,
  })),
);
await team.addTask(`Write one code review of "${rel}" from the specialists' reports: the most important findings first, each with file and line.`, {
  id: 'combined-review',
  type: 'aggregate',
  dependencies: reviews.map((r) => r.id),
  allowFailed: true,
});

console.log(`Reviewing ${rel} with ${team.listAgents().map((a) => a.id).join(', ')}\n`);
const detach = attachProgress(team, { stream: process.stdout });
const summary = await team.run({ timeoutMs: 5 * 60_000 });
detach();
console.log(`\n${formatSummary(summary, { color: useColor() })}`);
const combined = summary.tasks.find((t) => t.id === 'combined-review');
if (combined?.status === 'completed') console.log(`\nCombined review:\n${String(combined.result)}`);
await team.close();
process.exitCode = summary.status === 'completed' ? 0 : 1;

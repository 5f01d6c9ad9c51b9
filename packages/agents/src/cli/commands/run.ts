import path from 'node:path';
import { normalizeTask } from '@agent-team/core';
import { formatSummary } from '../../team/summary.js';
import { buildModels, specTasks, teamFromSpec } from '../build-team.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';
import { printJson } from '../format.js';
import { interruptOnSignals } from '../interrupt.js';
import { attachProgress, useColor } from '../progress.js';
import { loadSpec } from '../spec.js';

/** Runs a team from a spec file; exit 0 when every task completed, 1 otherwise, 130/143 on SIGINT/SIGTERM. */
export async function runCommand(specFile: string, opts: GlobalOptions, workspaceFromCli: boolean): Promise<number> {
  // Everything that can be refused is checked before anything is written.
  const spec = loadSpec(specFile);
  const specDir = path.dirname(path.resolve(specFile));
  const models = buildModels(spec, specDir);
  const inputs = specTasks(spec);
  for (const input of inputs) normalizeTask(input, { maxAttempts: 3, retry: { baseMs: 500, maxMs: 30_000 }, maxTaskBytes: 1024 * 1024 }, Date.now());
  let target = opts;
  if (!opts.backend && !workspaceFromCli && spec.workspace) {
    target = /^rediss?:\/\//.test(spec.workspace)
      ? { ...opts, backend: spec.workspace }
      : { ...opts, workspace: path.resolve(specDir, spec.workspace) };
  }
  const backend = await openFromOptions(target, { create: true });
  const { team, timeoutMs } = teamFromSpec(spec, backend, models, specDir);
  const interrupt = interruptOnSignals();
  try {
    await team.addTasks(inputs);
    const detach = opts.quiet ? () => {} : attachProgress(team, { stream: process.stderr, ...(opts.color === false ? { color: false } : {}) });
    const summary = await team.run({ signal: interrupt.signal, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    detach();
    backend.events.append({ type: 'team.summary', teamId: team.teamId, summary });
    if (opts.json) printJson(summary);
    else console.log(`\n${formatSummary(summary, { color: opts.color !== false && useColor(process.stdout) })}\n\nWorkspace: ${backend.location}`);
    const interrupted = interrupt.exitCode();
    if (interrupted !== null) return interrupted;
    if (summary.status === 'aborted') throw new CliError(summary.reason, 1);
    return summary.status === 'completed' ? 0 : 1;
  } finally {
    interrupt.dispose();
    await team.close();
    await backend.close();
  }
}

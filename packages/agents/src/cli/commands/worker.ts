import { ValidationError, assertValidId } from '@agent-team/core';
import { resolveModel } from '../../agent/model-registry.js';
import { isAgentRole } from '../../agent/roles.js';
import { offlineModel } from '../../models/index.js';
import { AgentTeam } from '../../team/agent-team.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';
import { printJson } from '../format.js';
import { interruptOnSignals } from '../interrupt.js';
import { attachProgress } from '../progress.js';

export interface WorkerOptions extends GlobalOptions {
  id: string;
  role: string;
  specialty?: string;
  model: string;
  concurrency?: number;
  follow?: boolean;
  leaseMs?: number;
  takePlainTasks?: boolean;
  maxTokens?: number;
  latency?: string;
}

function offlineLatency(value: string): number | [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
  if (!m) throw new ValidationError(`--latency must be ms or min-max (e.g. 200 or 100-400), got "${value}"`);
  return m[2] === undefined ? Number(m[1]) : [Number(m[1]), Number(m[2])];
}

/**
 * One agent joining a workspace from its own process. Exits when nothing is
 * left for it (or keeps waiting with --follow); SIGINT/SIGTERM hand its
 * claims back before it exits.
 */
export async function workerCommand(opts: WorkerOptions): Promise<number> {
  // A worker is long-lived and its live data is small: V8's memory-lean heap
  // heuristics keep its footprint near that (about 90 MB instead of 150 MB
  // while draining 100,000 tasks), at no measurable cost in speed.
  if (process.env.AGENT_TEAM_V8_DEFAULTS !== '1') (await import('node:v8')).setFlagsFromString('--optimize-for-size');
  assertValidId('agent', opts.id);
  if (!isAgentRole(opts.role)) throw new ValidationError(`--role must be lead, worker, reviewer or specialist, got ${JSON.stringify(opts.role)}`);
  if (opts.role === 'specialist' && !opts.specialty) throw new ValidationError('--role specialist needs --specialty (e.g. security)');
  let model = resolveModel(opts.model);
  if (opts.latency !== undefined) {
    if (!/^offline(:\d+)?$/.test(opts.model)) throw new ValidationError('--latency applies to the offline model only');
    const seed = opts.model.includes(':') ? Number(opts.model.split(':')[1]) : undefined;
    model = offlineModel({ ...(seed !== undefined ? { seed } : {}), latencyMs: offlineLatency(opts.latency) });
  }
  const backend = await openFromOptions(opts, { create: false });
  const team = new AgentTeam({ backend, teamId: 'team', ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}) });
  const interrupt = interruptOnSignals();
  try {
    const agent = team.addAgent(opts.id, opts.role, model, {
      ...(opts.specialty ? { specialty: opts.specialty } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.takePlainTasks ? { takePlainTasks: true } : {}),
      ...(opts.maxTokens ? { maxTokens: opts.maxTokens } : {}),
    });
    const detach = opts.quiet || opts.json ? () => {} : attachProgress(team, { stream: process.stderr, ...(opts.color === false ? { color: false } : {}) });
    const summary = await team.run({ stopWhenIdle: !opts.follow, signal: interrupt.signal });
    detach();
    // The team summary speaks for the whole workspace; a worker only says why it stopped.
    const reason = ['completed', 'failed', 'stalled'].includes(summary.status) ? 'no work left for it' : summary.reason;
    const line = { agent: agent.id, role: agent.role, tasksDone: agent.completedCount, stopped: reason, released: summary.released };
    if (opts.json) printJson(line);
    else console.error(`worker ${agent.id} (${agent.role}): ${agent.completedCount} task${agent.completedCount === 1 ? '' : 's'} done; ${reason}`);
    const interrupted = interrupt.exitCode();
    if (interrupted !== null) return interrupted;
    if (summary.status === 'aborted') throw new CliError(summary.reason, 1);
    return 0;
  } finally {
    interrupt.dispose();
    await team.close();
    await backend.close();
  }
}

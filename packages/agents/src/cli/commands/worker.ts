import path from 'node:path';
import { MAX_TIMER_MS, ValidationError, assertValidId, checkDuration } from '@agent-team/core';
import type { AgentOptions } from '../../agent/agent.js';
import { CommandAgent } from '../../command/command-agent.js';
import { splitCommandLine } from '../../command/command-line.js';
import { PRESET_NAMES, isPresetName } from '../../command/presets.js';
import { durationMs, loadSpec } from '../spec.js';
import type { TeamCodebaseOptions } from '../../git/team-repo.js';
import { resolveModel } from '../../agent/model-registry.js';
import { type AgentRole, isAgentRole } from '../../agent/roles.js';
import { offlineModel } from '../../models/index.js';
import { AgentTeam } from '../../team/agent-team.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';
import { printJson } from '../format.js';
import { interruptOnSignals } from '../interrupt.js';
import { attachProgress } from '../progress.js';

export interface WorkerOptions extends GlobalOptions {
  id: string;
  role?: string;
  specialty?: string;
  model: string;
  concurrency?: number;
  follow?: boolean;
  leaseMs?: number;
  takePlainTasks?: boolean;
  maxTokens?: number;
  latency?: string;
  command?: string;
  preset?: string;
  args?: string;
  shell?: boolean;
  cwd?: string;
  timeout?: string;
  experiment?: boolean;
  /** A spec file whose codebase section (and team id) this worker joins. */
  codebase?: string;
  /** This worker's access to that codebase. @default 'write' */
  access?: string;
}

/** `--codebase <spec>`: the spec's codebase (repository relative to the spec file) and team id, checked before anything runs. */
async function codebaseFromOptions(opts: WorkerOptions): Promise<{ teamId: string; codebase: TeamCodebaseOptions; access: 'write' | 'read' } | null> {
  if (opts.codebase === undefined) {
    if (opts.access !== undefined) throw new ValidationError('--access applies with --codebase <spec>: give the spec whose codebase this worker joins');
    return null;
  }
  const access = opts.access ?? 'write';
  if (access !== 'write' && access !== 'read') throw new ValidationError(`--access must be write or read, got ${JSON.stringify(access)}`);
  const spec = loadSpec(opts.codebase);
  if (!spec.codebase) throw new ValidationError(`${opts.codebase} has no codebase section: --codebase takes the spec of a team that works on a git repository`);
  const { codebaseFromSpec } = await import('../build-team.js');
  return { teamId: spec.team?.id ?? 'team', codebase: codebaseFromSpec(spec.codebase, path.dirname(path.resolve(opts.codebase))), access };
}

function offlineLatency(value: string): number | [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
  const low = Number(m?.[1]);
  const high = m?.[2] === undefined ? low : Number(m[2]);
  if (!m || high < low || high > MAX_TIMER_MS) {
    throw new ValidationError(`--latency must be ms or min-max from 0 to ${MAX_TIMER_MS} (e.g. 200 or 100-400), got "${value}"`);
  }
  return m[2] === undefined ? low : [low, high];
}

/** A command agent from the worker's options, checked before the workspace is opened. */
function commandAgentFromOptions(opts: WorkerOptions): (role: AgentRole, common: AgentOptions) => CommandAgent {
  if (opts.command !== undefined && opts.preset !== undefined) throw new ValidationError('give --command or --preset, not both');
  if (opts.preset !== undefined && !isPresetName(opts.preset)) {
    throw new ValidationError(`--preset must be one of ${PRESET_NAMES.join(', ')}, got ${JSON.stringify(opts.preset)}`);
  }
  if (opts.model !== 'offline' || opts.latency !== undefined || opts.maxTokens !== undefined) {
    throw new ValidationError('a command agent runs its program and has no model: drop --model, --latency and --max-tokens');
  }
  const options = {
    ...(opts.command !== undefined ? { command: opts.command } : {}),
    ...(opts.preset !== undefined ? { preset: opts.preset } : {}),
    ...(opts.args !== undefined ? { args: splitCommandLine(opts.args, '--args') } : {}),
    ...(opts.shell ? { shell: true } : {}),
    ...(opts.cwd !== undefined ? { cwd: path.resolve(opts.cwd) } : {}),
    ...(opts.timeout !== undefined ? { timeoutMs: checkDuration('--timeout', /^\d+$/.test(opts.timeout) ? Number(opts.timeout) : durationMs(opts.timeout)) } : {}),
  };
  const build = (role: AgentRole, common: AgentOptions) => {
    if (role !== 'worker' && role !== 'specialist') throw new ValidationError(`a command agent is a worker or a specialist, not a ${role}`);
    return new CommandAgent(opts.id, role, { ...common, ...options });
  };
  build('worker', {});
  return build;
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
  const commandAgent = opts.command !== undefined || opts.preset !== undefined ? commandAgentFromOptions(opts) : null;
  if (opts.experiment) return experimentWorker(opts);
  const role = opts.role ?? (commandAgent ? 'worker' : undefined);
  if (role === undefined) throw new ValidationError('--role is required: lead, worker, reviewer or specialist (or give --command or --preset)');
  if (!isAgentRole(role)) throw new ValidationError(`--role must be lead, worker, reviewer or specialist, got ${JSON.stringify(role)}`);
  if (role === 'specialist' && !opts.specialty) throw new ValidationError('--role specialist needs --specialty (e.g. security)');
  let model = resolveModel(opts.model);
  if (opts.latency !== undefined) {
    if (!/^offline(:\d+)?$/.test(opts.model)) throw new ValidationError('--latency applies to the offline model only');
    const seed = opts.model.includes(':') ? Number(opts.model.split(':')[1]) : undefined;
    model = offlineModel({ ...(seed !== undefined ? { seed } : {}), latencyMs: offlineLatency(opts.latency) });
  }
  const repo = await codebaseFromOptions(opts);
  const backend = await openFromOptions(opts, { create: false });
  const team = new AgentTeam({
    backend,
    teamId: repo?.teamId ?? 'team',
    ...(opts.leaseMs !== undefined ? { leaseMs: opts.leaseMs } : {}),
    ...(repo ? { codebase: repo.codebase } : {}),
  });
  const interrupt = interruptOnSignals();
  try {
    const common = {
      ...(opts.specialty ? { specialty: opts.specialty } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.takePlainTasks ? { takePlainTasks: true } : {}),
      ...(repo ? { codebase: repo.access } : {}),
    };
    const agent = commandAgent
      ? team.addAgent(commandAgent(role, common))
      : team.addAgent(opts.id, role, model, { ...common, ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}) });
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

/** `worker --experiment`: takes an experiment's case tasks (each carries all it needs) until none is left. */
async function experimentWorker(opts: WorkerOptions): Promise<number> {
  if (opts.role !== undefined || opts.command !== undefined || opts.preset !== undefined || opts.model !== 'offline') {
    throw new ValidationError('--experiment runs the cases with the models their cells name: drop --role, --model, --command and --preset');
  }
  const { ExperimentRunnerAgent } = await import('../../experiment/runner.js');
  const backend = await openFromOptions(opts, { create: false });
  const team = new AgentTeam({ backend, teamId: 'experiment', ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}) });
  const interrupt = interruptOnSignals();
  try {
    const runner = new ExperimentRunnerAgent(opts.id, { ...(opts.concurrency ? { concurrency: opts.concurrency } : {}) });
    const agent = team.addAgent(runner);
    const summary = await team.run({ stopWhenIdle: !opts.follow, signal: interrupt.signal });
    if (runner.refusal) {
      // It handed the case back; the run goes on with runners that have what it lacks.
      throw new CliError(`worker ${agent.id} stopped taking cases: ${runner.refusal}`, 2);
    }
    const reason = ['completed', 'failed', 'stalled'].includes(summary.status) ? 'no work left for it' : summary.reason;
    if (opts.json) printJson({ agent: agent.id, role: 'experiment', tasksDone: agent.completedCount, stopped: reason, released: summary.released });
    else console.error(`worker ${agent.id} (experiment): ${agent.completedCount} case${agent.completedCount === 1 ? '' : 's'} done; ${reason}`);
    return interrupt.exitCode() ?? 0;
  } finally {
    interrupt.dispose();
    await team.close();
    await backend.close();
  }
}

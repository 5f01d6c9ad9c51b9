import type { AgentRecord, Backend, TaskRecord, TaskStatus } from '@agent-team/core';
import path from 'node:path';
import { TASK_STATUSES, listDir } from '@agent-team/core';
import { colors } from '../../team/summary.js';
import { type GlobalOptions, openFromOptions } from '../context.js';
import { ago, clipLine, printJson, statusColor, table } from '../format.js';
import { useColor } from '../progress.js';

/** An agent that has not reported for this long, and has not said it stopped, is shown as not responding. */
export const AGENT_SILENCE_MS = 15_000;

export interface StatusData {
  location: string;
  backend: string;
  counts: Record<TaskStatus | 'total', number>;
  /** Tasks with a task file but no state: they never run until `recover` puts them back in line. */
  stateless: number;
  /** Files moved to quarantine/ (file backend), each with its reason: `agent-team recover` lists them. */
  quarantined: number;
  agents: Array<AgentRecord & { responding: boolean }>;
  tasks: Array<Pick<TaskRecord, 'id' | 'status' | 'attempt' | 'owner' | 'type' | 'description' | 'reason' | 'requires'>>;
}

export async function collectStatus(backend: Backend, options: { limit?: number; status?: TaskStatus } = {}): Promise<StatusData> {
  const now = Date.now();
  const counts = await backend.tasks.counts();
  const agents = (await backend.agents.list()).map((a) => ({ ...a, responding: a.status === 'stopped' || now - a.lastSeen < AGENT_SILENCE_MS }));
  const records = await backend.tasks.list({ ...(options.status ? { status: options.status } : {}), ...(options.limit ? { limit: options.limit } : {}) });
  return {
    location: backend.location,
    backend: backend.kind,
    counts,
    stateless: Math.max(0, counts.total - TASK_STATUSES.reduce((sum, status) => sum + counts[status], 0)),
    quarantined: backend.kind === 'file' ? listDir(path.join(backend.location, 'quarantine')).filter((n) => n.endsWith('.reason.json')).length : 0,
    agents,
    tasks: records.map((t) => ({
      id: t.id,
      status: t.status,
      attempt: t.attempt,
      owner: t.owner,
      type: t.type,
      requires: t.requires,
      description: t.description,
      reason: t.reason,
    })),
  };
}

export async function statusCommand(opts: GlobalOptions & { limit?: number; status?: string }): Promise<void> {
  if (opts.status && !(TASK_STATUSES as readonly string[]).includes(opts.status)) {
    throw new (await import('../context.js')).CliError(`--status must be one of ${TASK_STATUSES.join(', ')}, got "${opts.status}"`);
  }
  const backend = await openFromOptions(opts, { watch: false });
  try {
    const data = await collectStatus(backend, {
      ...(opts.limit ? { limit: opts.limit } : {}),
      ...(opts.status ? { status: opts.status as TaskStatus } : {}),
    });
    if (opts.json) {
      printJson(data);
      return;
    }
    const c = colors(opts.color !== false && useColor(process.stdout));
    console.log(`${c.bold('Workspace')} ${data.location} ${c.dim(`(${data.backend})`)}`);
    const parts = TASK_STATUSES.filter((s) => data.counts[s] > 0).map((s) => statusColor(c, s)(`${data.counts[s]} ${s}`));
    console.log(`${c.bold('Tasks')}     ${data.counts.total} total${parts.length ? ` · ${parts.join(' · ')}` : ''}`);
    if (data.quarantined > 0) {
      console.log(c.yellow(`          ${data.quarantined} file${data.quarantined === 1 ? '' : 's'} in quarantine/ (damaged or foreign): \`agent-team recover\` lists each with its reason`));
    }
    if (data.stateless > 0) {
      console.log(c.yellow(`          ${data.stateless} task${data.stateless === 1 ? '' : 's'} without a state (a marker removed, or a record quarantined): run \`agent-team recover\``));
    }
    if (data.agents.length > 0) {
      console.log(`\n${c.bold('Agents')}`);
      console.log(
        table([
          ['ID', 'ROLE', 'STATUS', 'DOING', 'DONE', 'LAST SEEN', 'MODEL'].map(c.dim),
          ...data.agents.map((a) => [
            a.id,
            a.role + (a.capabilities.filter((x) => !['lead', 'worker', 'reviewer', 'specialist'].includes(x)).length ? ` (${a.capabilities.filter((x) => !['lead', 'worker', 'reviewer', 'specialist'].includes(x)).join(',')})` : ''),
            a.responding ? statusColor(c, a.status)(a.status) : c.red('not responding'),
            a.current.join(', ') || '-',
            String(a.tasksDone),
            ago(a.lastSeen),
            a.model,
          ]),
        ]),
      );
    }
    if (data.tasks.length > 0) {
      console.log(`\n${c.bold('Tasks')}`);
      console.log(
        table([
          ['ID', 'STATUS', 'TRY', 'OWNER', 'TYPE', 'DESCRIPTION'].map(c.dim),
          ...data.tasks.map((t) => [
            t.id,
            statusColor(c, t.status)(t.status),
            String(t.attempt),
            t.owner ?? '-',
            t.type + (t.requires ? `@${t.requires}` : ''),
            clipLine(t.reason ? `${t.description} — ${t.reason}` : t.description, 70),
          ]),
        ]),
      );
      if (opts.limit && data.counts.total > data.tasks.length) console.log(c.dim(`(${data.tasks.length} of ${data.counts.total} shown)`));
    }
  } finally {
    await backend.close();
  }
}

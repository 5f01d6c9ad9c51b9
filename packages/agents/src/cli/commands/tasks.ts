import { TASK_STATUSES, type TaskStatus, TaskQueue, ValidationError } from '@agent-team/core';
import { colors } from '../../team/summary.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';
import { clipLine, printJson, statusColor, table } from '../format.js';
import { useColor } from '../progress.js';
import { isCodingTaskResult } from '../../git/result.js';

export interface TaskAddOptions extends GlobalOptions {
  id?: string;
  deps?: string;
  requires?: string;
  type?: string;
  priority?: number;
  maxAttempts?: number;
  review?: boolean;
  key?: string;
  metadata?: string;
}

function list(value: string | undefined): string[] {
  return value ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

async function withQueue<T>(opts: GlobalOptions, create: boolean, fn: (queue: TaskQueue) => Promise<T>): Promise<T> {
  const backend = await openFromOptions(opts, { create, watch: false });
  const queue = TaskQueue.open({ backend });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    await backend.close();
  }
}

/** `tasks add`: prints the new task's id (its record with --json). */
export async function taskAddCommand(description: string, opts: TaskAddOptions): Promise<void> {
  let metadata: Record<string, unknown> = {};
  if (opts.metadata) {
    try {
      const parsed: unknown = JSON.parse(opts.metadata);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      metadata = parsed as Record<string, unknown>;
    } catch (err) {
      throw new CliError(`--metadata must be a JSON object, e.g. '{"file":"src/a.ts"}': ${(err as Error).message}`);
    }
  }
  if (opts.review) metadata.review = true;
  const record = await withQueue(opts, true, (queue) =>
    queue.add({
      description,
      ...(opts.id ? { id: opts.id } : {}),
      dependencies: list(opts.deps),
      ...(opts.requires ? { requires: opts.requires } : {}),
      ...(opts.type ? { type: opts.type } : {}),
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
      ...(opts.key ? { idempotencyKey: opts.key } : {}),
      metadata,
    }),
  );
  if (opts.json) printJson(record);
  else console.log(record.id);
}

export async function taskListCommand(opts: GlobalOptions & { status?: string; type?: string; owner?: string; limit?: number }): Promise<void> {
  const statuses = list(opts.status);
  for (const s of statuses) {
    if (!(TASK_STATUSES as readonly string[]).includes(s)) throw new CliError(`--status must be among ${TASK_STATUSES.join(', ')}, got "${s}"`);
  }
  const tasks = await withQueue(opts, false, (queue) =>
    queue.list({
      ...(statuses.length ? { status: statuses as TaskStatus[] } : {}),
      ...(opts.type ? { type: opts.type } : {}),
      ...(opts.owner ? { owner: opts.owner } : {}),
      ...(opts.limit ? { limit: opts.limit } : {}),
    }),
  );
  if (opts.json) {
    printJson(tasks);
    return;
  }
  const c = colors(opts.color !== false && useColor(process.stdout));
  if (tasks.length === 0) {
    console.log('No tasks.');
    return;
  }
  console.log(
    table([
      ['ID', 'STATUS', 'TRY', 'OWNER', 'TYPE', 'PRIO', 'DEPENDS ON', 'DESCRIPTION'].map(c.dim),
      ...tasks.map((t) => [
        t.id,
        statusColor(c, t.status)(t.status),
        String(t.attempt),
        t.owner ?? '-',
        t.type + (t.requires ? `@${t.requires}` : ''),
        String(t.priority),
        t.dependencies.join(',') || '-',
        clipLine(t.description, 60),
      ]),
    ]),
  );
}

export async function taskShowCommand(id: string, opts: GlobalOptions): Promise<void> {
  const backend = await openFromOptions(opts, { watch: false });
  try {
    const queue = TaskQueue.open({ backend });
    const task = await queue.get(id);
    if (!task) throw new CliError(`task "${id}" not found; list them with \`agent-team tasks list\``);
    const events = (await backend.events.read({ taskId: id })).map((e) => ({ ts: new Date(e.ts).toISOString(), type: e.type, agentId: e.agentId, attempt: e.attempt }));
    if (opts.json) {
      printJson({ ...task, events });
      return;
    }
    const c = colors(opts.color !== false && useColor(process.stdout));
    const rows: Array<[string, string]> = [
      ['id', task.id],
      ['status', statusColor(c, task.status)(task.status) + (task.reason ? ` — ${task.reason}` : '')],
      ['type', task.type + (task.requires ? ` (requires ${task.requires})` : '')],
      ['attempt', `${task.attempt} of ${task.maxAttempts}`],
      ['owner', task.owner ?? '-'],
      ['priority', String(task.priority)],
      ['dependencies', task.dependencies.join(', ') || '-'],
      ['created', new Date(task.createdAt).toISOString()],
    ];
    if (task.finishedAt) rows.push(['finished', new Date(task.finishedAt).toISOString()]);
    if (isCodingTaskResult(task.result)) {
      const r = task.result;
      rows.push(['branch', r.branch], ['commit', r.commit ?? '- (changed nothing)']);
      if (r.merged) rows.push(['merged', `into ${r.merged.into} as ${r.merged.commit}`]);
      if (r.test) rows.push(['tests', `${r.test.command}: ${r.test.timedOut ? 'timed out' : r.test.passed ? 'passed' : `failed (exit ${String(r.test.exitCode)})`}`]);
      if (r.diffStat) rows.push(['diff stat', (r.diffStat.split('\n').at(-1) ?? '').trim() + (r.commit ? ` (agent-team diff ${task.id})` : '')]);
    }
    console.log(table(rows.map(([k, v]) => [c.dim(k), v])));
    console.log(`\n${c.bold('Description')}\n${task.description}`);
    if (task.feedback.length) console.log(`\n${c.bold('Feedback')}\n${task.feedback.map((f, i) => `${i + 1}. ${f}`).join('\n')}`);
    if (task.errors.length) console.log(`\n${c.bold('Errors')}\n${task.errors.map((e) => `attempt ${e.attempt} (${e.kind}${e.agentId ? `, ${e.agentId}` : ''}): ${e.message}`).join('\n')}`);
    if (task.result !== undefined) console.log(`\n${c.bold('Result')}\n${typeof task.result === 'string' ? task.result : JSON.stringify(task.result, null, 2)}`);
    if (events.length) console.log(`\n${c.bold('History')}\n${events.map((e) => `${e.ts}  ${e.type}${e.agentId ? `  ${e.agentId}` : ''}${e.attempt ? `  attempt ${e.attempt}` : ''}`).join('\n')}`);
    await queue.close();
  } finally {
    await backend.close();
  }
}

export async function taskCancelCommand(id: string, opts: GlobalOptions & { reason?: string }): Promise<void> {
  const record = await withQueue(opts, false, (queue) => queue.cancel(id, opts.reason ?? 'cancelled from the command line'));
  if (opts.json) printJson(record);
  else console.log(`cancelled ${record.id}`);
}

export async function taskRetryCommand(id: string, opts: GlobalOptions): Promise<void> {
  const record = await withQueue(opts, false, (queue) => queue.retry(id));
  if (opts.json) printJson(record);
  else console.log(`${record.id} is ${record.status} again (attempt ${record.attempt})`);
}

export function parseIntOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new ValidationError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}

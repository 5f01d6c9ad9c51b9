import { assertValidId, describeValue } from '@agent-team/core';
import { type NamedChange, diffOfChange, namedChange } from '../../git/result.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';
import { printJson } from '../format.js';

/** `diff <task>`: the change a coding task made, from its fork point to its commit (merged or not). */
export async function diffCommand(taskId: string, opts: GlobalOptions & { stat?: boolean }): Promise<void> {
  try {
    assertValidId('task', taskId);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const backend = await openFromOptions(opts, { watch: false });
  let change: NamedChange;
  try {
    const task = await backend.tasks.get(taskId);
    if (!task) throw new CliError(`no task "${taskId}" in this workspace: agent-team tasks list shows them`, 1);
    const r = task.result as Record<string, unknown> | undefined;
    if (!r || typeof r.repo !== 'string' || typeof r.base !== 'string' || typeof r.branch !== 'string') {
      throw new CliError(`task "${taskId}" has no change to show: it is not a coding task, or it is not finished (status: ${task.status})`, 1);
    }
    if (typeof r.commit !== 'string') throw new CliError(`task "${taskId}" changed nothing (branch ${r.branch})`, 1);
    const named = namedChange(r);
    if (!named) {
      throw new CliError(
        `task "${taskId}"'s result does not name a change the team made: its repo must be an absolute path and its base and commit commit ids (got base ${describeValue(r.base)}, commit ${describeValue(r.commit)})`,
        1,
      );
    }
    change = named;
  } finally {
    await backend.close();
  }
  const out = await diffOfChange(change, { stat: opts.stat === true }).catch((err: unknown) => {
    throw new CliError(`cannot show the diff: ${(err as Error).message}`, 1);
  });
  if (opts.json) {
    printJson({ taskId, ...change, diff: out.stdout });
    return;
  }
  process.stdout.write(out.stdout);
}

import { TaskQueue } from '@agent-team/core';
import { git } from '../../git/git.js';
import { isCodingTaskResult } from '../../git/review.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';
import { printJson } from '../format.js';

export interface DiffOptions extends GlobalOptions {
  stat?: boolean;
}

/** `diff <task>`: the diff of a coding task's commit against where its branch left mergeInto. */
export async function diffCommand(id: string, opts: DiffOptions): Promise<void> {
  const backend = await openFromOptions(opts, { watch: false });
  try {
    const queue = TaskQueue.open({ backend });
    const task = await queue.get(id);
    if (!task) throw new CliError(`task "${id}" not found; list them with \`agent-team tasks list\``);
    const result = task.result;
    if (!isCodingTaskResult(result)) {
      throw new CliError(`task "${id}" (${task.status}) has no commit: it is not a coding task, or it has not finished yet`);
    }
    if (!result.commit) {
      if (opts.json) printJson({ taskId: id, branch: result.branch, commit: null, diff: '' });
      else console.log(`task "${id}" changed nothing (branch ${result.branch})`);
      return;
    }
    if (!result.repo || !result.base) throw new CliError(`task "${id}" was recorded without its repository and fork point: run \`git diff\` on branch ${result.branch} yourself`);
    const args = ['diff', ...(opts.stat ? ['--stat'] : []), ...(opts.color === false || opts.json ? ['--no-color'] : []), result.base, result.commit];
    const out = await git(result.repo, args);
    if (opts.json) printJson({ taskId: id, branch: result.branch, base: result.base, commit: result.commit, diffStat: result.diffStat, diff: out.stdout });
    else process.stdout.write(out.stdout);
    await queue.close();
  } finally {
    await backend.close();
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { type Backend, ValidationError } from '@agent-team/core';
import { recoverWorktrees as tidyWorktrees } from '../../git/team-repo.js';
import { colors } from '../../team/summary.js';
import { type GlobalOptions, openFromOptions } from '../context.js';
import { printJson } from '../format.js';
import { useColor } from '../progress.js';

/** The worktree housekeeping of a spec's git codebase (`--codebase <spec>`). */
async function recoverWorktrees(specFile: string, backend: Backend): Promise<{ finished: string[]; broken: string[]; parked: number }> {
  const [{ loadSpec }, { codebaseFromSpec }, { TeamRepo }] = await Promise.all([import('../spec.js'), import('../build-team.js'), import('../../git/team-repo.js')]);
  const spec = loadSpec(specFile);
  if (!spec.codebase) throw new ValidationError(`${specFile} has no codebase section: --codebase takes the spec of a team that works on a git repository`);
  if (backend.kind !== 'file') throw new ValidationError('--codebase needs a workspace folder (the worktrees live in it), not a Redis backend');
  const repo = await TeamRepo.open(spec.team?.id ?? 'team', codebaseFromSpec(spec.codebase, path.dirname(path.resolve(specFile))), backend.location);
  try {
    return await repo.housekeeping(async (id) => {
      const task = await backend.tasks.get(id);
      return task !== null && ['completed', 'failed', 'cancelled', 'blocked'].includes(task.status);
    });
  } finally {
    await repo.close();
  }
}

/** `recover`: takes over expired leases, repairs interrupted transitions, sweeps temp files, reports quarantined files. */
export async function recoverCommand(opts: GlobalOptions & { codebase?: string }): Promise<void> {
  const backend = await openFromOptions(opts, { watch: false });
  try {
    const report = await backend.tasks.recover();
    // A coding team's worktrees: with --codebase, by its spec (broken ones too); else, on a file backend, by the
    // repository the workspace remembers: those of finished tasks go, and git's registrations are pruned.
    const worktrees = opts.codebase !== undefined ? await recoverWorktrees(opts.codebase, backend) : undefined;
    const folder = backend.kind === 'file' ? path.join(backend.location, 'worktrees') : undefined;
    const removed =
      !worktrees && folder && fs.existsSync(folder) ? await tidyWorktrees(folder, async (id) => {
            // A task that cannot be read now is not a task that is gone: its worktree (and its uncommitted edits) stays.
            const task = await backend.tasks.get(id).catch(() => 'unreadable' as const);
            return task === 'unreadable' ? 'unknown' : task?.status;
          }) : [];
    if (opts.json) {
      printJson({ ...report, ...(worktrees ? { worktrees } : {}), worktreesRemoved: worktrees ? worktrees.finished : removed });
      return;
    }
    if (worktrees) {
      console.log(`Worktrees of finished tasks removed: ${worktrees.finished.length}${worktrees.finished.length ? ` (${worktrees.finished.join(', ')})` : ''}`);
      console.log(`Broken worktrees removed (rebuilt from their branch at the next claim): ${worktrees.broken.length}${worktrees.broken.length ? ` (${worktrees.broken.join(', ')})` : ''}`);
      console.log(`Parked worktrees removed (agents' pools): ${worktrees.parked}`);
    }
    const c = colors(opts.color !== false && useColor(process.stdout));
    console.log(`Expired leases requeued: ${report.requeued.length}${report.requeued.length ? ` (${report.requeued.map((r) => `${r.taskId} from ${r.holder ?? '?'} → attempt ${r.attempt}`).join(', ')})` : ''}`);
    if (report.failed.length) console.log(c.red(`Failed for good (out of attempts): ${report.failed.join(', ')}`));
    if (report.abandoned.length) console.log(`Abandoned claims dropped (never started): ${report.abandoned.join(', ')}`);
    console.log(`Interrupted transitions repaired: ${report.repaired.length}${report.repaired.length ? ` (${report.repaired.join(', ')})` : ''}`);
    console.log(`Temp files swept: ${report.sweptTempFiles.length}`);
    if (!worktrees && folder && fs.existsSync(folder)) console.log(`Worktrees of finished tasks removed: ${removed.length}${removed.length ? ` (${removed.join(', ')})` : ''}`);
    if (report.quarantined.length) {
      console.log(c.yellow(`Quarantined files: ${report.quarantined.length}`));
      for (const q of report.quarantined) console.log(`  ${q.file}: ${q.reason} (${q.at})`);
    } else {
      console.log('Quarantined files: none');
    }
  } finally {
    await backend.close();
  }
}

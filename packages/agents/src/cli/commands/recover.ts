import fs from 'node:fs';
import path from 'node:path';
import { recoverWorktrees } from '../../git/team-repo.js';
import { colors } from '../../team/summary.js';
import { type GlobalOptions, openFromOptions } from '../context.js';
import { printJson } from '../format.js';
import { useColor } from '../progress.js';

/** `recover`: takes over expired leases, repairs interrupted transitions, sweeps temp files, reports quarantined files. */
export async function recoverCommand(opts: GlobalOptions): Promise<void> {
  const backend = await openFromOptions(opts, { watch: false });
  try {
    const report = await backend.tasks.recover();
    // A coding team's worktrees (file backend): those of finished tasks go, and git's registrations are pruned.
    const worktrees = backend.kind === 'file' ? path.join(backend.location, 'worktrees') : undefined;
    const removed = worktrees && fs.existsSync(worktrees) ? await recoverWorktrees(worktrees, async (id) => (await backend.tasks.get(id).catch(() => null))?.status) : [];
    if (opts.json) {
      printJson({ ...report, worktreesRemoved: removed });
      return;
    }
    const c = colors(opts.color !== false && useColor(process.stdout));
    console.log(`Expired leases requeued: ${report.requeued.length}${report.requeued.length ? ` (${report.requeued.map((r) => `${r.taskId} from ${r.holder ?? '?'} → attempt ${r.attempt}`).join(', ')})` : ''}`);
    if (report.failed.length) console.log(c.red(`Failed for good (out of attempts): ${report.failed.join(', ')}`));
    if (report.abandoned.length) console.log(`Abandoned claims dropped (never started): ${report.abandoned.join(', ')}`);
    console.log(`Interrupted transitions repaired: ${report.repaired.length}${report.repaired.length ? ` (${report.repaired.join(', ')})` : ''}`);
    console.log(`Temp files swept: ${report.sweptTempFiles.length}`);
    if (worktrees && fs.existsSync(worktrees)) console.log(`Worktrees of finished tasks removed: ${removed.length}${removed.length ? ` (${removed.join(', ')})` : ''}`);
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

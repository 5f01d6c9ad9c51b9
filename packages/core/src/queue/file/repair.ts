import type { EventInput } from '../../events/types.js';
import { listDir } from '../../fs/file-io.js';
import type { Workspace } from '../../workspace.js';
import type { AttemptError, ReapReport, TaskRecord, TaskSpec, TaskStatus } from '../types.js';
import { type TransitOrigin, parseTransitName } from './layout.js';
import type { TaskPaths } from './paths.js';
import type { FileTaskQueries } from './queries.js';
import { CORRUPT, FINAL_FOLDER, type FinalFile, type FinalStatus, type StateFile, parseClaim, parseFinal } from './records.js';

/** The transitions of the store that crash repair finishes or undoes a move with. */
export interface RepairTransitions {
  /** A unique `transit/` entry for a transition this process is about to own. */
  newTransitPath(id: string, origin: TransitOrigin): string;
  /** Places a freshly published task: ready, or waiting for its dependencies. */
  placeNew(spec: TaskSpec, events: EventInput[]): TaskStatus;
  /** Promotes, blocks or leaves waiting a task from its dependencies' outcomes. */
  evaluate(spec: TaskSpec, events: EventInput[]): TaskStatus;
  /** Re-evaluates the dependents of a task that reached a final state. */
  settleDependents(id: string, events: EventInput[]): void;
  createReadyMarker(spec: TaskSpec): void;
  /** Retry after backoff while the attempt budget lasts, else fail for good. */
  afterFailedAttempt(
    spec: TaskSpec,
    state: StateFile | null,
    attempt: number,
    entry: AttemptError,
    retryable: boolean,
    events: EventInput[],
    owner: string | null,
  ): TaskRecord;
}

/**
 * Crash repair: finds transitions whose process died midway (a `transit/`
 * entry older than the transit timeout) and finishes them (the final record
 * exists: settle the dependents) or undoes them (put the task back where it
 * was, or requeue it with attempt + 1).
 */
export class TransitRepair {
  constructor(
    private readonly workspace: Workspace,
    private readonly paths: TaskPaths,
    private readonly read: FileTaskQueries,
    private readonly transitions: RepairTransitions,
    private readonly transitTimeoutMs: number,
  ) {}

  /** Finishes or undoes transitions whose process died midway. */
  repairTransit(report: ReapReport): void {
    const now = this.workspace.clock.now();
    const events: EventInput[] = [];
    for (const name of listDir(this.paths.d.transit)) {
      const parsed = parseTransitName(name);
      if (!parsed || now - parsed.at < this.transitTimeoutMs) continue;
      const mine = this.transitions.newTransitPath(parsed.id, 'repair');
      if (!this.workspace.io.move(`${this.paths.d.transit}/${name}`, mine)) continue;
      const text = this.workspace.io.readText(mine) ?? '';
      this.repairOne(parsed.id, parsed.origin, text, events);
      this.workspace.io.remove(mine);
      report.repaired.push(parsed.id);
    }
    this.workspace.events.appendMany(events);
  }

  private repairOne(id: string, origin: TransitOrigin, text: string, events: EventInput[]): void {
    const { read, paths, transitions } = this;
    const io = this.workspace.io;
    if (origin === 'add') {
      let ids: string[] = [id];
      try {
        ids = JSON.parse(text) as string[];
      } catch {
        // an empty or torn intent: the id in its name is all we know
      }
      for (const each of ids) {
        const spec = read.readSpec(each);
        if (spec && spec !== CORRUPT && !read.locate(spec)) transitions.placeNew(spec, events);
      }
      return;
    }
    const spec = read.readSpec(id);
    if (!spec || spec === CORRUPT) return;
    const final = parseFinal(text);
    if (final && !read.finalStatusOf(id) && !read.locate(spec)) {
      // The holder wrote its final record but died before linking it into place.
      io.writeAtomic(paths.final(final.status as FinalStatus, id), text);
    }
    if (read.finalStatusOf(id)) {
      // The final record was written: finish what followed it.
      transitions.settleDependents(id, events);
      return;
    }
    if (read.locate(spec)) return;
    if (origin === 'approve' || origin === 'reopen' || (origin === 'cancel' && text.includes('"status":"review"'))) {
      io.writeAtomic(paths.final('review', id), text);
      return;
    }
    if (origin === 'retry') {
      try {
        const record = JSON.parse(text) as FinalFile;
        if (record.status in FINAL_FOLDER) {
          io.writeAtomic(paths.final(record.status as FinalStatus, id), text);
          return;
        }
      } catch {
        // fall through: put it back in line
      }
    }
    const claim = parseClaim(text);
    if (claim) {
      const entry: AttemptError = {
        attempt: claim.attempt,
        message: `interrupted: agent "${claim.agentId}" stopped while finishing the task`,
        at: this.workspace.clock.now(),
        kind: 'lease_expired',
        agentId: claim.agentId,
      };
      transitions.afterFailedAttempt(spec, read.readState(id), claim.attempt, entry, true, events, claim.agentId);
      return;
    }
    if (spec.dependencies.length > 0) {
      io.createMarker(paths.waiting(id));
      transitions.evaluate(spec, events);
    } else {
      transitions.createReadyMarker(spec);
      events.push({ type: 'task.ready', taskId: id, reason: 'repaired' });
    }
  }
}

import fs from 'node:fs';
import path from 'node:path';
import type { EventInput } from '../../events/types.js';
import { ForeignEntryError, listDir } from '../../fs/file-io.js';
import type { Workspace } from '../../workspace.js';
import type { AttemptError, ReapReport, TaskRecord, TaskSpec, TaskStatus } from '../types.js';
import { type TransitOrigin, idFromMarker, parseDelayedName, parseTransitName } from './layout.js';
import type { TaskPaths } from './paths.js';
import { type FileTaskQueries, sleepSync } from './queries.js';
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
      if (!parsed) {
        this.workspace.quarantine(`${this.paths.d.transit}/${name}`, `transit/${name} is not a transition entry`);
        continue;
      }
      if (now - parsed.at < this.transitTimeoutMs) continue;
      const mine = this.transitions.newTransitPath(parsed.id, 'repair');
      if (!this.workspace.io.move(`${this.paths.d.transit}/${name}`, mine)) continue;
      let text: string;
      try {
        text = this.workspace.io.readText(mine) ?? '';
      } catch (err) {
        if (!(err instanceof ForeignEntryError)) throw err;
        this.workspace.quarantine(mine, `transit/${name} is ${err.kind}, not a file`);
        text = '';
      }
      this.repairOne(parsed.id, parsed.origin, text, events);
      this.workspace.io.remove(mine);
      report.repaired.push(parsed.id);
    }
    this.workspace.events.appendMany(events);
  }

  /**
   * Puts back in line every task that has a task file but no state at all:
   * its ready or waiting marker was deleted, or its record was damaged and
   * quarantined. Without this such a task would never run and no command
   * would show it. Tasks that a live transition holds (a `transit/` entry, an
   * add in progress) are left alone, and each candidate is looked up again
   * (three times, a moment apart) before it is placed.
   */
  placeStranded(report: ReapReport): void {
    const d = this.paths.d;
    this.quarantineForeign();
    const located = new Set<string>(listDir(d.claims));
    for (const folder of Object.values(FINAL_FOLDER)) {
      for (const name of listDir(d[folder])) if (name.endsWith('.json')) located.add(name.slice(0, -5));
    }
    for (const name of listDir(d.waiting)) located.add(name);
    for (const lane of listDir(d.ready)) for (const marker of listDir(this.paths.lane(lane))) located.add(idFromMarker(marker));
    for (const name of listDir(d.delayed)) {
      const parsed = parseDelayedName(name);
      if (parsed) located.add(idFromMarker(parsed.marker));
    }
    for (const name of listDir(d.transit)) {
      const parsed = parseTransitName(name);
      if (!parsed) continue;
      located.add(parsed.id);
      if (parsed.origin !== 'add') continue;
      try {
        for (const id of JSON.parse(this.workspace.io.readText(`${d.transit}/${name}`) ?? '[]') as string[]) located.add(id);
      } catch {
        // a torn intent: its own id is all it holds
      }
    }
    const now = Date.now();
    const events: EventInput[] = [];
    for (const file of listDir(d.tasks)) {
      if (!file.endsWith('.json')) continue;
      const id = file.slice(0, -5);
      if (located.has(id)) continue;
      const st = fs.statSync(`${d.tasks}/${file}`, { throwIfNoEntry: false });
      if (!st || now - st.mtimeMs < 1000) continue; // an add in progress
      const spec = this.read.readSpec(id);
      if (!spec || spec === CORRUPT) continue;
      let found = false;
      for (let round = 0; round < 3 && !found; round++) {
        if (round > 0) sleepSync(1);
        found = this.read.locate(spec) !== null;
      }
      if (found) continue;
      if (spec.dependencies.length > 0 || (this.read.readState(id)?.extraDependencies?.length ?? 0) > 0) {
        this.workspace.io.createMarker(this.paths.waiting(id));
        this.transitions.evaluate(spec, events);
      } else {
        this.transitions.createReadyMarker(spec);
        events.push({ type: 'task.ready', taskId: id, reason: 'repaired: the task had no state (a marker removed, or its record damaged)' });
      }
      report.repaired.push(id);
    }
    this.workspace.events.appendMany(events);
  }

  /**
   * Moves to quarantine/ what does not belong in the queue's folders: a
   * folder, symlink, FIFO or socket where a file should be (or a file where a
   * lane or dependents folder should be), and a waiting marker of a task that
   * does not exist. Readers already step around such entries; this takes them
   * out of the counts and out of the way.
   */
  private quarantineForeign(): void {
    const d = this.paths.d;
    const ws = this.workspace;
    const checkFiles = (dir: string, rel: string) => {
      for (const entry of readEntries(dir)) {
        if (!entry.isFile()) ws.quarantine(`${dir}/${entry.name}`, `${rel}/${entry.name} is ${kindOf(entry)}, not a file`);
      }
    };
    for (const folder of ['tasks', 'state', 'keys', 'waiting', 'delayed', 'claims', 'transit', 'review', 'results', 'failed', 'blocked', 'cancelled'] as const) {
      checkFiles(d[folder], folder);
    }
    checkFiles(path.join(ws.root, 'tmp'), 'tmp');
    for (const folder of ['ready', 'dependents'] as const) {
      for (const entry of readEntries(d[folder])) {
        if (entry.isDirectory()) checkFiles(`${d[folder]}/${entry.name}`, `${folder}/${entry.name}`);
        else ws.quarantine(`${d[folder]}/${entry.name}`, `${folder}/${entry.name} is ${kindOf(entry)}, not a folder`);
      }
    }
    for (const name of listDir(d.waiting)) {
      if (!this.read.exists(this.paths.spec(name))) ws.quarantine(this.paths.waiting(name), `waiting/${name} names no task (no tasks/${name}.json)`);
    }
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

function readEntries(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function kindOf(entry: fs.Dirent): string {
  if (entry.isDirectory()) return 'a folder';
  if (entry.isSymbolicLink()) return 'a symlink';
  if (entry.isFIFO()) return 'a FIFO';
  if (entry.isSocket()) return 'a socket';
  return entry.isFile() ? 'a file' : 'a device';
}

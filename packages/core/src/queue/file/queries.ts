import fs from 'node:fs';
import { ForeignEntryError, listDir } from '../../fs/file-io.js';
import type { Workspace } from '../../workspace.js';
import {
  type ClaimRef,
  type ListFilter,
  TASK_STATUSES,
  type TaskCounts,
  type TaskRecord,
  type TaskSpec,
  type TaskStatus,
} from '../types.js';
import { delayedName, idFromMarker, laneOf, markerName, parseDelayedName, parseTransitName } from './layout.js';
import type { TaskPaths } from './paths.js';
import {
  CORRUPT,
  type ClaimFile,
  FINAL_FOLDER,
  type FinalFile,
  type Read,
  type ShapeCheck,
  type StateFile,
  finalShape,
  parseClaim,
  specShape,
  stateShape,
  recordFromFinal,
  recordFromSpec,
} from './records.js';

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * Reading the file backend: a task's files, where a task is (its status),
 * and the read-only queries get, list and counts. Nothing here moves a task;
 * a file that fails to parse is quarantined with the reason.
 */
export class FileTaskQueries {
  private readonly specCache = new Map<string, TaskSpec>();

  constructor(
    private readonly workspace: Workspace,
    private readonly paths: TaskPaths,
  ) {}

  /**
   * A record from disk, checked: a file that is not JSON, JSON of the wrong
   * shape, or not a readable file at all (a folder, symlink or FIFO put
   * there) is moved to quarantine/ with the reason and reads as CORRUPT.
   */
  readJson<T>(file: string, what: string, shape?: ShapeCheck, expect: 'present' | 'absent' = 'absent'): Read<T> {
    let text: string | null;
    try {
      text = this.workspace.io.readText(file, expect);
    } catch (err) {
      if (!(err instanceof ForeignEntryError)) throw err;
      this.workspace.quarantine(file, err.kind === 'unreadable' ? `${what} is not readable by this process` : `${what} is ${err.kind}, not a file`);
      return CORRUPT;
    }
    if (text === null) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.workspace.quarantine(file, `${what} is not valid JSON: ${(err as Error).message}`);
      return CORRUPT;
    }
    const problem = shape?.(value) ?? null;
    if (problem !== null) {
      this.workspace.quarantine(file, `${what} has the wrong shape: ${problem}`);
      return CORRUPT;
    }
    return value as T;
  }

  /**
   * A task's spec. Specs never change, so a small cache serves the repeated
   * reads of dependency checks; `cache: false` (the claim path, which keeps
   * the spec with the claim) leaves it alone, so a long drain does not churn
   * it.
   */
  readSpec(id: string, options: { cache?: boolean } = {}): Read<TaskSpec> {
    const cached = this.specCache.get(id);
    if (cached) return cached;
    const spec = this.readJson<TaskSpec>(this.paths.spec(id), `task file of "${id}"`, specShape(id), 'present');
    if (spec && spec !== CORRUPT && options.cache !== false) this.cacheSpec(spec);
    return spec;
  }

  /**
   * Capped: a cache that lived long enough for its entries to reach the old
   * generation and was then dropped whole would cost more memory than it saves.
   */
  cacheSpec(spec: TaskSpec): void {
    if (this.specCache.size >= 256) this.specCache.clear();
    this.specCache.set(spec.id, spec);
  }

  /** Forgets a spec (a batch whose add was taken back). */
  uncacheSpec(id: string): void {
    this.specCache.delete(id);
  }

  readState(id: string): StateFile | null {
    const state = this.readJson<StateFile>(this.paths.state(id), `state of task "${id}"`, stateShape);
    return state === CORRUPT ? null : state;
  }

  exists(file: string): boolean {
    return fs.existsSync(file);
  }

  /** The final status of a task, or null while it can still change. */
  finalStatusOf(id: string): 'completed' | 'failed' | 'blocked' | 'cancelled' | null {
    if (this.exists(this.paths.final('completed', id))) return 'completed';
    if (this.exists(this.paths.final('failed', id))) return 'failed';
    if (this.exists(this.paths.final('blocked', id))) return 'blocked';
    if (this.exists(this.paths.final('cancelled', id))) return 'cancelled';
    return null;
  }

  get(id: string, moving?: ReadonlySet<string>): TaskRecord | null {
    const spec = this.readSpec(id);
    if (!spec || spec === CORRUPT) return null;
    const first = this.locate(spec);
    if (first) return first;
    // Between two states only while a transition holds it (a transit/ entry or an add intent):
    // look again then; a task with no state at all is reported as such at once.
    const inTransit = (moving ?? this.movingIds()).has(id);
    for (let round = 0; round < (inTransit ? 5 : 1); round++) {
      sleepSync(1);
      const record = this.locate(spec);
      if (record) return record;
    }
    const record = recordFromSpec(spec, 'pending', this.readState(id));
    record.reason = inTransit
      ? 'in transition (if this persists, run `agent-team recover`)'
      : 'no state: its marker or record is gone; `agent-team recover` (or any idle worker) puts it back in line';
    return record;
  }

  /** Ids a transition holds right now: named by a transit/ entry, or listed by an add intent. */
  movingIds(): Set<string> {
    const ids = new Set<string>();
    for (const name of listDir(this.paths.d.transit)) {
      const parsed = parseTransitName(name);
      if (!parsed) continue;
      ids.add(parsed.id);
      if (parsed.origin !== 'add') continue;
      try {
        const listed = JSON.parse(this.workspace.io.readText(`${this.paths.d.transit}/${name}`) ?? '[]') as unknown;
        if (Array.isArray(listed)) for (const each of listed) if (typeof each === 'string') ids.add(each);
      } catch {
        // a torn intent, or not a file: its name is all it says
      }
    }
    return ids;
  }

  /** Where the task is now, or null when it is between two states. */
  locate(spec: TaskSpec): TaskRecord | null {
    const id = spec.id;
    const claimPath = this.paths.claim(id);
    const claimStat = fs.statSync(claimPath, { throwIfNoEntry: false });
    if (claimStat) {
      const content = this.readClaimLenient(id);
      const record = recordFromSpec(spec, 'claimed', this.readState(id));
      record.owner = content?.agentId ?? null;
      record.attempt = content?.attempt ?? record.attempt;
      record.leaseUntil = Math.round(claimStat.mtimeMs);
      return record;
    }
    for (const status of ['completed', 'review', 'failed', 'blocked', 'cancelled'] as const) {
      const final = this.readJson<FinalFile>(this.paths.final(status, id), `${status} record of "${id}"`, finalShape(status));
      if (final && final !== CORRUPT) return recordFromFinal(spec, final);
    }
    if (this.exists(this.paths.ready(spec))) return recordFromSpec(spec, 'ready', this.readState(id));
    if (this.exists(this.paths.waiting(id))) return recordFromSpec(spec, 'pending', this.readState(id));
    const state = this.readState(id);
    if (state?.notBefore != null) {
      const name = delayedName(state.notBefore, laneOf(spec), markerName(spec));
      if (this.exists(this.paths.delayed(name))) return recordFromSpec(spec, 'delayed', state);
    }
    return null;
  }

  claimRefOf(taskId: string): (ClaimRef & { agentId: string }) | null {
    const content = this.readClaimLenient(taskId);
    return content ? { taskId, token: content.token, agentId: content.agentId } : null;
  }

  /**
   * A claim's content for a reader: an empty claim (its claimer is between
   * creating and writing it) reads as unknown, not damaged; something that is
   * not a file there is quarantined.
   */
  readClaimLenient(id: string): ClaimFile | null {
    try {
      return parseClaim(this.workspace.io.readText(this.paths.claim(id)));
    } catch (err) {
      if (!(err instanceof ForeignEntryError)) throw err;
      this.workspace.quarantine(err.file, `claim of task "${id}" is ${err.kind}, not a file`);
      return null;
    }
  }

  list(filter: ListFilter = {}): TaskRecord[] {
    const statuses = filter.status === undefined ? null : Array.isArray(filter.status) ? filter.status : [filter.status];
    const ids = statuses === null ? this.allIds() : statuses.flatMap((status) => this.idsWithStatus(status as TaskStatus));
    const out: TaskRecord[] = [];
    const wanted = statuses ? new Set<TaskStatus>(statuses as TaskStatus[]) : null;
    let moving: Set<string> | undefined;
    for (const id of ids) {
      const record = this.get(id, (moving ??= this.movingIds()));
      if (!record) continue;
      if (wanted && !wanted.has(record.status)) continue;
      if (filter.type !== undefined && record.type !== filter.type) continue;
      if (filter.requires !== undefined && record.requires !== filter.requires) continue;
      if (filter.owner !== undefined && record.owner !== filter.owner) continue;
      out.push(record);
      if (filter.limit !== undefined && out.length >= filter.limit) break;
    }
    return out;
  }

  private allIds(): string[] {
    return listDir(this.paths.d.tasks)
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -5))
      .sort();
  }

  /** Ids in one state, from that state's folder alone. */
  private idsWithStatus(status: TaskStatus): string[] {
    const d = this.paths.d;
    switch (status) {
      case 'pending':
        return listDir(d.waiting).sort();
      case 'ready':
        return listDir(d.ready)
          .flatMap((lane) => listDir(this.paths.lane(lane)))
          .sort()
          .map(idFromMarker);
      case 'delayed':
        return listDir(d.delayed)
          .sort()
          .map((name) => idFromMarker(parseDelayedName(name)?.marker ?? ''))
          .filter((id) => id.length > 0);
      case 'claimed':
        return listDir(d.claims).sort();
      default:
        return listDir(d[FINAL_FOLDER[status]])
          .filter((name) => name.endsWith('.json'))
          .map((name) => name.slice(0, -5))
          .sort();
    }
  }

  counts(): TaskCounts {
    const d = this.paths.d;
    const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as TaskCounts;
    counts.pending = listDir(d.waiting).length;
    counts.ready = listDir(d.ready).reduce((sum, lane) => sum + listDir(this.paths.lane(lane)).length, 0);
    counts.delayed = listDir(d.delayed).length;
    counts.claimed = listDir(d.claims).length;
    for (const status of ['review', 'completed', 'failed', 'blocked', 'cancelled'] as const) {
      counts[status] = listDir(d[FINAL_FOLDER[status]]).filter((name) => name.endsWith('.json')).length;
    }
    counts.total = listDir(d.tasks).filter((name) => name.endsWith('.json')).length;
    return counts;
  }
}

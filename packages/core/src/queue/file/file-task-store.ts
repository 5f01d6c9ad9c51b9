import fs from 'node:fs';
import path from 'node:path';
import {
  DependencyCycleError,
  DuplicateTaskError,
  LeaseLostError,
  TaskNotFoundError,
  TaskStateError,
  UnknownDependencyError,
  errnoCode,
} from '../../errors.js';
import type { EventInput } from '../../events/types.js';
import { ForeignEntryError, asStorageError, describeEntry, writeFully, currentHost, isProcessAlive, listDir, parseWriterId, safeUnlink } from '../../fs/file-io.js';
import { isValidId, uniqueSuffix } from '../../ids.js';
import type { Workspace } from '../../workspace.js';
import type { AddOutcome, ClaimGrant, FailInput, HasWorkResult, TaskStore } from '../task-store.js';
import type {
  AttemptError,
  ClaimRef,
  ClaimRequest,
  ListFilter,
  ReapReport,
  RecoverReport,
  TaskCounts,
  TaskRecord,
  TaskSpec,
  TaskStatus,
} from '../types.js';
import { backoffDelay } from '../backoff.js';
import { type TransitOrigin, delayedName, idFromMarker, laneOf, markerName, parseDelayedName, parseLane } from './layout.js';
import { TaskPaths } from './paths.js';
import { FileTaskQueries, sleepSync } from './queries.js';
import {
  CORRUPT,
  type ClaimFile,
  type FinalFile,
  type FinalStatus,
  type HeldClaim,
  type StateFile,
  keyShape,
  parseClaim,
  recordFromFinal,
  recordFromSpec,
  union,
} from './records.js';
import { TransitRepair } from './repair.js';
import { ReadyIndex } from './ready-index.js';
import { findCycle } from '../dag.js';
import { checkOptions, rules } from '../../options.js';

export interface FileTaskStoreOptions {
  /** Lease used to judge a claim whose holder died before writing it. @default 30000 */
  defaultLeaseMs?: number;
  /** A transition older than this is treated as interrupted by `recover()`. @default 60000 */
  transitTimeoutMs?: number;
  /** Longest wait between re-scans when nothing rings. @default 500 with the watcher, 100 without */
  rescanMs?: number;
}

/** The rules of {@link FileTaskStoreOptions}. */
export const FILE_TASK_STORE_OPTIONS = {
  defaultLeaseMs: rules.duration({ min: 10 }),
  transitTimeoutMs: rules.duration({ min: 1 }),
  rescanMs: rules.duration({ min: 1 }),
};

const O_EXCL_CREATE = fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY;

/**
 * The file backend of the task queue: every state is a place on disk, every
 * transition an atomic create, link or rename, so several processes can share
 * one workspace with no lock server. See docs/architecture.md for the layout
 * and the argument for each contract.
 */
export class FileTaskStore implements TaskStore {
  readonly kind = 'file';
  private readonly paths: TaskPaths;
  private readonly read: FileTaskQueries;
  private readonly repair: TransitRepair;
  private readonly index: ReadyIndex;
  private readonly held = new Map<string, HeldClaim>();
  private readonly knownDirs = new Set<string>();
  private delayedNames: string[] = [];
  private delayedListedAt = -Infinity;
  private delayedStale = true;
  private readonly defaultLeaseMs: number;
  private readonly transitTimeoutMs: number;
  private readonly rescanMs: number;
  private readonly host = currentHost();

  constructor(
    readonly workspace: Workspace,
    options: FileTaskStoreOptions = {},
  ) {
    checkOptions(options, FILE_TASK_STORE_OPTIONS);
    const ws = workspace;
    this.paths = new TaskPaths(ws);
    this.read = new FileTaskQueries(ws, this.paths);
    this.index = new ReadyIndex(this.paths.d.ready);
    this.defaultLeaseMs = options.defaultLeaseMs ?? 30_000;
    this.transitTimeoutMs = options.transitTimeoutMs ?? 60_000;
    this.rescanMs = options.rescanMs ?? (ws.notifier.watching ? 500 : 100);
    this.repair = new TransitRepair(
      ws,
      this.paths,
      this.read,
      {
        newTransitPath: (id, origin) => this.newTransitPath(id, origin),
        placeNew: (spec, events) => this.placeNew(spec, events),
        evaluate: (spec, events) => this.evaluate(spec, events),
        settleDependents: (id, events) => this.settleDependents(id, events),
        createReadyMarker: (spec) => this.createReadyMarker(spec),
        afterFailedAttempt: (spec, state, attempt, entry, retryable, events, owner) =>
          this.afterFailedAttempt(spec, state, attempt, entry, retryable, events, owner),
      },
      this.transitTimeoutMs,
    );
  }

  private now(): number {
    return this.workspace.clock.now();
  }

  /** A file's text; something that is not a readable file there is quarantined and reads as missing. */
  private readEntry(file: string): string | null {
    try {
      return this.workspace.io.readText(file);
    } catch (err) {
      if (!(err instanceof ForeignEntryError)) throw err;
      const rel = path.relative(this.workspace.root, file);
      this.workspace.quarantine(file, err.kind === 'unreadable' ? `${rel} is not readable by this process` : `${rel} is ${err.kind}, not a file`);
      return null;
    }
  }

  /**
   * Runs a store operation; a full disk or a folder it may not write becomes
   * a {@link StorageError} (one line, with what it was doing) instead of a
   * raw errno error with a stack.
   */
  private guard<T>(what: string, fn: () => T): T {
    try {
      return this.workspace.io.batch(fn);
    } catch (err) {
      throw asStorageError(err, what);
    }
  }

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  private newTransitPath(id: string, origin: TransitOrigin): string {
    return this.paths.transit(id, origin, this.now(), uniqueSuffix());
  }

  // ---------------------------------------------------------------- add

  async add(specs: readonly TaskSpec[]): Promise<AddOutcome[]> {
    return this.guard(`adding ${specs.length === 1 ? 'a task' : `${specs.length} tasks`}`, () => this.addSync(specs));
  }

  private addSync(specs: readonly TaskSpec[]): AddOutcome[] {
    const outcomes: Array<AddOutcome | undefined> = new Array<AddOutcome | undefined>(specs.length);
    const remap = new Map<string, string>();
    let pending: Array<{ spec: TaskSpec; index: number }> = [];

    // Idempotency keys that are already known yield the existing task.
    specs.forEach((spec, index) => {
      const existing = spec.idempotencyKey === null ? null : this.lookupKey(spec.idempotencyKey);
      if (existing) {
        outcomes[index] = { record: existing, created: false };
        remap.set(spec.id, existing.id);
      } else {
        pending.push({ spec, index });
      }
    });
    if (remap.size > 0) {
      pending = pending.map(({ spec, index }) => ({
        spec: { ...spec, dependencies: spec.dependencies.map((dep) => remap.get(dep) ?? dep) },
        index,
      }));
    }

    this.validateBatch(pending.map((p) => p.spec));

    // Claim the idempotency keys; a process that wins one in the meantime wins the task.
    const claimedKeys: string[] = [];
    const rollbackKeys = () => claimedKeys.forEach((file) => this.workspace.io.remove(file));
    const toCreate: Array<{ spec: TaskSpec; index: number }> = [];
    for (const item of pending) {
      const key = item.spec.idempotencyKey;
      if (key !== null) {
        const file = this.paths.key(key);
        if (!this.workspace.io.publishExclusive(file, JSON.stringify({ key, id: item.spec.id, writer: this.workspace.writerId }))) {
          // Another process added this key a moment ago: its task is the one.
          const existing = this.lookupKey(key);
          if (existing) {
            outcomes[item.index] = { record: existing, created: false };
            continue;
          }
          rollbackKeys();
          throw new DuplicateTaskError(item.spec.id);
        }
        claimedKeys.push(file);
      }
      toCreate.push(item);
    }

    if (toCreate.length > 0) {
      const ids = toCreate.map((item) => item.spec.id);
      // An intent record, so recover() can finish placing the tasks if this process dies midway.
      const intent = this.newTransitPath(ids[0] as string, 'add');
      const published: string[] = [];
      let placing = false;
      try {
        this.workspace.io.writeAtomic(intent, JSON.stringify(ids));
      } catch (err) {
        rollbackKeys();
        throw err;
      }
      try {
      for (const { spec } of toCreate) {
        if (!this.workspace.io.publishExclusive(this.paths.spec(spec.id), JSON.stringify(spec))) {
          for (const file of published) this.workspace.io.remove(file);
          for (const item of toCreate) this.read.uncacheSpec(item.spec.id);
          rollbackKeys();
          this.workspace.io.remove(intent);
          throw new DuplicateTaskError(spec.id);
        }
        published.push(this.paths.spec(spec.id));
        this.read.cacheSpec(spec);
      }
      const events: EventInput[] = [];
      let anyReady = false;
      placing = true;
      for (const { spec, index } of toCreate) {
        const status = this.placeNew(spec, events);
        if (status === 'ready') anyReady = true;
        outcomes[index] = { record: recordFromSpec(spec, status), created: true };
      }
      this.workspace.io.remove(intent);
      this.workspace.events.appendMany(events);
      if (anyReady) this.workspace.notifier.ring('tasks');
      } catch (err) {
        // Before any task was placed (a full disk while publishing): take it all back, the add never happened.
        // Once placing began, the intent stays and recover() places the rest.
        if (!placing) {
          for (const file of published) safeUnlink(file);
          for (const item of toCreate) this.read.uncacheSpec(item.spec.id);
          rollbackKeys();
          safeUnlink(intent);
        }
        throw err;
      }
    }
    return outcomes as AddOutcome[];
  }

  private validateBatch(specs: readonly TaskSpec[]): void {
    const inBatch = new Map<string, TaskSpec>();
    for (const spec of specs) {
      if (inBatch.has(spec.id)) throw new DuplicateTaskError(spec.id);
      inBatch.set(spec.id, spec);
    }
    // An id that is already taken is found when its task file is published
    // (an exclusive link), which takes the whole batch back: no access(2) per task here.
    for (const spec of specs) {
      for (const dep of spec.dependencies) {
        if (dep === spec.id) throw new DependencyCycleError([spec.id, spec.id]);
        if (!inBatch.has(dep) && !this.read.exists(this.paths.spec(dep))) throw new UnknownDependencyError(spec.id, dep);
      }
    }
    // Tasks outside the batch cannot depend on tasks inside it, so only the batch can hold a cycle.
    const cycle = findCycle(inBatch);
    if (cycle) throw new DependencyCycleError(cycle);
  }

  /** An existing task for an idempotency key, waiting briefly if its adder is still writing it. */
  private lookupKey(key: string): TaskRecord | null {
    const file = this.paths.key(key);
    const mapping = this.read.readJson<{ id: string; writer?: string }>(file, 'idempotency key', keyShape);
    if (mapping === null) return null;
    if (mapping === CORRUPT) return null;
    const first = this.read.readSpec(mapping.id);
    if (first && first !== CORRUPT) return this.read.get(mapping.id) ?? recordFromSpec(first, 'pending');
    // No task yet. If the adder that wrote the key is a process of this host
    // that is gone (killed mid-add), the key is an orphan: drop it at once
    // instead of waiting for a task that will never come.
    const writer = mapping.writer ? parseWriterId(mapping.writer.split('.')[0] ?? '') : null;
    if (writer && writer.host === this.host && !isProcessAlive(writer.pid)) {
      this.workspace.io.remove(file);
      return null;
    }
    for (let i = 0; i < 200; i++) {
      const spec = this.read.readSpec(mapping.id);
      if (spec && spec !== CORRUPT) return this.read.get(mapping.id) ?? recordFromSpec(spec, 'pending');
      sleepSync(5);
    }
    // The adder died between writing the key and the task: the key is an orphan.
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st && this.now() - st.mtimeMs > 10_000) {
      this.workspace.io.remove(file);
      return null;
    }
    return null;
  }

  /** Places a freshly published task: ready, or waiting for its dependencies. */
  private placeNew(spec: TaskSpec, events: EventInput[]): TaskStatus {
    events.push({ type: 'task.added', taskId: spec.id, taskType: spec.type, dependencies: spec.dependencies });
    if (spec.dependencies.length === 0) {
      this.createReadyMarker(spec);
      events.push({ type: 'task.ready', taskId: spec.id, attempt: 1 });
      return 'ready';
    }
    for (const dep of spec.dependencies) {
      const dir = `${this.paths.d.dependents}/${dep}`;
      this.ensureDir(dir);
      this.workspace.io.createMarker(`${dir}/${spec.id}`);
    }
    this.workspace.io.createMarker(this.paths.waiting(spec.id));
    return this.evaluate(spec, events);
  }

  private createReadyMarker(spec: TaskSpec): void {
    const lane = laneOf(spec);
    this.ensureDir(`${this.paths.d.ready}/${lane}`);
    const marker = markerName(spec);
    this.workspace.io.createMarker(`${this.paths.d.ready}/${lane}/${marker}`);
    this.index.noteAdded(lane, marker);
  }

  /**
   * Decides a waiting task's fate from its dependencies: promote it when they
   * allow, block it when one failed for good, or leave it waiting. Safe to run
   * from several processes at once: the waiting marker moves only once.
   */
  private evaluate(spec: TaskSpec, events: EventInput[]): TaskStatus {
    let unfinished = false;
    let failedDep: { id: string; status: string } | null = null;
    for (const dep of spec.dependencies) {
      const status = this.read.finalStatusOf(dep);
      if (status === null) unfinished = true;
      else if (status !== 'completed' && !failedDep) failedDep = { id: dep, status };
    }
    // A deferred task also waits for its continuation's dependencies, whatever their outcome.
    for (const dep of this.read.readState(spec.id)?.extraDependencies ?? []) {
      if (this.read.finalStatusOf(dep) === null) unfinished = true;
    }
    if (failedDep && !spec.allowFailed) {
      this.block(spec, `dependency "${failedDep.id}" ${failedDep.status}`, events);
      return 'blocked';
    }
    if (unfinished) return 'pending';
    const lane = laneOf(spec);
    this.ensureDir(`${this.paths.d.ready}/${lane}`);
    const marker = markerName(spec);
    if (this.workspace.io.move(this.paths.waiting(spec.id), `${this.paths.d.ready}/${lane}/${marker}`)) {
      this.index.noteAdded(lane, marker);
      events.push({ type: 'task.ready', taskId: spec.id });
      return 'ready';
    }
    return 'pending';
  }

  private block(spec: TaskSpec, reason: string, events: EventInput[]): void {
    const transit = this.newTransitPath(spec.id, 'block');
    if (!this.workspace.io.move(this.paths.waiting(spec.id), transit)) return;
    const state = this.read.readState(spec.id);
    const record: FinalFile = {
      status: 'blocked',
      attempt: state?.attempt ?? 1,
      owner: null,
      errors: state?.errors ?? [],
      feedback: state?.feedback ?? [],
      reason,
      finishedAt: this.now(),
    };
    this.workspace.io.writeAtomic(this.paths.final('blocked', spec.id), JSON.stringify(record));
    if (state) this.workspace.io.remove(this.paths.state(spec.id));
    events.push({ type: 'task.blocked', taskId: spec.id, reason });
    this.settleDependents(spec.id, events);
    this.workspace.io.remove(transit);
  }

  /** After a task reached a final state: promote or block each dependent that waits on it. */
  private settleDependents(id: string, events: EventInput[]): void {
    for (const child of listDir(`${this.paths.d.dependents}/${id}`)) {
      if (!this.read.exists(this.paths.waiting(child))) continue;
      const spec = this.read.readSpec(child);
      if (!spec || spec === CORRUPT) continue;
      this.evaluate(spec, events);
    }
  }

  // ---------------------------------------------------------------- claim

  async claim(request: ClaimRequest & { leaseMs: number }): Promise<ClaimGrant | null> {
    return this.guard('claiming a task', () => this.claimSync(request));
  }

  /** The lanes a filter accepts, kept while the lane list and the filter stay the same (a worker asks with one filter). */
  private accepted: { lanes: string[]; key: string; result: string[] } | null = null;

  private acceptedLanes(filter: ClaimRequest, now: number): string[] {
    const known = this.index.knownLanes(now);
    const acceptUnrequired = filter.acceptUnrequired ?? true;
    const key = `${filter.types?.join('\0') ?? '*'}\n${filter.capabilities?.join('\0') ?? ''}\n${acceptUnrequired}`;
    if (this.accepted?.lanes === known && this.accepted.key === key) return this.accepted.result;
    const types = filter.types ? new Set(filter.types) : null;
    const caps = new Set(filter.capabilities ?? []);
    const result = known.filter((lane) => {
      const { type, requires } = parseLane(lane);
      if (types && !types.has(type)) return false;
      return requires === null ? acceptUnrequired : caps.has(requires);
    });
    this.accepted = { lanes: known, key, result };
    return result;
  }

  /**
   * Claims up to `max` of the best ready tasks in one pass over the cached
   * lane listings (a worker with several slots), best first; their
   * `task.claimed` events go out in one write. Each is still its own
   * O_CREAT|O_EXCL claim. If a claim or the event write fails (a full disk),
   * the claims of the batch are undone, so no task is held without its event.
   */
  async claimMany(request: ClaimRequest & { leaseMs: number }, max: number): Promise<ClaimGrant[]> {
    return this.guard(max === 1 ? 'claiming a task' : 'claiming tasks', () => this.claimBatch(request, max));
  }

  private claimSync(request: ClaimRequest & { leaseMs: number }): ClaimGrant | null {
    return this.claimBatch(request, 1)[0] ?? null;
  }

  private claimBatch(request: ClaimRequest & { leaseMs: number }, max: number): ClaimGrant[] {
    const grants: ClaimGrant[] = [];
    const events: EventInput[] = [];
    try {
      this.claimInto(request, max, grants, events);
      this.workspace.events.appendMany(events);
    } catch (err) {
      this.undoClaims(grants);
      throw err;
    }
    return grants;
  }

  /** Puts claims just made back: the task is ready again and the claim file gone. */
  private undoClaims(grants: readonly ClaimGrant[]): void {
    for (const grant of grants) {
      const held = this.held.get(grant.ref.token);
      if (!held) continue;
      this.held.delete(held.token);
      fs.closeSync(held.fd);
      this.createReadyMarker(held.spec);
      safeUnlink(this.paths.claim(held.taskId));
    }
  }

  private claimInto(request: ClaimRequest & { leaseMs: number }, max: number, grants: ClaimGrant[], events: EventInput[]): void {
    const now = this.now();
    this.promoteDueDelayed(now);
    const lanes = this.acceptedLanes(request, now);
    const relisted = new Set<string>();
    while (grants.length < max) {
      let best: string | undefined;
      let bestLane: ReturnType<ReadyIndex['lane']> | undefined;
      for (const name of lanes) {
        const lane = this.index.lane(name);
        if (!relisted.has(name) && lane.shouldRelist(now)) {
          lane.relist(now);
          relisted.add(name);
        }
        const head = lane.head();
        if (head !== undefined && (best === undefined || head < best)) {
          best = head;
          bestLane = lane;
        }
      }
      if (best === undefined || bestLane === undefined) return;
      bestLane.advance();
      const grant = this.tryClaim(`${bestLane.dir}/${best}`, idFromMarker(best), request, now, bestLane.contention > 0, events);
      if (grant === 'taken') {
        bestLane.contention = Math.min(16, bestLane.contention + 2);
        continue;
      }
      if (bestLane.contention > 0) bestLane.contention -= 1;
      if (grant) grants.push(grant);
    }
  }

  /**
   * The claim protocol: O_CREAT|O_EXCL on `claims/<id>` excludes every other
   * claimer; removing the ready marker confirms the task was still ready.
   * 'taken' means another claimer got there first. The `task.claimed` event
   * is added to `events`, which the caller writes (and undoes the claim if
   * that fails).
   */
  private tryClaim(
    markerPath: string,
    id: string,
    request: ClaimRequest & { leaseMs: number },
    now: number,
    contended: boolean,
    events: EventInput[],
  ): ClaimGrant | null | 'taken' {
    // Under contention most cached entries are already taken: one cheap check skips them.
    if (contended && !this.read.exists(markerPath)) return 'taken';
    const claimPath = this.paths.claim(id);
    let fd: number;
    try {
      fd = fs.openSync(claimPath, O_EXCL_CREATE, 0o644);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return 'taken';
      throw err;
    }
    // The claim's content is written before the ready marker is taken, so a
    // write that fails (a full disk) leaves the task ready and no empty or
    // torn claim behind: the claim file is removed and the error goes up.
    let content: ClaimFile;
    let claimText: string;
    let claimBytes: number;
    let spec: TaskSpec | null | typeof CORRUPT;
    let state: StateFile | null;
    let ino: number;
    try {
      spec = this.read.readSpec(id, { cache: false });
      if (spec === null) {
        // A marker with no task behind it (a stray file): not a task, nothing to fail.
        fs.closeSync(fd);
        safeUnlink(claimPath);
        if (this.read.exists(markerPath)) this.workspace.quarantine(markerPath, `ready marker ${path.basename(markerPath)} names no task (no tasks/${id}.json)`);
        return 'taken';
      }
      state = spec === CORRUPT ? null : this.read.readState(id);
      const attempt = state?.attempt ?? 1;
      const leaseMs = (spec !== CORRUPT ? spec.leaseMs : null) ?? request.leaseMs;
      content = {
        taskId: id,
        agentId: request.agentId,
        token: `${attempt}-${uniqueSuffix()}`,
        attempt,
        leaseMs,
        claimedAt: now,
        pid: process.pid,
        host: this.host,
      };
      // The lease expiry is claimedAt + leaseMs from the content until the first
      // heartbeat moves the file's mtime past it (see reapSync).
      claimText = JSON.stringify(content);
      claimBytes = writeFully(fd, claimText);
      if (this.workspace.durable) fs.fsyncSync(fd);
      ino = fs.fstatSync(fd).ino;
    } catch (err) {
      fs.closeSync(fd);
      safeUnlink(claimPath);
      throw err;
    }
    if (!this.workspace.io.remove(markerPath)) {
      fs.closeSync(fd);
      safeUnlink(claimPath);
      return 'taken';
    }
    if (spec === CORRUPT) {
      fs.closeSync(fd);
      this.failUnreadable(id, claimPath);
      return null;
    }
    this.workspace.io.dirChanged(this.paths.d.claims);
    const { token, attempt, leaseMs } = content;
    const leaseUntil = now + leaseMs;
    this.held.set(token, { taskId: id, token, agentId: request.agentId, fd, ino, attempt, spec, state, leaseUntil, text: claimText, bytes: claimBytes });
    events.push({ type: 'task.claimed', taskId: id, agentId: request.agentId, attempt, leaseUntil });
    const task = recordFromSpec(spec, 'claimed', state);
    task.owner = request.agentId;
    task.leaseUntil = leaseUntil;
    return { task, ref: { taskId: id, token }, agentId: request.agentId, leaseMs, leaseUntil };
  }

  /** A ready task whose file cannot be read any more: it fails for good, with the reason. */
  private failUnreadable(id: string, claimPath: string): void {
    const events: EventInput[] = [];
    const record: FinalFile = {
      status: 'failed',
      attempt: 1,
      owner: null,
      errors: [],
      feedback: [],
      reason: `the task file tasks/${id}.json is missing or corrupt (see quarantine/)`,
      finishedAt: this.now(),
    };
    this.workspace.io.writeAtomic(this.paths.final('failed', id), JSON.stringify(record));
    events.push({ type: 'task.failed', taskId: id, reason: record.reason ?? 'failed' });
    this.settleDependents(id, events);
    safeUnlink(claimPath);
    this.workspace.events.appendMany(events);
  }

  private promoteDueDelayed(now: number): void {
    if (this.delayedStale || now - this.delayedListedAt > 1000) {
      this.delayedNames = listDir(this.paths.d.delayed).sort();
      this.delayedListedAt = now;
      this.delayedStale = false;
    }
    const events: EventInput[] = [];
    while (this.delayedNames.length > 0) {
      const name = this.delayedNames[0] as string;
      const parsed = parseDelayedName(name);
      if (parsed && parsed.notBefore > now) break;
      this.delayedNames.shift();
      if (!parsed || !isValidId(idFromMarker(parsed.marker))) {
        // A stray file: not a delayed task. Out of the way, so it neither blocks nor counts.
        this.workspace.quarantine(`${this.paths.d.delayed}/${name}`, `delayed/${name} is not a delayed task marker`);
        continue;
      }
      this.ensureDir(`${this.paths.d.ready}/${parsed.lane}`);
      if (this.workspace.io.move(`${this.paths.d.delayed}/${name}`, `${this.paths.d.ready}/${parsed.lane}/${parsed.marker}`)) {
        this.index.noteAdded(parsed.lane, parsed.marker);
        events.push({ type: 'task.ready', taskId: idFromMarker(parsed.marker), reason: 'backoff elapsed' });
      }
    }
    if (events.length > 0) {
      this.workspace.events.appendMany(events);
      this.workspace.notifier.ring('tasks');
    }
  }

  private nextDueAt(): number | null {
    const first = this.delayedNames[0];
    return first ? (parseDelayedName(first)?.notBefore ?? null) : null;
  }

  async hasWork(filter: ClaimRequest): Promise<HasWorkResult> {
    const now = this.now();
    this.promoteDueDelayed(now);
    let ready = false;
    for (const name of this.acceptedLanes(filter, now)) {
      const lane = this.index.lane(name);
      if (lane.shouldRelist(now)) lane.relist(now);
      if (!lane.exhausted) {
        ready = true;
        break;
      }
    }
    return { ready, nextDueAt: this.nextDueAt() };
  }

  // ---------------------------------------------------------------- ownership

  /**
   * Takes the claim out of `claims/` into `transit/`: the commit point of every
   * transition a holder makes. The rename succeeds for exactly one caller, and
   * the inode check proves it moved its own claim and not a newer holder's;
   * if not, the claim is put back and the caller gets LeaseLostError.
   */
  private takeOwnClaim(ref: ClaimRef, origin: TransitOrigin): { transit: string; claim: HeldClaim } {
    const held = this.held.get(ref.token);
    if (!held) return this.takeForeignClaim(ref, origin);
    const claimPath = this.paths.claim(ref.taskId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const transit = this.newTransitPath(ref.taskId, origin);
      if (!this.workspace.io.move(claimPath, transit)) {
        // No claim there: lost, or another holder's failed commit is putting one back right now.
        sleepSync(2);
        continue;
      }
      const moved = fs.statSync(transit, { throwIfNoEntry: false });
      if (moved?.ino === held.ino) return { transit, claim: held };
      // A newer holder's claim: put it back untouched.
      this.restoreClaim(transit, claimPath);
      break;
    }
    this.dropHeld(held);
    throw new LeaseLostError(ref.taskId, ref.token, this.lossReason(ref.taskId));
  }

  /** A claim made by another process (or before a restart): ownership is checked by token. */
  private takeForeignClaim(ref: ClaimRef, origin: TransitOrigin): { transit: string; claim: HeldClaim } {
    const claimPath = this.paths.claim(ref.taskId);
    const content = parseClaim(this.readEntry(claimPath));
    if (!content || content.token !== ref.token) {
      throw new LeaseLostError(ref.taskId, ref.token, this.lossReason(ref.taskId));
    }
    const transit = this.newTransitPath(ref.taskId, origin);
    if (!this.workspace.io.move(claimPath, transit)) {
      throw new LeaseLostError(ref.taskId, ref.token, this.lossReason(ref.taskId));
    }
    const moved = parseClaim(this.readEntry(transit));
    if (!moved || moved.token !== ref.token) {
      this.restoreClaim(transit, claimPath);
      throw new LeaseLostError(ref.taskId, ref.token, this.lossReason(ref.taskId));
    }
    const spec = this.read.readSpec(ref.taskId);
    if (!spec || spec === CORRUPT) throw new TaskNotFoundError(ref.taskId);
    return {
      transit,
      claim: {
        taskId: ref.taskId,
        token: ref.token,
        agentId: moved.agentId,
        fd: -1,
        ino: 0,
        attempt: moved.attempt,
        spec,
        state: this.read.readState(ref.taskId),
        leaseUntil: 0,
      },
    };
  }

  /**
   * Puts a final record in place. With our own claim's descriptor the record
   * is written into the claim file we just moved to transit/ and linked into
   * place (the link is the atomic commit); the transit entry stays until the
   * dependents are settled, so recover() can finish the job after a crash.
   * (A rename from transit/ would save the later unlink, but a rename across
   * folders takes the filesystem's rename lock, and a second one per task
   * made 4 processes on ext4 about 5% slower.)
   */
  private publishFinal(claim: HeldClaim, transit: string, target: string, text: string): void {
    if (claim.fd < 0) {
      this.workspace.io.writeAtomic(target, text);
      return;
    }
    // A record shorter than the claim it overwrites is padded with spaces (JSON
    // allows trailing white space), which saves the ftruncate(2).
    const data = Buffer.from(text, 'utf8');
    const pad = (claim.bytes ?? Infinity) - data.length;
    const bytes = writeFully(claim.fd, pad > 0 && pad <= 4096 ? Buffer.concat([data, Buffer.alloc(pad, 0x20)]) : data, 0);
    if (bytes < (claim.bytes ?? Infinity)) fs.ftruncateSync(claim.fd, bytes);
    if (this.workspace.durable) fs.fsyncSync(claim.fd);
    fs.linkSync(transit, target);
    this.workspace.io.dirChanged(path.dirname(target));
  }

  /**
   * Takes our claim into transit/ and runs a transition from there. If it
   * fails before its commit (a full disk, a folder it may not write), the
   * claim is put back as it was, so the holder keeps the task and can try
   * again; nothing half-done is visible.
   */
  private commitOwn<T>(ref: ClaimRef, origin: TransitOrigin, what: string, fn: (transit: string, claim: HeldClaim) => T): T {
    return this.guard(what, () => {
      const { transit, claim } = this.takeOwnClaim(ref, origin);
      try {
        return fn(transit, claim);
      } catch (err) {
        this.putClaimBack(ref.taskId, transit, claim);
        throw err;
      }
    });
  }

  private putClaimBack(id: string, transit: string, claim: HeldClaim): void {
    if (!this.read.exists(transit)) return;
    if (this.read.finalStatusOf(id) !== null || this.read.exists(this.paths.final('review', id))) return; // committed
    if (claim.fd >= 0 && claim.text !== undefined) {
      try {
        const bytes = writeFully(claim.fd, claim.text, 0);
        fs.ftruncateSync(claim.fd, bytes);
        claim.bytes = bytes;
      } catch {
        // Still full: the claim goes back with what it holds; its mtime (our heartbeat) keeps the lease,
        // and our next commit rewrites it whole.
      }
    }
    try {
      this.restoreClaim(transit, this.paths.claim(id));
      if (claim.fd >= 0) this.held.set(claim.token, claim);
    } catch {
      // The transit entry stays; recover() requeues the task after the transit timeout.
    }
  }

  private restoreClaim(transit: string, claimPath: string): void {
    try {
      fs.linkSync(transit, claimPath);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    safeUnlink(transit);
  }

  private lossReason(id: string): string {
    if (this.read.exists(this.paths.final('cancelled', id))) return 'the task was cancelled';
    return 'the lease expired and the task was taken over';
  }

  private dropHeld(held: HeldClaim): void {
    if (held.fd >= 0) {
      try {
        fs.closeSync(held.fd);
      } catch {
        // already closed
      }
    }
    this.held.delete(held.token);
  }

  async heartbeat(ref: ClaimRef, leaseMs: number): Promise<number> {
    const held = this.held.get(ref.token);
    const now = this.now();
    const leaseUntil = now + leaseMs;
    const claimPath = this.paths.claim(ref.taskId);
    if (!held) {
      const content = parseClaim(this.readEntry(claimPath));
      if (!content || content.token !== ref.token) throw new LeaseLostError(ref.taskId, ref.token, this.lossReason(ref.taskId));
      fs.utimesSync(claimPath, now / 1000, leaseUntil / 1000);
      return leaseUntil;
    }
    fs.futimesSync(held.fd, now / 1000, leaseUntil / 1000);
    for (let attempt = 0; attempt < 3; attempt++) {
      const st = fs.statSync(claimPath, { throwIfNoEntry: false });
      if (st?.ino === held.ino) {
        held.leaseUntil = leaseUntil;
        return leaseUntil;
      }
      if (st) break;
      sleepSync(2);
    }
    this.dropHeld(held);
    throw new LeaseLostError(ref.taskId, ref.token, this.lossReason(ref.taskId));
  }

  // ---------------------------------------------------------------- finish

  async complete(ref: ClaimRef, result: unknown, options: { review?: boolean } = {}): Promise<TaskRecord> {
    return this.commitOwn(ref, 'complete', `recording the result of task "${ref.taskId}"`, (transit, claim) => {
      const id = ref.taskId;
      const state = claim.state;
      const status: FinalStatus = options.review ? 'review' : 'completed';
      const record: FinalFile = {
        status,
        attempt: claim.attempt,
        owner: claim.agentId,
        result,
        errors: state?.errors ?? [],
        feedback: state?.feedback ?? [],
        reason: null,
        finishedAt: this.now(),
        budgetStart: state?.budgetStart ?? 0,
        ...(state?.extraDependencies ? { extraDependencies: state.extraDependencies } : {}),
      };
      this.publishFinal(claim, transit, this.paths.final(status, id), JSON.stringify(record));
      if (state) this.workspace.io.remove(this.paths.state(id));
      this.dropHeld(claim);
      const events: EventInput[] = [
        {
          type: options.review ? 'task.review' : 'task.completed',
          taskId: id,
          agentId: claim.agentId,
          attempt: claim.attempt,
        },
      ];
      if (!options.review) this.settleDependents(id, events);
      this.workspace.io.remove(transit);
      this.workspace.events.appendMany(events);
      if (events.length > 1) this.workspace.notifier.ring('tasks');
      return recordFromFinal(claim.spec, record);
    });
  }

  async fail(ref: ClaimRef, error: FailInput): Promise<TaskRecord> {
    return this.commitOwn(ref, 'fail', `recording a failed attempt of task "${ref.taskId}"`, (transit, claim) => {
      const entry: AttemptError = {
        attempt: claim.attempt,
        message: error.message,
        agentId: claim.agentId,
        at: this.now(),
        kind: error.kind ?? 'error',
      };
      const events: EventInput[] = [];
      const record = this.afterFailedAttempt(claim.spec, claim.state, claim.attempt, entry, error.retryable !== false, events, claim.agentId);
      this.dropHeld(claim);
      this.workspace.io.remove(transit);
      this.workspace.events.appendMany(events);
      this.workspace.notifier.ring('tasks');
      return record;
    });
  }

  /** Retry after backoff while the attempt budget lasts, else fail for good (dependents follow). */
  private afterFailedAttempt(
    spec: TaskSpec,
    state: StateFile | null,
    attempt: number,
    entry: AttemptError,
    retryable: boolean,
    events: EventInput[],
    owner: string | null,
  ): TaskRecord {
    const now = this.now();
    const errors = [...(state?.errors ?? []), entry];
    const budgetStart = state?.budgetStart ?? 0;
    const failures = errors.filter((e) => e.attempt > budgetStart).length;
    if (retryable && failures < spec.maxAttempts) {
      // A lost lease says nothing about the task itself: it goes straight back to ready.
      const delay = entry.kind === 'lease_expired' ? 0 : backoffDelay(spec.retry, failures);
      const next: StateFile = {
        attempt: attempt + 1,
        errors,
        feedback: state?.feedback ?? [],
        budgetStart,
        notBefore: delay > 0 ? now + delay : null,
      };
      this.workspace.io.writeAtomic(this.paths.state(spec.id), JSON.stringify(next));
      if (next.notBefore === null) {
        this.createReadyMarker(spec);
      } else {
        const name = delayedName(next.notBefore, laneOf(spec), markerName(spec));
        this.workspace.io.createMarker(`${this.paths.d.delayed}/${name}`);
        this.delayedStale = true;
      }
      // One literal per type: a union-typed discriminant is past what TypeScript checks against the event map.
      const retried = { taskId: spec.id, attempt: attempt + 1, delayMs: delay, error: entry.message };
      events.push(
        entry.kind === 'lease_expired'
          ? { type: 'task.requeued', ...retried, reason: 'lease expired', previousOwner: owner }
          : { type: 'task.retried', ...retried },
      );
      const record = recordFromSpec(spec, next.notBefore === null ? 'ready' : 'delayed', next);
      return record;
    }
    const record: FinalFile = {
      status: 'failed',
      attempt,
      owner,
      errors,
      feedback: state?.feedback ?? [],
      reason: retryable
        ? `failed ${failures} time${failures === 1 ? '' : 's'} (maxAttempts ${spec.maxAttempts}); last error: ${entry.message}`
        : entry.message,
      finishedAt: now,
      budgetStart,
    };
    this.workspace.io.writeAtomic(this.paths.final('failed', spec.id), JSON.stringify(record));
    if (state) this.workspace.io.remove(this.paths.state(spec.id));
    events.push({ type: 'task.failed', taskId: spec.id, attempt, agentId: owner ?? undefined, reason: record.reason ?? 'failed' });
    this.settleDependents(spec.id, events);
    return recordFromFinal(spec, record);
  }

  async release(ref: ClaimRef, options: { feedback?: string } = {}): Promise<TaskRecord> {
    return this.commitOwn(ref, 'release', `handing back task "${ref.taskId}"`, (transit, claim) => {
      let state = claim.state;
      if (options.feedback !== undefined) {
        state = {
          attempt: claim.attempt,
          errors: state?.errors ?? [],
          feedback: [...(state?.feedback ?? []), options.feedback],
          budgetStart: state?.budgetStart ?? 0,
          notBefore: null,
        };
        this.workspace.io.writeAtomic(this.paths.state(ref.taskId), JSON.stringify(state));
      }
      this.createReadyMarker(claim.spec);
      this.dropHeld(claim);
      this.workspace.io.remove(transit);
      this.workspace.events.append({
        type: 'task.released',
        taskId: ref.taskId,
        agentId: claim.agentId,
        attempt: claim.attempt,
        ...(options.feedback !== undefined ? { feedback: options.feedback } : {}),
      });
      this.workspace.notifier.ring('tasks');
      return recordFromSpec(claim.spec, 'ready', state);
    });
  }

  async defer(ref: ClaimRef, dependencies: readonly string[]): Promise<TaskRecord> {
    return this.guard(`deferring task "${ref.taskId}"`, () => {
      for (const dep of dependencies) {
        if (!this.read.exists(this.paths.spec(dep))) throw new UnknownDependencyError(ref.taskId, dep);
      }
      const cycle = this.pathBackTo(ref.taskId, dependencies);
      if (cycle) throw new DependencyCycleError(cycle);
      return this.commitOwn(ref, 'release', `deferring task "${ref.taskId}"`, (transit, claim) => {
      const id = ref.taskId;
      const state: StateFile = {
        attempt: claim.attempt,
        errors: claim.state?.errors ?? [],
        feedback: claim.state?.feedback ?? [],
        budgetStart: claim.state?.budgetStart ?? 0,
        notBefore: null,
        extraDependencies: union(claim.state?.extraDependencies ?? [], dependencies),
      };
      this.workspace.io.writeAtomic(this.paths.state(id), JSON.stringify(state));
      for (const dep of dependencies) {
        const dir = `${this.paths.d.dependents}/${dep}`;
        this.ensureDir(dir);
        this.workspace.io.createMarker(`${dir}/${id}`);
      }
      this.workspace.io.createMarker(this.paths.waiting(id));
      this.dropHeld(claim);
      this.workspace.io.remove(transit);
      const events: EventInput[] = [
        { type: 'task.deferred', taskId: id, agentId: claim.agentId, attempt: claim.attempt, dependencies: [...dependencies] },
      ];
      const status = this.evaluate(claim.spec, events);
      this.workspace.events.appendMany(events);
      if (status === 'ready') this.workspace.notifier.ring('tasks');
      return recordFromSpec(claim.spec, status, state);
      });
    });
  }

  /** A dependency path from one of `from` back to `target` (which would close a cycle), or null. */
  private pathBackTo(target: string, from: readonly string[]): string[] | null {
    const seen = new Set<string>();
    const stack: Array<{ id: string; path: string[] }> = from.map((id) => ({ id, path: [target, id] }));
    while (stack.length > 0) {
      const { id, path } = stack.pop()!;
      if (id === target) return path;
      if (seen.has(id)) continue;
      seen.add(id);
      const spec = this.read.readSpec(id);
      if (!spec || spec === CORRUPT) continue;
      const deps = union(spec.dependencies, this.read.readState(id)?.extraDependencies ?? []);
      for (const dep of deps) stack.push({ id: dep, path: [...path, dep] });
    }
    return null;
  }

  // ---------------------------------------------------------------- review

  private takeFinal(status: FinalStatus, id: string, origin: TransitOrigin): { transit: string; record: FinalFile } | null {
    const transit = this.newTransitPath(id, origin);
    if (!this.workspace.io.move(this.paths.final(status, id), transit)) return null;
    const text = this.readEntry(transit);
    let record: FinalFile;
    try {
      record = JSON.parse(text ?? '') as FinalFile;
    } catch {
      this.workspace.quarantine(transit, `${status} record of task "${id}" is not valid JSON`);
      return null;
    }
    return { transit, record };
  }

  async approve(taskId: string, options: { agentId?: string } = {}): Promise<TaskRecord> {
    return this.guard(`approving task "${taskId}"`, () => {
      const spec = this.requireSpec(taskId);
      const taken = this.takeFinal('review', taskId, 'approve');
      if (!taken) throw this.stateError(taskId, 'approve', 'it is not waiting for review');
      const record: FinalFile = { ...taken.record, status: 'completed', finishedAt: this.now() };
      if (options.agentId) record.approvedBy = options.agentId;
      this.workspace.io.writeAtomic(this.paths.final('completed', taskId), JSON.stringify(record));
      const events: EventInput[] = [
        { type: 'task.completed', taskId, agentId: record.owner ?? undefined, attempt: record.attempt, approvedBy: options.agentId },
      ];
      this.settleDependents(taskId, events);
      this.workspace.io.remove(taken.transit);
      this.workspace.events.appendMany(events);
      if (events.length > 1) this.workspace.notifier.ring('tasks');
      return recordFromFinal(spec, record);
    });
  }

  async reopen(taskId: string, feedback: string): Promise<TaskRecord> {
    return this.guard(`reopening task "${taskId}"`, () => {
      const spec = this.requireSpec(taskId);
      const taken = this.takeFinal('review', taskId, 'reopen');
      if (!taken) throw this.stateError(taskId, 'reopen', 'it is not waiting for review');
      const state: StateFile = {
        attempt: taken.record.attempt + 1,
        errors: taken.record.errors,
        feedback: [...taken.record.feedback, feedback],
        budgetStart: taken.record.budgetStart ?? 0,
        notBefore: null,
      };
      this.workspace.io.writeAtomic(this.paths.state(taskId), JSON.stringify(state));
      this.createReadyMarker(spec);
      this.workspace.io.remove(taken.transit);
      this.workspace.events.append({ type: 'task.reopened', taskId, attempt: state.attempt, feedback });
      this.workspace.notifier.ring('tasks');
      return recordFromSpec(spec, 'ready', state);
    });
  }

  async reject(taskId: string, reason: string): Promise<TaskRecord> {
    return this.guard(`rejecting task "${taskId}"`, () => {
      const spec = this.requireSpec(taskId);
      const taken = this.takeFinal('review', taskId, 'approve');
      if (!taken) throw this.stateError(taskId, 'reject', 'it is not waiting for review');
      const record: FinalFile = { ...taken.record, status: 'failed', reason, finishedAt: this.now() };
      delete record.result;
      this.workspace.io.writeAtomic(this.paths.final('failed', taskId), JSON.stringify(record));
      const events: EventInput[] = [{ type: 'task.failed', taskId, attempt: record.attempt, reason }];
      this.settleDependents(taskId, events);
      this.workspace.io.remove(taken.transit);
      this.workspace.events.appendMany(events);
      this.workspace.notifier.ring('tasks');
      return recordFromFinal(spec, record);
    });
  }

  // ---------------------------------------------------------------- admin

  async cancel(taskId: string, reason: string): Promise<TaskRecord> {
    return this.guard(`cancelling task "${taskId}"`, () => {
      const spec = this.requireSpec(taskId);
      let transit: string | null = null;
      let holder: ClaimFile | null = null;
      let fromReview: FinalFile | null = null;
      for (let round = 0; round < 5 && transit === null; round++) {
        const final = this.read.finalStatusOf(taskId);
        if (final) throw this.stateError(taskId, 'cancel', `it is already ${final}`);
        const target = this.newTransitPath(taskId, 'cancel');
        const state = this.read.readState(taskId);
        const candidates = [this.paths.waiting(taskId), this.paths.ready(spec), this.paths.claim(taskId)];
        if (state?.notBefore != null) {
          candidates.push(`${this.paths.d.delayed}/${delayedName(state.notBefore, laneOf(spec), markerName(spec))}`);
        }
        for (const from of candidates) {
          if (this.workspace.io.move(from, target)) {
            transit = target;
            if (from === this.paths.claim(taskId)) holder = parseClaim(this.readEntry(target));
            break;
          }
        }
        if (transit === null) {
          const taken = this.takeFinal('review', taskId, 'cancel');
          if (taken) {
            transit = taken.transit;
            fromReview = taken.record;
          }
        }
        if (transit === null) sleepSync(2);
      }
      if (transit === null) throw this.stateError(taskId, 'cancel', 'it is changing state; try again');
      const state = this.read.readState(taskId);
      const record: FinalFile = {
        status: 'cancelled',
        attempt: fromReview?.attempt ?? holder?.attempt ?? state?.attempt ?? 1,
        owner: holder?.agentId ?? fromReview?.owner ?? null,
        errors: fromReview?.errors ?? state?.errors ?? [],
        feedback: fromReview?.feedback ?? state?.feedback ?? [],
        reason,
        finishedAt: this.now(),
      };
      this.workspace.io.writeAtomic(this.paths.final('cancelled', taskId), JSON.stringify(record));
      if (state) this.workspace.io.remove(this.paths.state(taskId));
      const events: EventInput[] = [{ type: 'task.cancelled', taskId, reason, agentId: holder?.agentId }];
      this.settleDependents(taskId, events);
      this.workspace.io.remove(transit);
      this.workspace.events.appendMany(events);
      this.workspace.notifier.ring('tasks');
      return recordFromFinal(spec, record);
    });
  }

  async retry(taskId: string): Promise<TaskRecord> {
    return this.guard(`retrying task "${taskId}"`, () => {
      const spec = this.requireSpec(taskId);
      const events: EventInput[] = [];
      const record = this.retrySync(spec, events);
      if (!record) {
        const status = this.read.get(taskId)?.status ?? 'unknown';
        throw this.stateError(taskId, 'retry', `it is ${status}; only failed, blocked or cancelled tasks can be retried`);
      }
      this.workspace.events.appendMany(events);
      this.workspace.notifier.ring('tasks');
      return record;
    });
  }

  private retrySync(spec: TaskSpec, events: EventInput[]): TaskRecord | null {
    let taken: { transit: string; record: FinalFile } | null = null;
    for (const status of ['failed', 'blocked', 'cancelled'] as const) {
      taken = this.takeFinal(status, spec.id, 'retry');
      if (taken) break;
    }
    if (!taken) return null;
    const state: StateFile = {
      attempt: taken.record.attempt + 1,
      errors: taken.record.errors,
      feedback: taken.record.feedback,
      budgetStart: taken.record.attempt,
      notBefore: null,
    };
    this.workspace.io.writeAtomic(this.paths.state(spec.id), JSON.stringify(state));
    events.push({ type: 'task.retried', taskId: spec.id, attempt: state.attempt, manual: true });
    let status: TaskStatus;
    if (spec.dependencies.length === 0) {
      this.createReadyMarker(spec);
      events.push({ type: 'task.ready', taskId: spec.id, attempt: state.attempt });
      status = 'ready';
    } else {
      this.workspace.io.createMarker(this.paths.waiting(spec.id));
      status = this.evaluate(spec, events);
    }
    this.workspace.io.remove(taken.transit);
    // Dependents blocked because of this task get another chance too.
    for (const child of listDir(`${this.paths.d.dependents}/${spec.id}`)) {
      if (!this.read.exists(this.paths.final('blocked', child))) continue;
      const childSpec = this.read.readSpec(child);
      if (childSpec && childSpec !== CORRUPT) this.retrySync(childSpec, events);
    }
    return recordFromSpec(spec, status, state);
  }

  private requireSpec(id: string): TaskSpec {
    const spec = this.read.readSpec(id);
    if (!spec || spec === CORRUPT) throw new TaskNotFoundError(id);
    return spec;
  }

  private stateError(id: string, action: string, why: string): TaskStateError {
    const status = this.read.get(id)?.status ?? 'unknown';
    return new TaskStateError(id, status, `cannot ${action} task "${id}": ${why}`);
  }

  // ---------------------------------------------------------------- reads

  async get(taskId: string): Promise<TaskRecord | null> {
    return this.read.get(taskId);
  }

  async claimRefOf(taskId: string): Promise<(ClaimRef & { agentId: string }) | null> {
    return this.read.claimRefOf(taskId);
  }

  async list(filter: ListFilter = {}): Promise<TaskRecord[]> {
    return this.read.list(filter);
  }

  async counts(): Promise<TaskCounts> {
    return this.read.counts();
  }

  // ---------------------------------------------------------------- maintenance

  async reap(): Promise<ReapReport> {
    return this.guard('taking over expired leases', () => this.reapSync());
  }

  private reapSync(): ReapReport {
    const report: ReapReport = { requeued: [], failed: [], abandoned: [], repaired: [] };
    const now = this.now();
    const events: EventInput[] = [];
    for (const id of listDir(this.paths.d.claims)) {
      const claimPath = this.paths.claim(id);
      const st = fs.lstatSync(claimPath, { throwIfNoEntry: false });
      if (!st) continue;
      if (!st.isFile() || !isValidId(id)) {
        // A folder, symlink or FIFO (or a stray name) where a claim should be: out of the way, so it blocks no claim.
        this.workspace.quarantine(claimPath, `claims/${id} is ${st.isFile() ? 'not named after a task id' : describeEntry(st)}, not a claim`);
        continue;
      }
      if (st.mtimeMs > now) continue;
      const content = parseClaim(this.readEntry(claimPath));
      const expiry = content
        ? Math.max(st.mtimeMs, content.claimedAt + content.leaseMs)
        : st.mtimeMs + this.defaultLeaseMs;
      if (expiry > now) continue;
      // Take the stale claim over: only one reaper's rename succeeds, and the
      // re-check proves it moved the claim it judged, not a fresh one.
      const transit = this.newTransitPath(id, 'reap');
      if (!this.workspace.io.move(claimPath, transit)) continue;
      const moved = fs.statSync(transit, { throwIfNoEntry: false });
      if (!moved || moved.ino !== st.ino || moved.mtimeMs !== st.mtimeMs) {
        this.restoreClaim(transit, claimPath);
        continue;
      }
      this.requeueExpired(id, content, transit, report, events);
    }
    this.workspace.events.appendMany(events);
    if (report.requeued.length + report.abandoned.length + report.failed.length > 0) {
      this.workspace.notifier.ring('tasks');
    }
    return report;
  }

  private requeueExpired(
    id: string,
    content: ClaimFile | null,
    transit: string,
    report: ReapReport,
    events: EventInput[],
  ): void {
    const spec = this.read.readSpec(id);
    if (spec === null) {
      // A claim of a task that does not exist (a stray file): nothing to requeue or fail.
      this.workspace.quarantine(transit, `claims/${id} is a claim of a task that does not exist`);
      return;
    }
    if (spec === CORRUPT) {
      this.failUnreadable(id, transit);
      report.failed.push(id);
      return;
    }
    if (this.read.exists(this.paths.ready(spec))) {
      // The holder died between its O_EXCL create and taking the ready marker: the task never started.
      this.workspace.io.remove(transit);
      report.abandoned.push(id);
      return;
    }
    const state = this.read.readState(id);
    const attempt = content?.attempt ?? state?.attempt ?? 1;
    const holder = content?.agentId ?? null;
    const entry: AttemptError = {
      attempt,
      message: holder
        ? `lease expired: agent "${holder}" (pid ${content?.pid} on ${content?.host}) stopped heartbeating`
        : 'lease expired: the claimer died before recording who it was',
      at: this.now(),
      kind: 'lease_expired',
      ...(holder ? { agentId: holder } : {}),
    };
    const record = this.afterFailedAttempt(spec, state, attempt, entry, true, events, holder);
    if (record.status === 'failed') report.failed.push(id);
    else report.requeued.push({ taskId: id, attempt: record.attempt, holder });
    this.workspace.io.remove(transit);
  }

  async recover(): Promise<RecoverReport> {
    const report = await this.reap();
    this.guard('repairing interrupted transitions', () => {
      this.repair.repairTransit(report);
      this.repair.placeStranded(report);
    });
    if (report.repaired.length > 0) this.workspace.notifier.ring('tasks');
    return {
      ...report,
      sweptTempFiles: this.workspace.io.sweepTemp({ now: Date.now() }),
      quarantined: this.workspace.listQuarantined(),
    };
  }

  // ---------------------------------------------------------------- wake-ups

  changeVersion(): number {
    return this.workspace.notifier.version(['tasks']);
  }

  async waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    try {
      await this.workspace.notifier.wait(['tasks'], Math.min(timeoutMs, this.rescanMs), signal, since);
    } finally {
      this.index.markStale();
      this.delayedStale = true;
    }
  }

  /** Claims this process holds, for shutdown. */
  heldClaims(): ClaimRef[] {
    return [...this.held.values()].map((held) => ({ taskId: held.taskId, token: held.token }));
  }

  async close(): Promise<void> {
    for (const held of this.held.values()) {
      try {
        fs.closeSync(held.fd);
      } catch {
        // already closed
      }
    }
    this.held.clear();
  }
}

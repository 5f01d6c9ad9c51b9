import { createHash } from 'node:crypto';
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
import { currentHost, listDir, safeUnlink } from '../../fs/file-io.js';
import { uniqueSuffix } from '../../ids.js';
import type { Workspace } from '../../workspace.js';
import type { AddOutcome, ClaimGrant, FailInput, HasWorkResult, TaskStore } from '../task-store.js';
import {
  type AttemptError,
  type ClaimRef,
  type ClaimRequest,
  type ListFilter,
  type ReapReport,
  type RecoverReport,
  TASK_STATUSES,
  type TaskCounts,
  type TaskRecord,
  type TaskSpec,
  type TaskStatus,
} from '../types.js';
import { backoffDelay } from '../backoff.js';
import {
  type TransitOrigin,
  delayedName,
  idFromMarker,
  laneOf,
  markerName,
  parseDelayedName,
  parseLane,
  parseTransitName,
  transitName,
} from './layout.js';
import { ReadyIndex } from './ready-index.js';
import { findCycle } from '../dag.js';

export interface FileTaskStoreOptions {
  /** Lease used to judge a claim whose holder died before writing it. @default 30000 */
  defaultLeaseMs?: number;
  /** A transition older than this is treated as interrupted by `recover()`. @default 60000 */
  transitTimeoutMs?: number;
  /** Longest wait between re-scans when nothing rings. @default 500 with the watcher, 100 without */
  rescanMs?: number;
}

/** Mutable history of a task that has had more than a plain first attempt. */
interface StateFile {
  attempt: number;
  errors: AttemptError[];
  feedback: string[];
  /** Attempts used before the last manual retry; failures before it do not count. */
  budgetStart: number;
  notBefore: number | null;
  /** Dependencies added by `defer` (a continuation); they never block, the task decides. */
  extraDependencies?: string[];
}

/** The record of a task in `review/` or a final folder. */
interface FinalFile {
  status: TaskStatus;
  attempt: number;
  owner: string | null;
  result?: unknown;
  errors: AttemptError[];
  feedback: string[];
  reason: string | null;
  finishedAt: number;
  budgetStart?: number;
  approvedBy?: string;
  extraDependencies?: string[];
}

/** What a claim file holds. Its mtime is the lease expiry. */
interface ClaimFile {
  taskId: string;
  agentId: string;
  token: string;
  attempt: number;
  leaseMs: number;
  claimedAt: number;
  pid: number;
  host: string;
}

/** A claim made by this process: the open descriptor pins the inode, which is how ownership is checked. */
interface HeldClaim {
  taskId: string;
  token: string;
  agentId: string;
  fd: number;
  ino: number;
  attempt: number;
  spec: TaskSpec;
  state: StateFile | null;
  leaseUntil: number;
}

const CORRUPT = Symbol('corrupt');
type Read<T> = T | null | typeof CORRUPT;

const FINAL_FOLDER = {
  review: 'review',
  completed: 'results',
  failed: 'failed',
  blocked: 'blocked',
  cancelled: 'cancelled',
} as const;

type FinalStatus = keyof typeof FINAL_FOLDER;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

const O_EXCL_CREATE = fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY;

/**
 * The file backend of the task queue: every state is a place on disk, every
 * transition an atomic create, link or rename, so several processes can share
 * one workspace with no lock server. See docs/architecture.md for the layout
 * and the argument for each contract.
 */
export class FileTaskStore implements TaskStore {
  readonly kind = 'file';
  private readonly d: Record<
    | 'tasks'
    | 'state'
    | 'keys'
    | 'dependents'
    | 'waiting'
    | 'ready'
    | 'delayed'
    | 'claims'
    | 'transit'
    | 'review'
    | 'results'
    | 'failed'
    | 'blocked'
    | 'cancelled',
    string
  >;
  private readonly index: ReadyIndex;
  private readonly held = new Map<string, HeldClaim>();
  private readonly specCache = new Map<string, TaskSpec>();
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
    const ws = workspace;
    this.d = {
      tasks: ws.path('tasks'),
      state: ws.path('state'),
      keys: ws.path('keys'),
      dependents: ws.path('dependents'),
      waiting: ws.path('waiting'),
      ready: ws.path('ready'),
      delayed: ws.path('delayed'),
      claims: ws.path('claims'),
      transit: ws.path('transit'),
      review: ws.path('review'),
      results: ws.path('results'),
      failed: ws.path('failed'),
      blocked: ws.path('blocked'),
      cancelled: ws.path('cancelled'),
    };
    this.index = new ReadyIndex(this.d.ready);
    this.defaultLeaseMs = options.defaultLeaseMs ?? 30_000;
    this.transitTimeoutMs = options.transitTimeoutMs ?? 60_000;
    this.rescanMs = options.rescanMs ?? (ws.notifier.watching ? 500 : 100);
  }

  private now(): number {
    return this.workspace.clock.now();
  }

  // ---------------------------------------------------------------- paths

  private specPath(id: string): string {
    return `${this.d.tasks}/${id}.json`;
  }
  private statePath(id: string): string {
    return `${this.d.state}/${id}.json`;
  }
  private claimPath(id: string): string {
    return `${this.d.claims}/${id}`;
  }
  private waitingPath(id: string): string {
    return `${this.d.waiting}/${id}`;
  }
  private readyPath(spec: TaskSpec): string {
    return `${this.d.ready}/${laneOf(spec)}/${markerName(spec)}`;
  }
  private finalPath(status: FinalStatus, id: string): string {
    return `${this.d[FINAL_FOLDER[status]]}/${id}.json`;
  }
  private newTransitPath(id: string, origin: TransitOrigin): string {
    return `${this.d.transit}/${transitName(id, origin, this.now(), uniqueSuffix())}`;
  }
  private keyPath(key: string): string {
    return `${this.d.keys}/${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
  }

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  // ---------------------------------------------------------------- reads

  private readJson<T>(file: string, what: string): Read<T> {
    const text = this.workspace.io.readText(file);
    if (text === null) return null;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      this.workspace.quarantine(file, `${what} is not valid JSON: ${(err as Error).message}`);
      return CORRUPT;
    }
  }

  /**
   * A task's spec. Specs never change, so a small cache serves the repeated
   * reads of dependency checks; `cache: false` (the claim path, which keeps
   * the spec with the claim) leaves it alone, so a long drain does not churn
   * it.
   */
  private readSpec(id: string, options: { cache?: boolean } = {}): Read<TaskSpec> {
    const cached = this.specCache.get(id);
    if (cached) return cached;
    const spec = this.readJson<TaskSpec>(this.specPath(id), `task file of "${id}"`);
    if (spec && spec !== CORRUPT && options.cache !== false) this.cacheSpec(spec);
    return spec;
  }

  /**
   * Capped: a cache that lived long enough for its entries to reach the old
   * generation and was then dropped whole would cost more memory than it saves.
   */
  private cacheSpec(spec: TaskSpec): void {
    if (this.specCache.size >= 256) this.specCache.clear();
    this.specCache.set(spec.id, spec);
  }

  private readState(id: string): StateFile | null {
    const state = this.readJson<StateFile>(this.statePath(id), `state of task "${id}"`);
    return state === CORRUPT ? null : state;
  }

  private exists(file: string): boolean {
    return fs.existsSync(file);
  }

  /** The final status of a task, or null while it can still change. */
  private finalStatusOf(id: string): 'completed' | 'failed' | 'blocked' | 'cancelled' | null {
    if (this.exists(`${this.d.results}/${id}.json`)) return 'completed';
    if (this.exists(`${this.d.failed}/${id}.json`)) return 'failed';
    if (this.exists(`${this.d.blocked}/${id}.json`)) return 'blocked';
    if (this.exists(`${this.d.cancelled}/${id}.json`)) return 'cancelled';
    return null;
  }

  // ---------------------------------------------------------------- add

  async add(specs: readonly TaskSpec[]): Promise<AddOutcome[]> {
    return this.workspace.io.batch(() => this.addSync(specs));
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
        const file = this.keyPath(key);
        if (!this.workspace.io.publishExclusive(file, JSON.stringify({ key, id: item.spec.id }))) {
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
      this.workspace.io.writeAtomic(intent, JSON.stringify(ids));
      const published: string[] = [];
      for (const { spec } of toCreate) {
        if (!this.workspace.io.publishExclusive(this.specPath(spec.id), JSON.stringify(spec))) {
          for (const file of published) this.workspace.io.remove(file);
          rollbackKeys();
          this.workspace.io.remove(intent);
          throw new DuplicateTaskError(spec.id);
        }
        published.push(this.specPath(spec.id));
        this.cacheSpec(spec);
      }
      const events: EventInput[] = [];
      let anyReady = false;
      for (const { spec, index } of toCreate) {
        const status = this.placeNew(spec, events);
        if (status === 'ready') anyReady = true;
        outcomes[index] = { record: this.recordFromSpec(spec, status), created: true };
      }
      this.workspace.io.remove(intent);
      this.workspace.events.appendMany(events);
      if (anyReady) this.workspace.notifier.ring('tasks');
    }
    return outcomes as AddOutcome[];
  }

  private validateBatch(specs: readonly TaskSpec[]): void {
    const inBatch = new Map<string, TaskSpec>();
    for (const spec of specs) {
      if (inBatch.has(spec.id)) throw new DuplicateTaskError(spec.id);
      inBatch.set(spec.id, spec);
    }
    for (const spec of specs) {
      if (this.exists(this.specPath(spec.id))) throw new DuplicateTaskError(spec.id);
      for (const dep of spec.dependencies) {
        if (dep === spec.id) throw new DependencyCycleError([spec.id, spec.id]);
        if (!inBatch.has(dep) && !this.exists(this.specPath(dep))) throw new UnknownDependencyError(spec.id, dep);
      }
    }
    // Tasks outside the batch cannot depend on tasks inside it, so only the batch can hold a cycle.
    const cycle = findCycle(inBatch);
    if (cycle) throw new DependencyCycleError(cycle);
  }

  /** An existing task for an idempotency key, waiting briefly if its adder is still writing it. */
  private lookupKey(key: string): TaskRecord | null {
    const file = this.keyPath(key);
    const mapping = this.readJson<{ id: string }>(file, 'idempotency key');
    if (mapping === null) return null;
    if (mapping === CORRUPT) return null;
    for (let i = 0; i < 200; i++) {
      const spec = this.readSpec(mapping.id);
      if (spec && spec !== CORRUPT) return this.getSync(mapping.id) ?? this.recordFromSpec(spec, 'pending');
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
      const dir = `${this.d.dependents}/${dep}`;
      this.ensureDir(dir);
      this.workspace.io.createMarker(`${dir}/${spec.id}`);
    }
    this.workspace.io.createMarker(this.waitingPath(spec.id));
    return this.evaluate(spec, events);
  }

  private createReadyMarker(spec: TaskSpec): void {
    const lane = laneOf(spec);
    this.ensureDir(`${this.d.ready}/${lane}`);
    const marker = markerName(spec);
    this.workspace.io.createMarker(`${this.d.ready}/${lane}/${marker}`);
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
      const status = this.finalStatusOf(dep);
      if (status === null) unfinished = true;
      else if (status !== 'completed' && !failedDep) failedDep = { id: dep, status };
    }
    // A deferred task also waits for its continuation's dependencies, whatever their outcome.
    for (const dep of this.readState(spec.id)?.extraDependencies ?? []) {
      if (this.finalStatusOf(dep) === null) unfinished = true;
    }
    if (failedDep && !spec.allowFailed) {
      this.block(spec, `dependency "${failedDep.id}" ${failedDep.status}`, events);
      return 'blocked';
    }
    if (unfinished) return 'pending';
    const lane = laneOf(spec);
    this.ensureDir(`${this.d.ready}/${lane}`);
    const marker = markerName(spec);
    if (this.workspace.io.move(this.waitingPath(spec.id), `${this.d.ready}/${lane}/${marker}`)) {
      this.index.noteAdded(lane, marker);
      events.push({ type: 'task.ready', taskId: spec.id });
      return 'ready';
    }
    return 'pending';
  }

  private block(spec: TaskSpec, reason: string, events: EventInput[]): void {
    const transit = this.newTransitPath(spec.id, 'block');
    if (!this.workspace.io.move(this.waitingPath(spec.id), transit)) return;
    const state = this.readState(spec.id);
    const record: FinalFile = {
      status: 'blocked',
      attempt: state?.attempt ?? 1,
      owner: null,
      errors: state?.errors ?? [],
      feedback: state?.feedback ?? [],
      reason,
      finishedAt: this.now(),
    };
    this.workspace.io.writeAtomic(this.finalPath('blocked', spec.id), JSON.stringify(record));
    if (state) this.workspace.io.remove(this.statePath(spec.id));
    events.push({ type: 'task.blocked', taskId: spec.id, reason });
    this.settleDependents(spec.id, events);
    this.workspace.io.remove(transit);
  }

  /** After a task reached a final state: promote or block each dependent that waits on it. */
  private settleDependents(id: string, events: EventInput[]): void {
    for (const child of listDir(`${this.d.dependents}/${id}`)) {
      if (!this.exists(this.waitingPath(child))) continue;
      const spec = this.readSpec(child);
      if (!spec || spec === CORRUPT) continue;
      this.evaluate(spec, events);
    }
  }

  // ---------------------------------------------------------------- claim

  async claim(request: ClaimRequest & { leaseMs: number }): Promise<ClaimGrant | null> {
    return this.workspace.io.batch(() => this.claimSync(request));
  }

  private acceptedLanes(filter: ClaimRequest, now: number): string[] {
    const types = filter.types ? new Set(filter.types) : null;
    const caps = new Set(filter.capabilities ?? []);
    const acceptUnrequired = filter.acceptUnrequired ?? true;
    return this.index.knownLanes(now).filter((lane) => {
      const { type, requires } = parseLane(lane);
      if (types && !types.has(type)) return false;
      return requires === null ? acceptUnrequired : caps.has(requires);
    });
  }

  private claimSync(request: ClaimRequest & { leaseMs: number }): ClaimGrant | null {
    const now = this.now();
    this.promoteDueDelayed(now);
    const lanes = this.acceptedLanes(request, now);
    const relisted = new Set<string>();
    for (;;) {
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
      if (best === undefined || bestLane === undefined) return null;
      bestLane.advance();
      const grant = this.tryClaim(`${bestLane.dir}/${best}`, idFromMarker(best), request, now, bestLane.contention > 0);
      if (grant === 'taken') {
        bestLane.contention = Math.min(16, bestLane.contention + 2);
        continue;
      }
      if (bestLane.contention > 0) bestLane.contention -= 1;
      if (grant) return grant;
    }
  }

  /**
   * The claim protocol: O_CREAT|O_EXCL on `claims/<id>` excludes every other
   * claimer; removing the ready marker confirms the task was still ready.
   * 'taken' means another claimer got there first.
   */
  private tryClaim(
    markerPath: string,
    id: string,
    request: ClaimRequest & { leaseMs: number },
    now: number,
    contended: boolean,
  ): ClaimGrant | null | 'taken' {
    // Under contention most cached entries are already taken: one cheap check skips them.
    if (contended && !this.exists(markerPath)) return 'taken';
    const claimPath = this.claimPath(id);
    let fd: number;
    try {
      fd = fs.openSync(claimPath, O_EXCL_CREATE, 0o644);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return 'taken';
      throw err;
    }
    if (!this.workspace.io.remove(markerPath)) {
      fs.closeSync(fd);
      safeUnlink(claimPath);
      return 'taken';
    }
    const spec = this.readSpec(id, { cache: false });
    if (!spec || spec === CORRUPT) {
      fs.closeSync(fd);
      this.failUnreadable(id, claimPath);
      return null;
    }
    const state = this.readState(id);
    const attempt = state?.attempt ?? 1;
    const token = `${attempt}-${uniqueSuffix()}`;
    const leaseMs = spec.leaseMs ?? request.leaseMs;
    const leaseUntil = now + leaseMs;
    const content: ClaimFile = {
      taskId: id,
      agentId: request.agentId,
      token,
      attempt,
      leaseMs,
      claimedAt: now,
      pid: process.pid,
      host: this.host,
    };
    // The lease expiry is claimedAt + leaseMs from the content until the first
    // heartbeat moves the file's mtime past it (see reapSync).
    fs.writeSync(fd, JSON.stringify(content));
    if (this.workspace.durable) fs.fsyncSync(fd);
    this.workspace.io.dirChanged(this.d.claims);
    const ino = fs.fstatSync(fd).ino;
    this.held.set(token, { taskId: id, token, agentId: request.agentId, fd, ino, attempt, spec, state, leaseUntil });
    this.workspace.events.append({ type: 'task.claimed', taskId: id, agentId: request.agentId, attempt, leaseUntil });
    const task = this.recordFromSpec(spec, 'claimed', state);
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
    this.workspace.io.writeAtomic(this.finalPath('failed', id), JSON.stringify(record));
    events.push({ type: 'task.failed', taskId: id, reason: record.reason ?? 'failed' });
    this.settleDependents(id, events);
    safeUnlink(claimPath);
    this.workspace.events.appendMany(events);
  }

  private promoteDueDelayed(now: number): void {
    if (this.delayedStale || now - this.delayedListedAt > 1000) {
      this.delayedNames = listDir(this.d.delayed).sort();
      this.delayedListedAt = now;
      this.delayedStale = false;
    }
    const events: EventInput[] = [];
    while (this.delayedNames.length > 0) {
      const name = this.delayedNames[0] as string;
      const parsed = parseDelayedName(name);
      if (parsed && parsed.notBefore > now) break;
      this.delayedNames.shift();
      if (!parsed) continue;
      this.ensureDir(`${this.d.ready}/${parsed.lane}`);
      if (this.workspace.io.move(`${this.d.delayed}/${name}`, `${this.d.ready}/${parsed.lane}/${parsed.marker}`)) {
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
    const claimPath = this.claimPath(ref.taskId);
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
    const claimPath = this.claimPath(ref.taskId);
    const content = parseClaim(this.workspace.io.readText(claimPath));
    if (!content || content.token !== ref.token) {
      throw new LeaseLostError(ref.taskId, ref.token, this.lossReason(ref.taskId));
    }
    const transit = this.newTransitPath(ref.taskId, origin);
    if (!this.workspace.io.move(claimPath, transit)) {
      throw new LeaseLostError(ref.taskId, ref.token, this.lossReason(ref.taskId));
    }
    const moved = parseClaim(this.workspace.io.readText(transit));
    if (!moved || moved.token !== ref.token) {
      this.restoreClaim(transit, claimPath);
      throw new LeaseLostError(ref.taskId, ref.token, this.lossReason(ref.taskId));
    }
    const spec = this.readSpec(ref.taskId);
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
        state: this.readState(ref.taskId),
        leaseUntil: 0,
      },
    };
  }

  /**
   * Puts a final record in place. With our own claim's descriptor the record
   * is written into the claim file we just moved to transit/ and linked into
   * place (the link is the atomic commit); the transit entry stays until the
   * dependents are settled, so recover() can finish the job after a crash.
   */
  private publishFinal(claim: HeldClaim, transit: string, target: string, text: string): void {
    if (claim.fd < 0) {
      this.workspace.io.writeAtomic(target, text);
      return;
    }
    const bytes = fs.writeSync(claim.fd, text, 0);
    fs.ftruncateSync(claim.fd, bytes);
    if (this.workspace.durable) fs.fsyncSync(claim.fd);
    fs.linkSync(transit, target);
    this.workspace.io.dirChanged(path.dirname(target));
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
    if (this.exists(this.finalPath('cancelled', id))) return 'the task was cancelled';
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
    const claimPath = this.claimPath(ref.taskId);
    if (!held) {
      const content = parseClaim(this.workspace.io.readText(claimPath));
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
    return this.workspace.io.batch(() => {
      const { transit, claim } = this.takeOwnClaim(ref, 'complete');
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
      this.publishFinal(claim, transit, this.finalPath(status, id), JSON.stringify(record));
      if (state) this.workspace.io.remove(this.statePath(id));
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
      return this.recordFromFinal(claim.spec, record);
    });
  }

  async fail(ref: ClaimRef, error: FailInput): Promise<TaskRecord> {
    return this.workspace.io.batch(() => {
      const { transit, claim } = this.takeOwnClaim(ref, 'fail');
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
      this.workspace.io.writeAtomic(this.statePath(spec.id), JSON.stringify(next));
      if (next.notBefore === null) {
        this.createReadyMarker(spec);
      } else {
        const name = delayedName(next.notBefore, laneOf(spec), markerName(spec));
        this.workspace.io.createMarker(`${this.d.delayed}/${name}`);
        this.delayedStale = true;
      }
      events.push({
        type: entry.kind === 'lease_expired' ? 'task.requeued' : 'task.retried',
        taskId: spec.id,
        attempt: attempt + 1,
        delayMs: delay,
        error: entry.message,
        ...(entry.kind === 'lease_expired' ? { reason: 'lease expired', previousOwner: owner } : {}),
      });
      const record = this.recordFromSpec(spec, next.notBefore === null ? 'ready' : 'delayed', next);
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
    this.workspace.io.writeAtomic(this.finalPath('failed', spec.id), JSON.stringify(record));
    if (state) this.workspace.io.remove(this.statePath(spec.id));
    events.push({ type: 'task.failed', taskId: spec.id, attempt, agentId: owner ?? undefined, reason: record.reason ?? 'failed' });
    this.settleDependents(spec.id, events);
    return this.recordFromFinal(spec, record);
  }

  async release(ref: ClaimRef, options: { feedback?: string } = {}): Promise<TaskRecord> {
    return this.workspace.io.batch(() => {
      const { transit, claim } = this.takeOwnClaim(ref, 'release');
      let state = claim.state;
      if (options.feedback !== undefined) {
        state = {
          attempt: claim.attempt,
          errors: state?.errors ?? [],
          feedback: [...(state?.feedback ?? []), options.feedback],
          budgetStart: state?.budgetStart ?? 0,
          notBefore: null,
        };
        this.workspace.io.writeAtomic(this.statePath(ref.taskId), JSON.stringify(state));
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
      return this.recordFromSpec(claim.spec, 'ready', state);
    });
  }

  async defer(ref: ClaimRef, dependencies: readonly string[]): Promise<TaskRecord> {
    return this.workspace.io.batch(() => {
      for (const dep of dependencies) {
        if (!this.exists(this.specPath(dep))) throw new UnknownDependencyError(ref.taskId, dep);
      }
      const cycle = this.pathBackTo(ref.taskId, dependencies);
      if (cycle) throw new DependencyCycleError(cycle);
      const { transit, claim } = this.takeOwnClaim(ref, 'release');
      const id = ref.taskId;
      const state: StateFile = {
        attempt: claim.attempt,
        errors: claim.state?.errors ?? [],
        feedback: claim.state?.feedback ?? [],
        budgetStart: claim.state?.budgetStart ?? 0,
        notBefore: null,
        extraDependencies: union(claim.state?.extraDependencies ?? [], dependencies),
      };
      this.workspace.io.writeAtomic(this.statePath(id), JSON.stringify(state));
      for (const dep of dependencies) {
        const dir = `${this.d.dependents}/${dep}`;
        this.ensureDir(dir);
        this.workspace.io.createMarker(`${dir}/${id}`);
      }
      this.workspace.io.createMarker(this.waitingPath(id));
      this.dropHeld(claim);
      this.workspace.io.remove(transit);
      const events: EventInput[] = [
        { type: 'task.deferred', taskId: id, agentId: claim.agentId, attempt: claim.attempt, dependencies: [...dependencies] },
      ];
      const status = this.evaluate(claim.spec, events);
      this.workspace.events.appendMany(events);
      if (status === 'ready') this.workspace.notifier.ring('tasks');
      return this.recordFromSpec(claim.spec, status, state);
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
      const spec = this.readSpec(id);
      if (!spec || spec === CORRUPT) continue;
      const deps = union(spec.dependencies, this.readState(id)?.extraDependencies ?? []);
      for (const dep of deps) stack.push({ id: dep, path: [...path, dep] });
    }
    return null;
  }

  // ---------------------------------------------------------------- review

  private takeFinal(status: FinalStatus, id: string, origin: TransitOrigin): { transit: string; record: FinalFile } | null {
    const transit = this.newTransitPath(id, origin);
    if (!this.workspace.io.move(this.finalPath(status, id), transit)) return null;
    const text = this.workspace.io.readText(transit);
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
    return this.workspace.io.batch(() => {
      const spec = this.requireSpec(taskId);
      const taken = this.takeFinal('review', taskId, 'approve');
      if (!taken) throw this.stateError(taskId, 'approve', 'it is not waiting for review');
      const record: FinalFile = { ...taken.record, status: 'completed', finishedAt: this.now() };
      if (options.agentId) record.approvedBy = options.agentId;
      this.workspace.io.writeAtomic(this.finalPath('completed', taskId), JSON.stringify(record));
      const events: EventInput[] = [
        { type: 'task.completed', taskId, agentId: record.owner ?? undefined, attempt: record.attempt, approvedBy: options.agentId },
      ];
      this.settleDependents(taskId, events);
      this.workspace.io.remove(taken.transit);
      this.workspace.events.appendMany(events);
      if (events.length > 1) this.workspace.notifier.ring('tasks');
      return this.recordFromFinal(spec, record);
    });
  }

  async reopen(taskId: string, feedback: string): Promise<TaskRecord> {
    return this.workspace.io.batch(() => {
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
      this.workspace.io.writeAtomic(this.statePath(taskId), JSON.stringify(state));
      this.createReadyMarker(spec);
      this.workspace.io.remove(taken.transit);
      this.workspace.events.append({ type: 'task.reopened', taskId, attempt: state.attempt, feedback });
      this.workspace.notifier.ring('tasks');
      return this.recordFromSpec(spec, 'ready', state);
    });
  }

  async reject(taskId: string, reason: string): Promise<TaskRecord> {
    return this.workspace.io.batch(() => {
      const spec = this.requireSpec(taskId);
      const taken = this.takeFinal('review', taskId, 'approve');
      if (!taken) throw this.stateError(taskId, 'reject', 'it is not waiting for review');
      const record: FinalFile = { ...taken.record, status: 'failed', reason, finishedAt: this.now() };
      delete record.result;
      this.workspace.io.writeAtomic(this.finalPath('failed', taskId), JSON.stringify(record));
      const events: EventInput[] = [{ type: 'task.failed', taskId, attempt: record.attempt, reason }];
      this.settleDependents(taskId, events);
      this.workspace.io.remove(taken.transit);
      this.workspace.events.appendMany(events);
      this.workspace.notifier.ring('tasks');
      return this.recordFromFinal(spec, record);
    });
  }

  // ---------------------------------------------------------------- admin

  async cancel(taskId: string, reason: string): Promise<TaskRecord> {
    return this.workspace.io.batch(() => {
      const spec = this.requireSpec(taskId);
      let transit: string | null = null;
      let holder: ClaimFile | null = null;
      let fromReview: FinalFile | null = null;
      for (let round = 0; round < 5 && transit === null; round++) {
        const final = this.finalStatusOf(taskId);
        if (final) throw this.stateError(taskId, 'cancel', `it is already ${final}`);
        const target = this.newTransitPath(taskId, 'cancel');
        const state = this.readState(taskId);
        const candidates = [this.waitingPath(taskId), this.readyPath(spec), this.claimPath(taskId)];
        if (state?.notBefore != null) {
          candidates.push(`${this.d.delayed}/${delayedName(state.notBefore, laneOf(spec), markerName(spec))}`);
        }
        for (const from of candidates) {
          if (this.workspace.io.move(from, target)) {
            transit = target;
            if (from === this.claimPath(taskId)) holder = parseClaim(this.workspace.io.readText(target));
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
      const state = this.readState(taskId);
      const record: FinalFile = {
        status: 'cancelled',
        attempt: fromReview?.attempt ?? holder?.attempt ?? state?.attempt ?? 1,
        owner: holder?.agentId ?? fromReview?.owner ?? null,
        errors: fromReview?.errors ?? state?.errors ?? [],
        feedback: fromReview?.feedback ?? state?.feedback ?? [],
        reason,
        finishedAt: this.now(),
      };
      this.workspace.io.writeAtomic(this.finalPath('cancelled', taskId), JSON.stringify(record));
      if (state) this.workspace.io.remove(this.statePath(taskId));
      const events: EventInput[] = [{ type: 'task.cancelled', taskId, reason, agentId: holder?.agentId }];
      this.settleDependents(taskId, events);
      this.workspace.io.remove(transit);
      this.workspace.events.appendMany(events);
      this.workspace.notifier.ring('tasks');
      return this.recordFromFinal(spec, record);
    });
  }

  async retry(taskId: string): Promise<TaskRecord> {
    return this.workspace.io.batch(() => {
      const spec = this.requireSpec(taskId);
      const events: EventInput[] = [];
      const record = this.retrySync(spec, events);
      if (!record) {
        const status = this.getSync(taskId)?.status ?? 'unknown';
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
    this.workspace.io.writeAtomic(this.statePath(spec.id), JSON.stringify(state));
    events.push({ type: 'task.retried', taskId: spec.id, attempt: state.attempt, manual: true });
    let status: TaskStatus;
    if (spec.dependencies.length === 0) {
      this.createReadyMarker(spec);
      events.push({ type: 'task.ready', taskId: spec.id, attempt: state.attempt });
      status = 'ready';
    } else {
      this.workspace.io.createMarker(this.waitingPath(spec.id));
      status = this.evaluate(spec, events);
    }
    this.workspace.io.remove(taken.transit);
    // Dependents blocked because of this task get another chance too.
    for (const child of listDir(`${this.d.dependents}/${spec.id}`)) {
      if (!this.exists(this.finalPath('blocked', child))) continue;
      const childSpec = this.readSpec(child);
      if (childSpec && childSpec !== CORRUPT) this.retrySync(childSpec, events);
    }
    return this.recordFromSpec(spec, status, state);
  }

  private requireSpec(id: string): TaskSpec {
    const spec = this.readSpec(id);
    if (!spec || spec === CORRUPT) throw new TaskNotFoundError(id);
    return spec;
  }

  private stateError(id: string, action: string, why: string): TaskStateError {
    const status = this.getSync(id)?.status ?? 'unknown';
    return new TaskStateError(id, status, `cannot ${action} task "${id}": ${why}`);
  }

  // ---------------------------------------------------------------- reads

  async get(taskId: string): Promise<TaskRecord | null> {
    return this.getSync(taskId);
  }

  private getSync(id: string): TaskRecord | null {
    const spec = this.readSpec(id);
    if (!spec || spec === CORRUPT) return null;
    for (let round = 0; round < 5; round++) {
      const record = this.locate(spec);
      if (record) return record;
      sleepSync(1); // between two states: look again
    }
    const record = this.recordFromSpec(spec, 'pending', this.readState(id));
    record.reason = 'in transition (if this persists, run `agent-team recover`)';
    return record;
  }

  private locate(spec: TaskSpec): TaskRecord | null {
    const id = spec.id;
    const claimPath = this.claimPath(id);
    const claimStat = fs.statSync(claimPath, { throwIfNoEntry: false });
    if (claimStat) {
      const content = parseClaim(this.workspace.io.readText(claimPath));
      const record = this.recordFromSpec(spec, 'claimed', this.readState(id));
      record.owner = content?.agentId ?? null;
      record.attempt = content?.attempt ?? record.attempt;
      record.leaseUntil = Math.round(claimStat.mtimeMs);
      return record;
    }
    for (const status of ['completed', 'review', 'failed', 'blocked', 'cancelled'] as const) {
      const final = this.readJson<FinalFile>(this.finalPath(status, id), `${status} record of "${id}"`);
      if (final && final !== CORRUPT) return this.recordFromFinal(spec, final);
    }
    if (this.exists(this.readyPath(spec))) return this.recordFromSpec(spec, 'ready', this.readState(id));
    if (this.exists(this.waitingPath(id))) return this.recordFromSpec(spec, 'pending', this.readState(id));
    const state = this.readState(id);
    if (state?.notBefore != null) {
      const name = delayedName(state.notBefore, laneOf(spec), markerName(spec));
      if (this.exists(`${this.d.delayed}/${name}`)) return this.recordFromSpec(spec, 'delayed', state);
    }
    return null;
  }

  async claimRefOf(taskId: string): Promise<(ClaimRef & { agentId: string }) | null> {
    const content = parseClaim(this.workspace.io.readText(this.claimPath(taskId)));
    return content ? { taskId, token: content.token, agentId: content.agentId } : null;
  }

  async list(filter: ListFilter = {}): Promise<TaskRecord[]> {
    const statuses = filter.status === undefined ? null : Array.isArray(filter.status) ? filter.status : [filter.status];
    const ids = statuses === null ? this.allIds() : statuses.flatMap((status) => this.idsWithStatus(status as TaskStatus));
    const out: TaskRecord[] = [];
    const wanted = statuses ? new Set<TaskStatus>(statuses as TaskStatus[]) : null;
    for (const id of ids) {
      const record = this.getSync(id);
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
    return listDir(this.d.tasks)
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -5))
      .sort();
  }

  /** Ids in one state, from that state's folder alone. */
  private idsWithStatus(status: TaskStatus): string[] {
    switch (status) {
      case 'pending':
        return listDir(this.d.waiting).sort();
      case 'ready':
        return listDir(this.d.ready)
          .flatMap((lane) => listDir(`${this.d.ready}/${lane}`))
          .sort()
          .map(idFromMarker);
      case 'delayed':
        return listDir(this.d.delayed)
          .sort()
          .map((name) => idFromMarker(parseDelayedName(name)?.marker ?? ''))
          .filter((id) => id.length > 0);
      case 'claimed':
        return listDir(this.d.claims).sort();
      default:
        return listDir(this.d[FINAL_FOLDER[status]])
          .filter((name) => name.endsWith('.json'))
          .map((name) => name.slice(0, -5))
          .sort();
    }
  }

  async counts(): Promise<TaskCounts> {
    const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as TaskCounts;
    counts.pending = listDir(this.d.waiting).length;
    counts.ready = listDir(this.d.ready).reduce((sum, lane) => sum + listDir(`${this.d.ready}/${lane}`).length, 0);
    counts.delayed = listDir(this.d.delayed).length;
    counts.claimed = listDir(this.d.claims).length;
    for (const status of ['review', 'completed', 'failed', 'blocked', 'cancelled'] as const) {
      counts[status] = listDir(this.d[FINAL_FOLDER[status]]).filter((name) => name.endsWith('.json')).length;
    }
    counts.total = listDir(this.d.tasks).filter((name) => name.endsWith('.json')).length;
    return counts;
  }

  private recordFromSpec(spec: TaskSpec, status: TaskStatus, state?: StateFile | null): TaskRecord {
    const record = buildRecord(spec, status, state?.attempt ?? 1, null, state?.errors ?? [], null, state?.feedback ?? [], state?.notBefore ?? null, null);
    if (state?.extraDependencies?.length) record.dependencies = union(spec.dependencies, state.extraDependencies);
    return record;
  }

  private recordFromFinal(spec: TaskSpec, final: FinalFile): TaskRecord {
    const record = buildRecord(spec, final.status, final.attempt, final.owner, final.errors, final.reason, final.feedback, null, final.finishedAt);
    if ('result' in final) record.result = final.result;
    if (final.extraDependencies?.length) record.dependencies = union(spec.dependencies, final.extraDependencies);
    return record;
  }

  // ---------------------------------------------------------------- maintenance

  async reap(): Promise<ReapReport> {
    return this.workspace.io.batch(() => this.reapSync());
  }

  private reapSync(): ReapReport {
    const report: ReapReport = { requeued: [], failed: [], abandoned: [], repaired: [] };
    const now = this.now();
    const events: EventInput[] = [];
    for (const id of listDir(this.d.claims)) {
      const claimPath = this.claimPath(id);
      const st = fs.statSync(claimPath, { throwIfNoEntry: false });
      if (!st || st.mtimeMs > now) continue;
      const content = parseClaim(this.workspace.io.readText(claimPath));
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
    const spec = this.readSpec(id);
    if (!spec || spec === CORRUPT) {
      this.failUnreadable(id, transit);
      report.failed.push(id);
      return;
    }
    if (this.exists(this.readyPath(spec))) {
      // The holder died between its O_EXCL create and taking the ready marker: the task never started.
      this.workspace.io.remove(transit);
      report.abandoned.push(id);
      return;
    }
    const state = this.readState(id);
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
    this.workspace.io.batch(() => this.repairTransit(report));
    if (report.repaired.length > 0) this.workspace.notifier.ring('tasks');
    return {
      ...report,
      sweptTempFiles: this.workspace.io.sweepTemp({ now: Date.now() }),
      quarantined: this.workspace.listQuarantined(),
    };
  }

  /** Finishes or undoes transitions whose process died midway. */
  private repairTransit(report: ReapReport): void {
    const now = this.now();
    const events: EventInput[] = [];
    for (const name of listDir(this.d.transit)) {
      const parsed = parseTransitName(name);
      if (!parsed || now - parsed.at < this.transitTimeoutMs) continue;
      const mine = this.newTransitPath(parsed.id, 'repair');
      if (!this.workspace.io.move(`${this.d.transit}/${name}`, mine)) continue;
      const text = this.workspace.io.readText(mine) ?? '';
      this.repairOne(parsed.id, parsed.origin, text, events);
      this.workspace.io.remove(mine);
      report.repaired.push(parsed.id);
    }
    this.workspace.events.appendMany(events);
  }

  private repairOne(id: string, origin: TransitOrigin, text: string, events: EventInput[]): void {
    if (origin === 'add') {
      let ids: string[] = [id];
      try {
        ids = JSON.parse(text) as string[];
      } catch {
        // an empty or torn intent: the id in its name is all we know
      }
      for (const each of ids) {
        const spec = this.readSpec(each);
        if (spec && spec !== CORRUPT && !this.locate(spec)) this.placeNew(spec, events);
      }
      return;
    }
    const spec = this.readSpec(id);
    if (!spec || spec === CORRUPT) return;
    const final = parseFinal(text);
    if (final && !this.finalStatusOf(id) && !this.locate(spec)) {
      // The holder wrote its final record but died before linking it into place.
      this.workspace.io.writeAtomic(this.finalPath(final.status as FinalStatus, id), text);
    }
    if (this.finalStatusOf(id)) {
      // The final record was written: finish what followed it.
      this.settleDependents(id, events);
      return;
    }
    if (this.locate(spec)) return;
    if (origin === 'approve' || origin === 'reopen' || (origin === 'cancel' && text.includes('"status":"review"'))) {
      this.workspace.io.writeAtomic(this.finalPath('review', id), text);
      return;
    }
    if (origin === 'retry') {
      try {
        const record = JSON.parse(text) as FinalFile;
        if (record.status in FINAL_FOLDER) {
          this.workspace.io.writeAtomic(this.finalPath(record.status as FinalStatus, id), text);
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
        at: this.now(),
        kind: 'lease_expired',
        agentId: claim.agentId,
      };
      this.afterFailedAttempt(spec, this.readState(id), claim.attempt, entry, true, events, claim.agentId);
      return;
    }
    if (spec.dependencies.length > 0) {
      this.workspace.io.createMarker(this.waitingPath(id));
      this.evaluate(spec, events);
    } else {
      this.createReadyMarker(spec);
      events.push({ type: 'task.ready', taskId: id, reason: 'repaired' });
    }
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

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** Field by field, so every record has one shape (a spread of parsed JSON is slow to clone). */
function buildRecord(
  spec: TaskSpec,
  status: TaskStatus,
  attempt: number,
  owner: string | null,
  errors: AttemptError[],
  reason: string | null,
  feedback: string[],
  notBefore: number | null,
  finishedAt: number | null,
): TaskRecord {
  return {
    id: spec.id,
    description: spec.description,
    type: spec.type,
    priority: spec.priority,
    dependencies: spec.dependencies,
    requires: spec.requires,
    maxAttempts: spec.maxAttempts,
    idempotencyKey: spec.idempotencyKey,
    metadata: spec.metadata,
    allowFailed: spec.allowFailed,
    retry: spec.retry,
    leaseMs: spec.leaseMs,
    createdAt: spec.createdAt,
    seq: spec.seq,
    status,
    attempt,
    owner,
    leaseUntil: null,
    errors,
    reason,
    feedback,
    notBefore,
    finishedAt,
  };
}

function parseFinal(text: string): FinalFile | null {
  try {
    const record = JSON.parse(text) as FinalFile;
    return typeof record.status === 'string' && record.status in FINAL_FOLDER && !('token' in record) ? record : null;
  } catch {
    return null;
  }
}

function parseClaim(text: string | null): ClaimFile | null {
  if (!text) return null;
  try {
    const claim = JSON.parse(text) as ClaimFile;
    return typeof claim.token === 'string' ? claim : null;
  } catch {
    return null;
  }
}

import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import {
  AgentTeamError,
  DependencyCycleError,
  DuplicateTaskError,
  LeaseLostError,
  TaskNotFoundError,
  TaskStateError,
  UnknownDependencyError,
} from '../errors.js';
import { currentHost } from '../fs/file-io.js';
import { uniqueSuffix } from '../ids.js';
import { findCycle } from '../queue/dag.js';
import { laneOf, priorityKey } from '../queue/file/layout.js';
import type { AddOutcome, ClaimGrant, FailInput, HasWorkResult, TaskStore } from '../queue/task-store.js';
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
} from '../queue/types.js';
import type { RedisConnection } from './redis-connection.js';
import type { RedisEventStream } from './redis-event-stream.js';
import { RECORD_FIELDS, type ScriptName } from './scripts.js';

export interface RedisTaskStoreOptions {
  /** Longest wait between re-scans when no pub/sub wake-up arrives. @default 500 */
  rescanMs?: number;
  /** Expired leases taken over per reap script (a reap loops until none are left). @default 500 */
  reapBatch?: number;
}

type Reply = unknown[];
type Fields = Partial<Record<(typeof RECORD_FIELDS)[number], string | null>>;

/**
 * The Redis backend of the task queue. Every transition is one Lua script
 * (see scripts.ts), so it is atomic on the server: one claim wins, a commit
 * is fenced by the claim's token at the moment it runs, an expired lease is
 * taken over by exactly one reaper, and an add that fails writes nothing.
 * Indexes (a sorted set per ready lane, the claimed set by lease expiry, the
 * delayed set by due time, reverse dependency edges) keep each operation's
 * cost independent of the queue's size.
 */
export class RedisTaskStore implements TaskStore {
  readonly kind = 'redis';
  private readonly rescanMs: number;
  private readonly reapBatch: number;
  private readonly host = currentHost();
  /** Specs never change: parsed once per process (capped, so memory stays flat). */
  private readonly specCache = new Map<string, TaskSpec>();

  constructor(
    private readonly conn: RedisConnection,
    private readonly events: RedisEventStream,
    private readonly clock: Clock,
    options: RedisTaskStoreOptions = {},
  ) {
    this.rescanMs = options.rescanMs ?? 500;
    this.reapBatch = options.reapBatch ?? 500;
  }

  /** Runs a script with the common arguments (prefix, now, event timestamp, writer, stream cap). */
  private run(name: ScriptName, args: Array<string | number>): Promise<Reply> {
    return this.conn.script(name, () => [
      this.conn.prefix,
      this.clock.now(),
      String(this.events.timestamp()),
      this.events.writerId,
      this.conn.eventsMaxLen,
      ...args,
    ]);
  }

  // ---------------------------------------------------------------- records

  private parseSpec(text: string): TaskSpec {
    const cached = this.specCache.get(text);
    if (cached) return cached;
    const spec = JSON.parse(text) as TaskSpec;
    if (this.specCache.size >= 2000) this.specCache.clear();
    this.specCache.set(text, spec);
    return spec;
  }

  /** A record from the fields of a task hash (RECORD_FIELDS order); `known` skips parsing a spec the caller holds. */
  private toRecord(values: unknown, known?: TaskSpec): TaskRecord | null {
    if (!Array.isArray(values)) return null;
    const f: Fields = {};
    RECORD_FIELDS.forEach((name, i) => {
      const value = values[i] as string | null | undefined;
      f[name] = value ?? null;
    });
    if (!f.spec) return null;
    const spec = known ?? this.parseSpec(f.spec);
    const status = (f.status ?? 'pending') as TaskStatus;
    const holds = status === 'claimed' || status === 'review' || status === 'completed' || status === 'failed' || status === 'cancelled';
    const extra = f.extra ? f.extra.split(' ') : [];
    const record: TaskRecord = {
      id: spec.id,
      description: spec.description,
      type: spec.type,
      priority: spec.priority,
      dependencies: extra.length > 0 ? [...new Set([...spec.dependencies, ...extra])] : spec.dependencies,
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
      attempt: Number(f.attempt ?? 1),
      owner: holds && f.owner ? f.owner : null,
      leaseUntil: status === 'claimed' && f.leaseUntil ? Number(f.leaseUntil) : null,
      errors: f.errors ? (JSON.parse(f.errors) as AttemptError[]) : [],
      reason: f.reason ? f.reason : null,
      feedback: f.feedback ? (JSON.parse(f.feedback) as string[]) : [],
      notBefore: f.notBefore ? Number(f.notBefore) : null,
      finishedAt: f.finishedAt ? Number(f.finishedAt) : null,
    };
    if (f.result !== null && f.result !== undefined && (status === 'completed' || status === 'review')) {
      record.result = JSON.parse(f.result) as unknown;
    }
    return record;
  }

  private recordOf(values: unknown, what: string, known?: TaskSpec): TaskRecord {
    const record = this.toRecord(values, known);
    if (!record) throw new AgentTeamError(`the Redis backend returned no record for ${what}`);
    return record;
  }

  // ---------------------------------------------------------------- add

  async add(specs: readonly TaskSpec[]): Promise<AddOutcome[]> {
    if (specs.length === 0) return [];
    // Pure checks of the batch itself; existence is checked atomically by the script.
    const inBatch = new Map<string, TaskSpec>();
    for (const spec of specs) {
      if (inBatch.has(spec.id)) throw new DuplicateTaskError(spec.id);
      inBatch.set(spec.id, spec);
    }
    for (const spec of specs) {
      if (spec.dependencies.includes(spec.id)) throw new DependencyCycleError([spec.id, spec.id]);
    }
    const cycle = findCycle(inBatch);
    if (cycle) throw new DependencyCycleError(cycle);

    for (let round = 0; ; round++) {
      // Known idempotency keys yield their task; dependencies on a spec that
      // maps to an existing task point at that task instead.
      const outcomes: Array<AddOutcome | undefined> = new Array<AddOutcome | undefined>(specs.length);
      const remap = new Map<string, string>();
      const keyed = specs.map((spec, index) => ({ spec, index })).filter(({ spec }) => spec.idempotencyKey !== null);
      if (keyed.length > 0) {
        const hashes = keyed.map(({ spec }) => keyHash(spec.idempotencyKey as string));
        const ids = await this.conn.call('reading idempotency keys', () => this.conn.client.hmget(`${this.conn.prefix}idem`, ...hashes));
        for (const [i, { spec, index }] of keyed.entries()) {
          const existing = ids[i];
          if (!existing || existing === spec.id) continue;
          const record = await this.get(existing);
          if (!record) continue;
          outcomes[index] = { record, created: false };
          remap.set(spec.id, existing);
        }
      }
      const todo = specs
        .map((spec, index) => ({ spec, index }))
        .filter(({ index }) => outcomes[index] === undefined)
        .map(({ spec, index }) => ({
          index,
          spec: remap.size === 0 ? spec : { ...spec, dependencies: spec.dependencies.map((dep) => remap.get(dep) ?? dep) },
        }));
      if (todo.length === 0) return outcomes as AddOutcome[];
      const args: Array<string | number> = [todo.length];
      const texts = todo.map(({ spec }) => JSON.stringify(spec));
      for (const [i, { spec }] of todo.entries()) {
        args.push(
          spec.id,
          texts[i]!,
          spec.idempotencyKey === null ? '' : keyHash(spec.idempotencyKey),
          spec.dependencies.join(' '),
          laneOf(spec),
          priorityKey(spec.priority),
          `${spec.seq}:${spec.id}`,
          spec.allowFailed ? '1' : '0',
          spec.maxAttempts,
          spec.retry.baseMs,
          spec.retry.maxMs,
          spec.leaseMs ?? '',
          `,"taskType":${JSON.stringify(spec.type)},"dependencies":${JSON.stringify(spec.dependencies)}`,
        );
      }
      const reply = await this.run('atAdd', args);
      const code = reply[0];
      if (code === 'RETRY' && round < 5) continue;
      if (code === 'DUP') throw new DuplicateTaskError(String(reply[1]));
      if (code === 'UNKNOWNDEP') throw new UnknownDependencyError(String(reply[1]), String(reply[2]));
      if (code !== 'OK') throw new AgentTeamError(`adding tasks failed in Redis (${String(code)}): try again`);
      const rows = reply[1] as Array<[string, string, unknown]>;
      rows.forEach(([kind, , data], i) => {
        const item = todo[i]!;
        if (kind === 'new') {
          const spec = item.spec;
          outcomes[item.index] = {
            record: this.recordOf([texts[i]!, data, '1', null, null, null, null, null, null, null, null, null], spec.id, spec),
            created: true,
          };
        } else {
          outcomes[item.index] = { record: this.recordOf(data, item.spec.id), created: kind === 'resent' };
        }
      });
      this.events.deliver(reply[2]);
      this.wakeIfReady(reply[2]);
      return outcomes as AddOutcome[];
    }
  }

  /** Waiters of this process need no round trip through pub/sub. */
  private wakeIfReady(events: unknown): void {
    if (!Array.isArray(events)) return;
    for (const json of events) {
      if (typeof json === 'string' && (json.includes('"type":"task.ready"') || json.includes('"type":"task.released"') || json.includes('"type":"task.requeued"') || json.includes('"type":"task.reopened"'))) {
        this.conn.bump('tasks');
        return;
      }
    }
  }

  // ---------------------------------------------------------------- claim lifecycle

  async claim(request: Required<Pick<ClaimRequest, 'agentId' | 'leaseMs'>> & ClaimRequest): Promise<ClaimGrant | null> {
    return (await this.claimMany(request, 1))[0] ?? null;
  }

  /** Up to `max` tasks in one script call (one pass over the lanes' heads). */
  async claimMany(request: Required<Pick<ClaimRequest, 'agentId' | 'leaseMs'>> & ClaimRequest, max: number): Promise<ClaimGrant[]> {
    const reply = await this.run('atClaim', this.claimArgs(request, max));
    this.events.deliver(reply[2]);
    return this.grantsOf(request.agentId, reply[1]);
  }

  /**
   * The claim arguments of a script. The claim id is made here, so a call
   * repeated after a lost reply is recognised (see claim_ready in scripts.ts).
   */
  private claimArgs(request: Required<Pick<ClaimRequest, 'agentId' | 'leaseMs'>> & ClaimRequest, max: number): Array<string | number> {
    if (!Number.isInteger(max) || max < 1) throw new AgentTeamError(`claimMany takes a whole number of tasks of at least 1, got ${String(max)}`);
    return [
      uniqueSuffix(),
      request.agentId,
      request.leaseMs,
      request.types === undefined ? '*' : request.types.join(','),
      (request.capabilities ?? []).join(','),
      request.acceptUnrequired === false ? '0' : '1',
      process.pid,
      this.host,
      max,
    ];
  }

  private grantsOf(agentId: string, rows: unknown): ClaimGrant[] {
    if (!Array.isArray(rows)) return [];
    return (rows as Array<[string, unknown, string, string]>).map(([id, values, lms, token]) => {
      const task = this.recordOf(values, id);
      const leaseMs = Number(lms);
      return {
        task,
        ref: { taskId: task.id, token },
        agentId,
        leaseMs,
        leaseUntil: task.leaseUntil ?? this.clock.now() + leaseMs,
      };
    });
  }

  async heartbeat(ref: ClaimRef, leaseMs: number): Promise<number> {
    const reply = await this.run('atHeartbeat', [ref.taskId, ref.token, leaseMs]);
    if (reply[0] !== 'OK') throw new LeaseLostError(ref.taskId, ref.token, String(reply[1]));
    return Number(reply[1]);
  }

  /** The outcome of a holder's transition: the record, or LeaseLostError. */
  private async holderOutcome(ref: ClaimRef, reply: Reply, op: string): Promise<TaskRecord> {
    if (reply[0] === 'OK') {
      this.events.deliver(reply[2]);
      this.wakeIfReady(reply[2]);
      return this.recordOf(reply[1], ref.taskId);
    }
    if (reply[0] === 'DONE') {
      // This call was repeated after a lost reply, and its first run had succeeded
      // (a complete-and-claim also hands back the grants of that run, with their events).
      this.events.deliver(reply[2]);
      const record = await this.get(ref.taskId);
      if (record) return record;
    }
    if (reply[0] === 'UNKNOWNDEP') throw new UnknownDependencyError(String(reply[1]), String(reply[2]));
    if (reply[0] === 'CYCLE') throw new DependencyCycleError(JSON.parse(String(reply[1])) as string[]);
    throw new LeaseLostError(ref.taskId, ref.token, typeof reply[1] === 'string' ? reply[1] : `${op} was refused`);
  }

  async complete(ref: ClaimRef, result: unknown, options: { review?: boolean } = {}): Promise<TaskRecord> {
    const json = JSON.stringify(result === undefined ? null : result);
    const reply = await this.run('atComplete', [ref.taskId, ref.token, json, options.review ? '1' : '0']);
    const record = await this.holderOutcome(ref, reply, 'complete');
    if (reply[0] === 'OK') record.result = JSON.parse(json) as unknown;
    return record;
  }

  /**
   * The completion and the claim of the next tasks in one script call. Calls
   * made in one burst (a worker's slots answering the replies of one read)
   * are gathered until the burst ends (process.nextTick runs after the
   * microtasks queued now) and sent as one script call: each completion is
   * still fenced on its own. A lone call goes out as it would alone.
   */
  completeAndClaim(
    ref: ClaimRef,
    result: unknown,
    options: { review?: boolean },
    next: Required<Pick<ClaimRequest, 'agentId' | 'leaseMs'>> & ClaimRequest,
    max: number,
  ): Promise<{ record: TaskRecord; next: ClaimGrant[] }> {
    let json: string;
    let claim: Array<string | number>;
    try {
      json = JSON.stringify(result === undefined ? null : result);
      claim = this.claimArgs(next, max);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise((resolve, reject) => {
      if (this.burst === null) {
        this.burst = [];
        process.nextTick(() => this.sendBurst());
      }
      // Gathered by claim filter: one script call claims for one filter.
      const key = JSON.stringify(claim.slice(1, 6));
      this.burst.push({ ref, json, review: options.review === true, agentId: next.agentId, claim, max, key, resolve, reject });
    });
  }

  private burst: PendingCompletion[] | null = null;

  private sendBurst(): void {
    const items = this.burst ?? [];
    this.burst = null;
    // One script call per claim filter, of at most 100 completions.
    const open = new Map<string, PendingCompletion[]>();
    const groups: PendingCompletion[][] = [];
    for (const item of items) {
      let group = open.get(item.key);
      if (!group || group.length >= 100) {
        group = [];
        open.set(item.key, group);
        groups.push(group);
      }
      group.push(item);
    }
    for (const group of groups) {
      const send = group.length === 1 ? this.completeOne(group[0]!) : this.completeMany(group);
      send.catch((err: unknown) => {
        for (const item of group) item.reject(err);
      });
    }
  }

  private async completeOne(item: PendingCompletion): Promise<void> {
    const { ref, json } = item;
    const reply = await this.run('atComplete', [ref.taskId, ref.token, json, item.review ? '1' : '0', ...item.claim]);
    // A refused completion claims nothing; a repeated one hands back its first run's grants.
    const grants = reply[0] === 'OK' || reply[0] === 'DONE' ? this.grantsOf(item.agentId, reply[3]) : [];
    const record = await this.holderOutcome(ref, reply, 'complete');
    if (reply[0] === 'OK') record.result = JSON.parse(json) as unknown;
    item.resolve({ record, next: grants });
  }

  private async completeMany(group: PendingCompletion[]): Promise<void> {
    const args: Array<string | number> = [group.length];
    for (const item of group) args.push(item.ref.taskId, item.ref.token, item.json, item.review ? '1' : '0', item.max);
    args.push(...group[0]!.claim);
    const reply = await this.run('atCompleteMany', args);
    const outcomes = reply[0] as unknown[][];
    this.events.deliver(reply[1]);
    this.wakeIfReady(reply[1]);
    const grants = this.grantsOf(group[0]!.agentId, reply[2]);
    let given = 0;
    for (const [i, item] of group.entries()) {
      const outcome = outcomes[i] ?? [];
      try {
        let record: TaskRecord;
        if (outcome[0] === 'OK') {
          record = this.recordOf(outcome[1], item.ref.taskId);
          record.result = JSON.parse(item.json) as unknown;
        } else {
          // DONE (a repeated call whose first run completed it) or a refusal.
          record = await this.holderOutcome(item.ref, outcome, 'complete');
        }
        const mine = grants.slice(given, given + item.max);
        given += mine.length;
        item.resolve({ record, next: mine });
      } catch (err) {
        item.reject(err);
      }
    }
  }

  async fail(ref: ClaimRef, error: FailInput): Promise<TaskRecord> {
    const reply = await this.run('atFail', [
      ref.taskId,
      ref.token,
      error.message,
      error.kind ?? 'error',
      error.retryable === false ? '0' : '1',
      Math.random(),
    ]);
    return this.holderOutcome(ref, reply, 'fail');
  }

  async release(ref: ClaimRef, options: { feedback?: string } = {}): Promise<TaskRecord> {
    const reply = await this.run('atRelease', [ref.taskId, ref.token, options.feedback === undefined ? '0' : '1', options.feedback ?? '']);
    return this.holderOutcome(ref, reply, 'release');
  }

  async defer(ref: ClaimRef, dependencies: readonly string[]): Promise<TaskRecord> {
    const deps = [...new Set(dependencies)];
    const reply = await this.run('atDefer', [ref.taskId, ref.token, deps.join(' '), JSON.stringify(deps)]);
    return this.holderOutcome(ref, reply, 'defer');
  }

  // ---------------------------------------------------------------- review and administration

  private async admin(taskId: string, action: string, reply: Reply, withResult = false): Promise<TaskRecord> {
    if (reply[0] === 'NOTFOUND') throw new TaskNotFoundError(taskId);
    if (reply[0] === 'STATE') throw new TaskStateError(taskId, String(reply[1]), `cannot ${action} task "${taskId}": ${String(reply[2])}`);
    this.events.deliver(reply[2]);
    this.wakeIfReady(reply[2]);
    const record = this.recordOf(reply[1], taskId);
    if (!withResult) delete record.result;
    return record;
  }

  async approve(taskId: string, options: { agentId?: string } = {}): Promise<TaskRecord> {
    return this.admin(taskId, 'approve', await this.run('atReview', ['approve', taskId, options.agentId ?? '']), true);
  }

  async reopen(taskId: string, feedback: string): Promise<TaskRecord> {
    return this.admin(taskId, 'reopen', await this.run('atReview', ['reopen', taskId, feedback]));
  }

  async reject(taskId: string, reason: string): Promise<TaskRecord> {
    return this.admin(taskId, 'reject', await this.run('atReview', ['reject', taskId, reason]));
  }

  async cancel(taskId: string, reason: string): Promise<TaskRecord> {
    return this.admin(taskId, 'cancel', await this.run('atCancel', [taskId, reason]));
  }

  async retry(taskId: string): Promise<TaskRecord> {
    return this.admin(taskId, 'retry', await this.run('atRetry', [taskId]));
  }

  // ---------------------------------------------------------------- reads

  async get(taskId: string): Promise<TaskRecord | null> {
    const values = await this.conn.call('reading a task', () => this.conn.client.hmget(`${this.conn.prefix}t:${taskId}`, ...RECORD_FIELDS));
    return this.toRecord(values);
  }

  async claimRefOf(taskId: string): Promise<(ClaimRef & { agentId: string }) | null> {
    const [status, token, owner] = await this.conn.call('reading a claim', () =>
      this.conn.client.hmget(`${this.conn.prefix}t:${taskId}`, 'status', 'token', 'owner'),
    );
    return status === 'claimed' && token && owner ? { taskId, token, agentId: owner } : null;
  }

  async list(filter: ListFilter = {}): Promise<TaskRecord[]> {
    const statuses =
      filter.status === undefined ? null : ((Array.isArray(filter.status) ? filter.status : [filter.status]) as TaskStatus[]);
    const ids = statuses === null ? await this.idsOf('all') : (await Promise.all(statuses.map((s) => this.idsOf(s)))).flat();
    const wanted = statuses ? new Set<TaskStatus>(statuses) : null;
    const out: TaskRecord[] = [];
    // Records are fetched in pipelined chunks, and only until the limit is met.
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const rows = await this.conn.call('listing tasks', async () => {
        const pipeline = this.conn.client.pipeline();
        for (const id of chunk) pipeline.hmget(`${this.conn.prefix}t:${id}`, ...RECORD_FIELDS);
        return (await pipeline.exec()) ?? [];
      });
      for (const [err, values] of rows) {
        if (err) throw err;
        const record = this.toRecord(values);
        if (!record) continue;
        if (wanted && !wanted.has(record.status)) continue;
        if (filter.type !== undefined && record.type !== filter.type) continue;
        if (filter.requires !== undefined && record.requires !== filter.requires) continue;
        if (filter.owner !== undefined && record.owner !== filter.owner) continue;
        out.push(record);
        if (filter.limit !== undefined && out.length >= filter.limit) return out;
      }
    }
    return out;
  }

  /** Ids in one state, from that state's index alone (or every id, sorted). */
  private async idsOf(status: TaskStatus | 'all'): Promise<string[]> {
    const p = this.conn.prefix;
    const client = this.conn.client;
    switch (status) {
      case 'ready': {
        const lanes = await this.conn.call('listing lanes', () => client.smembers(`${p}lanes`));
        const members = (await Promise.all(lanes.sort().map((lane) => this.conn.call('listing a lane', () => client.zrange(`${p}ready:${lane}`, 0, -1))))).flat();
        return members.map((member) => member.slice(member.indexOf(':') + 1));
      }
      case 'delayed':
        return this.conn.call('listing delayed tasks', () => client.zrange(`${p}delayed`, 0, -1));
      case 'claimed':
        return (await this.conn.call('listing claims', () => client.zrange(`${p}claimed`, 0, -1))).sort();
      case 'all':
        return this.conn.call('listing tasks', () => client.zrange(`${p}all`, 0, -1));
      default:
        return this.conn.call('listing tasks', () => client.zrange(`${p}st:${status}`, 0, -1));
    }
  }

  async counts(): Promise<TaskCounts> {
    const reply = await this.run('atCounts', []);
    const counts = Object.fromEntries(TASK_STATUSES.map((status, i) => [status, Number(reply[i] ?? 0)])) as TaskCounts;
    counts.total = Number(reply[TASK_STATUSES.length] ?? 0);
    return counts;
  }

  async hasWork(filter: ClaimRequest): Promise<HasWorkResult> {
    const reply = await this.run('atHasWork', [
      filter.types === undefined ? '*' : filter.types.join(','),
      (filter.capabilities ?? []).join(','),
      filter.acceptUnrequired === false ? '0' : '1',
    ]);
    this.events.deliver(reply[2]);
    return { ready: reply[0] === '1', nextDueAt: reply[1] ? Number(reply[1]) : null };
  }

  // ---------------------------------------------------------------- maintenance

  async reap(): Promise<ReapReport> {
    const report: ReapReport = { requeued: [], failed: [], abandoned: [], repaired: [] };
    for (;;) {
      const reply = await this.run('atReap', [this.reapBatch]);
      for (const [taskId, attempt, holder] of reply[1] as Array<[string, number, string]>) {
        report.requeued.push({ taskId, attempt: Number(attempt), holder: holder || null });
      }
      report.failed.push(...(reply[2] as string[]));
      this.events.deliver(reply[3]);
      this.wakeIfReady(reply[3]);
      if (Number(reply[4]) < this.reapBatch) return report;
    }
  }

  /** Scripts are atomic, so there are no half-made transitions to repair and no temp files: recover is reap. */
  async recover(): Promise<RecoverReport> {
    return { ...(await this.reap()), sweptTempFiles: [], quarantined: [] };
  }

  // ---------------------------------------------------------------- wake-ups

  changeVersion(): number {
    return this.conn.version('tasks');
  }

  async waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    await this.conn.wait('tasks', Math.min(timeoutMs, this.rescanMs), signal, since);
  }

  async close(): Promise<void> {
    this.specCache.clear();
  }
}

interface PendingCompletion {
  ref: ClaimRef;
  json: string;
  review: boolean;
  agentId: string;
  /** The claim arguments of the next tasks (claimArgs). */
  claim: Array<string | number>;
  max: number;
  key: string;
  resolve: (outcome: { record: TaskRecord; next: ClaimGrant[] }) => void;
  reject: (err: unknown) => void;
}

/** Idempotency keys may be long and hold any character: the index stores a digest. */
function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 40);
}

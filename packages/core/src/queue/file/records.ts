import type { AttemptError, TaskRecord, TaskSpec, TaskStatus } from '../types.js';

/**
 * The records the file backend keeps on disk (beside the spec in `tasks/`),
 * their parsers, and how a record on disk becomes a {@link TaskRecord}.
 */

/** Mutable history of a task that has had more than a plain first attempt. */
export interface StateFile {
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
export interface FinalFile {
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
export interface ClaimFile {
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
export interface HeldClaim {
  taskId: string;
  token: string;
  agentId: string;
  fd: number;
  ino: number;
  attempt: number;
  spec: TaskSpec;
  state: StateFile | null;
  leaseUntil: number;
  /** The claim file's content as written (put back if a commit fails). */
  text?: string;
  /** The claim file's size in bytes. */
  bytes?: number;
}

/** A file that was there but failed to parse (and was quarantined). */
export const CORRUPT = Symbol('corrupt');
export type Read<T> = T | null | typeof CORRUPT;

/** The folder of each status that is kept as a record rather than a marker. */
export const FINAL_FOLDER = {
  review: 'review',
  completed: 'results',
  failed: 'failed',
  blocked: 'blocked',
  cancelled: 'cancelled',
} as const;

export type FinalStatus = keyof typeof FINAL_FOLDER;

export function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** Field by field, so every record has one shape (a spread of parsed JSON is slow to clone). */
export function buildRecord(
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

export function recordFromSpec(spec: TaskSpec, status: TaskStatus, state?: StateFile | null): TaskRecord {
  const record = buildRecord(spec, status, state?.attempt ?? 1, null, state?.errors ?? [], null, state?.feedback ?? [], state?.notBefore ?? null, null);
  if (state?.extraDependencies?.length) record.dependencies = union(spec.dependencies, state.extraDependencies);
  return record;
}

export function recordFromFinal(spec: TaskSpec, final: FinalFile): TaskRecord {
  const record = buildRecord(spec, final.status, final.attempt, final.owner, final.errors, final.reason, final.feedback, null, final.finishedAt);
  if ('result' in final) record.result = final.result;
  if (final.extraDependencies?.length) record.dependencies = union(spec.dependencies, final.extraDependencies);
  return record;
}

export function parseFinal(text: string): FinalFile | null {
  try {
    const record = JSON.parse(text) as FinalFile;
    if (typeof record?.status !== 'string' || !(record.status in FINAL_FOLDER)) return null;
    return finalShape(record.status as FinalStatus)(record) === null ? record : null;
  } catch {
    return null;
  }
}

export function parseClaim(text: string | null): ClaimFile | null {
  if (!text) return null;
  try {
    const claim = JSON.parse(text) as ClaimFile;
    return claimShape(claim) === null ? claim : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------ shape checks
//
// Every record read from disk is checked field by field before it is used:
// valid JSON of the wrong shape (`{}`, `[]`, a spec copied over another
// task's) is quarantined with the problem, like a garbled file, instead of
// turning into `undefined` ids or crashing every worker that reads it.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown) => typeof v === 'string';
const isStrArray = (v: unknown) => Array.isArray(v) && v.every(isStr);
const got = (v: unknown) => (Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v);

/** What is wrong with a record's shape; null when it has the fields the store relies on. */
export type ShapeCheck = (value: unknown) => string | null;

/**
 * The first check that fails, as its message. Messages are built only for a
 * failing check: every task file read on the claim path goes through here.
 */
function firstProblem(checks: ReadonlyArray<readonly [boolean, string | (() => string)]>): string | null {
  for (const [ok, problem] of checks) if (!ok) return typeof problem === 'string' ? problem : problem();
  return null;
}

function errorsProblem(v: unknown): string | null {
  if (!Array.isArray(v)) return 'errors is not a list';
  return v.every((e) => isObj(e) && isInt(e.attempt) && isStr(e.message)) ? null : 'errors holds an entry without attempt and message';
}

export function specShape(id: string): ShapeCheck {
  return (v) => {
    if (!isObj(v)) return `a task file must be an object, got ${got(v)}`;
    return firstProblem([
      [v.id === id, () => `its id is ${JSON.stringify(v.id)}, not "${id}" (a task file copied over another, or a stray file)`],
      [isStr(v.description), 'description is not a string'],
      [isStr(v.type), 'type is not a string'],
      [isNum(v.priority), 'priority is not a number'],
      [isStrArray(v.dependencies), 'dependencies is not a list of ids'],
      [v.requires === null || isStr(v.requires), 'requires is not a string or null'],
      [isInt(v.maxAttempts, 1), 'maxAttempts is not a positive integer'],
      [v.idempotencyKey === null || isStr(v.idempotencyKey), 'idempotencyKey is not a string or null'],
      [isObj(v.metadata), 'metadata is not an object'],
      [isObj(v.retry) && isNum(v.retry.baseMs) && isNum(v.retry.maxMs), 'retry is not { baseMs, maxMs }'],
      [v.leaseMs === null || isInt(v.leaseMs, 1), 'leaseMs is not a positive integer or null'],
      [isNum(v.createdAt), 'createdAt is not a number'],
      [isStr(v.seq), 'seq is not a string'],
    ]);
  };
}

export const stateShape: ShapeCheck = (v) => {
  if (!isObj(v)) return `a state file must be an object, got ${got(v)}`;
  return (
    firstProblem([
      [isInt(v.attempt, 1), 'attempt is not a positive integer'],
      [isStrArray(v.feedback), 'feedback is not a list of strings'],
      [v.budgetStart === undefined || isInt(v.budgetStart), 'budgetStart is not an integer'],
      [v.notBefore === null || v.notBefore === undefined || isNum(v.notBefore), 'notBefore is not a number or null'],
      [v.extraDependencies === undefined || isStrArray(v.extraDependencies), 'extraDependencies is not a list of ids'],
    ]) ?? errorsProblem(v.errors)
  );
};

export function finalShape(status: FinalStatus): ShapeCheck {
  return (v) => {
    if (!isObj(v)) return `a ${status} record must be an object, got ${got(v)}`;
    return (
      firstProblem([
        [v.status === status, () => `its status is ${JSON.stringify(v.status)}, not "${status}"`],
        [isInt(v.attempt, 1), 'attempt is not a positive integer'],
        [v.owner === null || isStr(v.owner), 'owner is not a string or null'],
        [isStrArray(v.feedback), 'feedback is not a list of strings'],
        [v.reason === null || isStr(v.reason), 'reason is not a string or null'],
        [isNum(v.finishedAt), 'finishedAt is not a number'],
        [!('token' in v), 'it is a claim, not a record'],
      ]) ?? errorsProblem(v.errors)
    );
  };
}

export const claimShape: ShapeCheck = (v) => {
  if (!isObj(v)) return `a claim must be an object, got ${got(v)}`;
  return firstProblem([
    [isStr(v.token), 'token is not a string'],
    [isStr(v.agentId), 'agentId is not a string'],
    [isInt(v.attempt, 1), 'attempt is not a positive integer'],
    [isNum(v.leaseMs), 'leaseMs is not a number'],
    [isNum(v.claimedAt), 'claimedAt is not a number'],
  ]);
};

export const keyShape: ShapeCheck = (v) =>
  isObj(v) && isStr(v.key) && isStr(v.id) ? null : 'an idempotency key must be { key, id }';

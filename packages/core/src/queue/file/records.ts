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
    return typeof record.status === 'string' && record.status in FINAL_FOLDER && !('token' in record) ? record : null;
  } catch {
    return null;
  }
}

export function parseClaim(text: string | null): ClaimFile | null {
  if (!text) return null;
  try {
    const claim = JSON.parse(text) as ClaimFile;
    return typeof claim.token === 'string' ? claim : null;
  } catch {
    return null;
  }
}

import { ValidationError, describeValue } from '../errors.js';
import { assertValidId, newId } from '../ids.js';
import type { RetryPolicy, TaskInput, TaskSpec } from './types.js';

export interface SpecDefaults {
  maxAttempts: number;
  retry: Required<RetryPolicy>;
  /** Largest task (description + metadata) in bytes. */
  maxTaskBytes: number;
}

const INPUT_KEYS = new Set([
  'description',
  'id',
  'dependencies',
  'priority',
  'requires',
  'type',
  'maxAttempts',
  'idempotencyKey',
  'metadata',
  'allowFailed',
  'retry',
  'leaseMs',
]);

let seqCounter = 0;

/** A first-in first-out key: time, then a per-process counter. */
export function nextSeq(now: number): string {
  seqCounter = (seqCounter + 1) % 1_679_616; // 36^4
  return `${Math.floor(now).toString(36).padStart(9, '0')}${seqCounter.toString(36).padStart(4, '0')}`;
}

/**
 * Checks a caller's task and fills in defaults. Every problem is a
 * {@link ValidationError} naming the field and the bad value; nothing is
 * written before this passes.
 */
export function normalizeTask(input: TaskInput, defaults: SpecDefaults, now: number): TaskSpec {
  if (typeof input !== 'object' || input === null) {
    throw new ValidationError(`a task must be an object with a description, got ${describeValue(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (!INPUT_KEYS.has(key)) {
      throw new ValidationError(
        `unknown task field "${key}"${hint(key)}; known fields: ${[...INPUT_KEYS].join(', ')}`,
      );
    }
  }
  const where = input.id === undefined ? 'task' : `task "${String(input.id)}"`;
  if (typeof input.description !== 'string' || input.description.trim().length === 0) {
    throw new ValidationError(`${where}: description must be a non-empty string, got ${describeValue(input.description)}`);
  }
  const id = input.id === undefined ? newId('t') : input.id;
  assertValidId('task', id);
  const dependencies: string[] = [];
  if (input.dependencies !== undefined) {
    if (!Array.isArray(input.dependencies)) {
      throw new ValidationError(`${where}: dependencies must be an array of task ids, got ${describeValue(input.dependencies)}`);
    }
    for (const dep of input.dependencies) {
      assertValidId('task', dep);
      if (!dependencies.includes(dep)) dependencies.push(dep);
    }
  }
  const priority = input.priority ?? 0;
  if (!Number.isInteger(priority) || priority < -999_999 || priority > 999_999) {
    throw new ValidationError(`${where}: priority must be an integer from -999999 to 999999, got ${describeValue(priority)}`);
  }
  const type = input.type ?? 'task';
  assertValidId('task type', type);
  let requires: string | null = null;
  if (input.requires !== undefined && input.requires !== null) {
    assertValidId('requirement', input.requires);
    requires = input.requires;
  }
  const maxAttempts = input.maxAttempts ?? defaults.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1000) {
    throw new ValidationError(`${where}: maxAttempts must be an integer from 1 to 1000, got ${describeValue(maxAttempts)}`);
  }
  let idempotencyKey: string | null = null;
  if (input.idempotencyKey !== undefined) {
    if (typeof input.idempotencyKey !== 'string' || input.idempotencyKey.length === 0 || input.idempotencyKey.length > 1024) {
      throw new ValidationError(`${where}: idempotencyKey must be a string of 1 to 1024 characters, got ${describeValue(input.idempotencyKey)}`);
    }
    idempotencyKey = input.idempotencyKey;
  }
  const metadata = input.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new ValidationError(`${where}: metadata must be a plain object, got ${describeValue(metadata)}`);
  }
  if (input.allowFailed !== undefined && typeof input.allowFailed !== 'boolean') {
    throw new ValidationError(`${where}: allowFailed must be true or false, got ${describeValue(input.allowFailed)}`);
  }
  const retry = { ...defaults.retry, ...(input.retry ?? {}) };
  if (!Number.isFinite(retry.baseMs) || retry.baseMs < 0 || !Number.isFinite(retry.maxMs) || retry.maxMs < retry.baseMs) {
    throw new ValidationError(`${where}: retry needs 0 <= baseMs <= maxMs, got ${describeValue(input.retry)}`);
  }
  let leaseMs: number | null = null;
  if (input.leaseMs !== undefined) {
    if (!Number.isInteger(input.leaseMs) || input.leaseMs < 10) {
      throw new ValidationError(`${where}: leaseMs must be an integer of at least 10, got ${describeValue(input.leaseMs)}`);
    }
    leaseMs = input.leaseMs;
  }
  const spec: TaskSpec = {
    id,
    description: input.description,
    type,
    priority,
    dependencies,
    requires,
    maxAttempts,
    idempotencyKey,
    metadata,
    allowFailed: input.allowFailed ?? false,
    retry,
    leaseMs,
    createdAt: now,
    seq: nextSeq(now),
  };
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(spec));
  } catch (err) {
    throw new ValidationError(`${where}: metadata must be JSON-serialisable (${(err as Error).message})`);
  }
  if (size > defaults.maxTaskBytes) {
    throw new ValidationError(
      `${where} is ${size} bytes, over the limit of ${defaults.maxTaskBytes}: keep large inputs in files and put their paths in metadata`,
    );
  }
  return spec;
}

const SIMILAR: Record<string, string> = {
  deps: 'dependencies',
  dependsOn: 'dependencies',
  depends_on: 'dependencies',
  dependecies: 'dependencies',
  max_attempts: 'maxAttempts',
  idempotency_key: 'idempotencyKey',
  key: 'idempotencyKey',
  allow_failed: 'allowFailed',
  require: 'requires',
  role: 'requires',
  lease: 'leaseMs',
  desc: 'description',
  prompt: 'description',
};

function hint(key: string): string {
  const guess = SIMILAR[key];
  return guess ? ` (did you mean "${guess}"?)` : '';
}

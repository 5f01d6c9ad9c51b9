import { randomBytes } from 'node:crypto';
import { InvalidIdError } from './errors.js';

const processPrefix = randomBytes(4).toString('hex');
let uniqueCounter = 0;

/** Ids become file names, so they are restricted to a portable, path-safe alphabet. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const RESERVED = new Set(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf']);

/**
 * Throws {@link InvalidIdError} unless `value` is a safe id: 1-128 characters of
 * `A-Z a-z 0-9 . _ -`, starting with a letter or digit, not `..`-like, not an
 * Object.prototype key.
 */
export function assertValidId(kind: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new InvalidIdError(kind, value, 'it must be a string');
  if (value.length === 0) throw new InvalidIdError(kind, value, 'it is empty');
  if (value.includes('\0')) throw new InvalidIdError(kind, value, 'it contains a NUL byte');
  if (value.includes('/') || value.includes('\\')) {
    throw new InvalidIdError(kind, value, 'it contains a path separator');
  }
  if (RESERVED.has(value)) throw new InvalidIdError(kind, value, 'it is a reserved JavaScript property name');
  if (value.length > 128) throw new InvalidIdError(kind, value, 'it is longer than 128 characters');
  if (!ID_PATTERN.test(value)) {
    throw new InvalidIdError(
      kind,
      value,
      'use 1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit',
    );
  }
}

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value) && !RESERVED.has(value);
}

/**
 * A new id that sorts roughly by creation time: `<prefix>-<time36><random><count36>`.
 * The random part is drawn once per process, so ids from different processes never collide.
 */
export function newId(prefix = 't'): string {
  uniqueCounter += 1;
  return `${prefix}-${Date.now().toString(36)}${processPrefix.slice(0, 6)}${uniqueCounter.toString(36)}`;
}

/** A random token (hex) from the system's secure generator. */
export function randomToken(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}


/**
 * A name part unique across processes and calls, cheaper than
 * {@link randomToken}: a random per-process prefix and a counter.
 */
export function uniqueSuffix(): string {
  uniqueCounter += 1;
  return `${processPrefix}${uniqueCounter.toString(36)}`;
}

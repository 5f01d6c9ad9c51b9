import { randomBytes } from 'node:crypto';
import { InvalidIdError } from './errors.js';

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

let counter = 0;

/**
 * A new id that sorts roughly by creation time: `<prefix>-<time36><count36><random>`.
 * Unique across processes thanks to the random suffix.
 */
export function newId(prefix = 't'): string {
  counter = (counter + 1) % 1296;
  return `${prefix}-${Date.now().toString(36)}${counter.toString(36).padStart(2, '0')}${randomBytes(4).toString('hex')}`;
}

/** A random token (hex) from the system's secure generator. */
export function randomToken(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

const processPrefix = randomBytes(4).toString('hex');
let uniqueCounter = 0;

/**
 * A name part unique across processes and calls, cheaper than
 * {@link randomToken}: a random per-process prefix and a counter.
 */
export function uniqueSuffix(): string {
  uniqueCounter += 1;
  return `${processPrefix}${uniqueCounter.toString(36)}`;
}

import { ValidationError, describeValue } from './errors.js';

/**
 * One way to check the options of every public constructor: each rule names
 * the option, says what it accepts, and a bad value throws
 * {@link InvalidOptionError} (a ValidationError) with the option's name and
 * the value, at construction, before anything is written.
 */

/**
 * The longest delay Node's timers take (2^31 - 1 ms, about 24.8 days). A
 * longer one fires at once (with a TimeoutOverflowWarning), so every
 * duration that ends up in a timer is refused above it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** An option with a value the framework cannot accept. */
export class InvalidOptionError extends ValidationError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly expected: string,
    /** Whose option it is, e.g. `agent "w1"`. */
    readonly where?: string,
  ) {
    super(`${where ? `${where}: ` : ''}${option} must be ${expected}, got ${describeValue(value)}`);
  }
}

export interface Range {
  min?: number;
  max?: number;
}

function rangeText(kind: string, { min, max }: Range): string {
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (min !== undefined) return `${kind} of at least ${min}`;
  if (max !== undefined) return `${kind} of at most ${max}`;
  return kind;
}

/** An integer within the range. */
export function checkInt(option: string, value: unknown, range: Range = {}): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    (range.min !== undefined && value < range.min) ||
    (range.max !== undefined && value > range.max)
  ) {
    throw new InvalidOptionError(option, value, rangeText('an integer', range));
  }
  return value;
}

/** A finite number within the range. */
export function checkNumber(option: string, value: unknown, range: Range = {}): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (range.min !== undefined && value < range.min) ||
    (range.max !== undefined && value > range.max)
  ) {
    throw new InvalidOptionError(option, value, rangeText('a number', range));
  }
  return value;
}

/**
 * Milliseconds that a timer will wait: a finite number from `min` (default 1)
 * to {@link MAX_TIMER_MS}, so it can neither fire at once by overflow nor be zero.
 */
export function checkDuration(option: string, value: unknown, range: Range = {}): number {
  const min = range.min ?? 1;
  const max = Math.min(range.max ?? MAX_TIMER_MS, MAX_TIMER_MS);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionError(
      option,
      value,
      `a number of milliseconds from ${min} to ${max}${max === MAX_TIMER_MS ? ' (about 24.8 days, the longest timer Node.js runs)' : ''}`,
    );
  }
  return value;
}

export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'true or false');
  return value;
}

export function checkFunction<T>(option: string, value: T): T {
  if (typeof value !== 'function') throw new InvalidOptionError(option, value, 'a function');
  return value;
}

/** A rule for one option; `undefined` (the option left out) always passes. */
export type OptionRule = (option: string, value: unknown) => unknown;

export const rules = {
  int: (range: Range = {}): OptionRule => (o, v) => checkInt(o, v, range),
  number: (range: Range = {}): OptionRule => (o, v) => checkNumber(o, v, range),
  duration: (range: Range = {}): OptionRule => (o, v) => checkDuration(o, v, range),
  boolean: (): OptionRule => checkBoolean,
  function: (): OptionRule => checkFunction,
  oneOf:
    (values: readonly string[]): OptionRule =>
    (o, v) => {
      if (typeof v !== 'string' || !values.includes(v)) throw new InvalidOptionError(o, v, `one of ${values.join(', ')}`);
      return v;
    },
  object:
    (shape: Record<string, OptionRule>): OptionRule =>
    (o, v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidOptionError(o, v, 'an object');
      checkOptions(v, shape, undefined, `${o}.`);
      return v;
    },
};

/**
 * Checks the options a constructor was given against its rules. Options that
 * are not given (undefined) are left to their defaults; options without a
 * rule are not looked at (a subclass or a wrapper checks its own).
 */
export function checkOptions(options: unknown, shape: Record<string, OptionRule>, where?: string, prefix = ''): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(prefix ? prefix.slice(0, -1) : 'options', options, 'an object', where);
  }
  const record = options as Record<string, unknown>;
  for (const [name, rule] of Object.entries(shape)) {
    const value = record[name];
    if (value === undefined) continue;
    try {
      rule(`${prefix}${name}`, value);
    } catch (err) {
      if (where && err instanceof InvalidOptionError && !err.where) throw new InvalidOptionError(err.option, err.value, err.expected, where);
      throw err;
    }
  }
}

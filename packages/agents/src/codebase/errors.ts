import { AgentTeamError, ValidationError, describeValue } from '@agent-team/core';

/**
 * A refused file operation that is not a confinement problem: writing without
 * `allowWrite`, writing into `.git` or the lock folder, reading a folder or a
 * binary file, a lost lock. The message says what to do instead; nothing was
 * written.
 */
export class CodebaseAccessError extends AgentTeamError {}

/**
 * A write refused because the file is not as this agent last read it: another
 * agent, a command or a merge changed it since (or the agent never read it).
 * Read it again, then write or edit.
 */
export class StaleFileError extends CodebaseAccessError {}

/** A whole number >= 1, or the fallback when absent; otherwise a ValidationError naming the option. */
export function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${name} must be a whole number >= 1, got ${describeValue(value)}`);
  }
  return value;
}

import { AgentTeamError, checkInt } from '@agent-team/core';

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

/** A whole number >= 1, or the fallback when absent; otherwise core's InvalidOptionError naming the option. */
export function positiveInteger(name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : checkInt(name, value, { min: 1 });
}

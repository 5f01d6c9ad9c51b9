import { AgentTeamError, ValidationError, describeValue } from '../errors.js';

/**
 * A path that would leave a codebase root: `..`, an absolute path, a drive or
 * UNC prefix, a NUL byte, or a symbolic link (anywhere along the path) whose
 * target is outside the root. Nothing was read or written.
 */
export class PathOutsideRootError extends ValidationError {
  constructor(
    readonly path: unknown,
    readonly root: string,
    readonly reason: string,
  ) {
    super(
      `path ${describeValue(path)} is outside the codebase root "${root}": ${reason}; ` +
        'use a path relative to the root, such as "src/index.ts"',
    );
  }
}

/** Who holds a resource lock, as its owner record says. */
export interface LockHolder {
  /** The agent id given to `acquire`. */
  owner: string;
  pid: number;
  host: string;
  /** When the lock was taken (epoch ms, by the holder's clock). */
  since: number;
}

/** The path is locked by another holder and the wait (if any) ran out. */
export class ResourceLockedError extends AgentTeamError {
  constructor(
    /** The locked path, relative to the root. */
    readonly path: string,
    /** The current holder, or undefined when its owner record could not be read (it is being written). */
    readonly holder: LockHolder | undefined,
    /** How long this caller waited before giving up. */
    readonly waitedMs: number,
    now: number = Date.now(),
  ) {
    super(`path "${path}" is locked by ${describeHolder(holder, now)}; gave up after waiting ${Math.round(waitedMs)} ms: ` +
      'wait longer (waitMs) or work on another file');
  }
}

/**
 * A lock its holder no longer owns: its heartbeat stalled past the stale time
 * and another agent took it over, or its folder was removed. Whatever the
 * holder meant to write through it was not written.
 */
export class ResourceLockLostError extends AgentTeamError {
  constructor(
    readonly path: string,
    readonly owner: string,
    readonly reason: string,
  ) {
    super(
      `the lock on path "${path}" held by agent "${owner}" was lost: ${reason}; ` +
        'release it, re-read the file (another agent may have changed it) and acquire the lock again',
    );
  }
}

export function describeHolder(holder: LockHolder | undefined, now: number = Date.now()): string {
  if (!holder) return 'another agent (its owner record is still being written)';
  const ago = Math.max(0, now - holder.since);
  return (
    `agent "${holder.owner}" (pid ${holder.pid} on host ${holder.host}) ` +
    `since ${new Date(holder.since).toISOString()} (${formatAge(ago)} ago)`
  );
}

function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

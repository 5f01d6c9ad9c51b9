/**
 * Every error the framework throws on purpose extends {@link AgentTeamError}.
 * `name` follows the concrete class, so `err.name === 'LeaseLostError'` works
 * across realms and after serialisation. `code` is stable for scripts.
 */
export class AgentTeamError extends Error {
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? toCode(new.target.name);
  }
}

function toCode(name: string): string {
  return name
    .replace(/Error$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase();
}

/** A caller passed a value the framework cannot accept; nothing was written. */
export class ValidationError extends AgentTeamError {}

/** An id (task, agent, team, message, writer) that is not safe to use as a file name. */
export class InvalidIdError extends ValidationError {
  constructor(
    readonly kind: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`invalid ${kind} id ${describeValue(value)}: ${reason}`);
  }
}

export class UnknownDependencyError extends ValidationError {
  constructor(
    readonly taskId: string,
    readonly dependency: string,
  ) {
    super(
      `unknown dependency "${dependency}" for task "${taskId}": add "${dependency}" first, or in the same batch`,
    );
  }
}

export class DependencyCycleError extends ValidationError {
  constructor(readonly cycle: readonly string[]) {
    super(`dependency cycle: ${cycle.map((id) => `"${id}"`).join(' -> ')}; remove one of these edges`);
  }
}

export class DuplicateTaskError extends ValidationError {
  constructor(readonly taskId: string) {
    super(`task "${taskId}" already exists: choose another id, or omit it to get a generated one`);
  }
}

export class TaskNotFoundError extends AgentTeamError {
  constructor(readonly taskId: string) {
    super(`task "${taskId}" not found in this workspace`);
  }
}

/** An operation that the task's current state does not allow (cancel a completed task, ...). */
export class TaskStateError extends AgentTeamError {
  constructor(
    readonly taskId: string,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The caller no longer holds the task: its lease expired and another agent
 * took it over, or it was cancelled. Its result was not recorded.
 */
export class LeaseLostError extends AgentTeamError {
  constructor(
    readonly taskId: string,
    readonly token: string,
    reason = 'the lease expired and the task was taken over',
  ) {
    super(`lease lost on task "${taskId}" (token ${token}): ${reason}; the result was not recorded`);
  }
}

/** A message body or task payload over the configured size limit. */
export class PayloadTooLargeError extends ValidationError {
  constructor(
    readonly what: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${what} is ${size} bytes, over the limit of ${limit} bytes: store large data in a file and send its path`);
  }
}

/** The workspace folder is not usable: unknown format version, not a directory, ... */
export class WorkspaceError extends AgentTeamError {}

/**
 * The storage backend (a Redis server) could not be reached, or stayed
 * unreachable longer than the configured wait. Calls that fail with it are
 * safe to repeat: the Redis backend's transitions are idempotent.
 */
export class BackendUnavailableError extends AgentTeamError {}

/**
 * The workspace could not be written: the disk is full (ENOSPC, EDQUOT), or a
 * folder is read-only or not writable by this process (EROFS, EACCES, EPERM).
 * The operation changed nothing that a reader would see (or `recover` repairs
 * it at once). `transient` says whether waiting may help (a full disk can be
 * cleared while the team waits; a read-only folder needs a person).
 */
export class StorageError extends AgentTeamError {
  readonly errno: string;
  readonly transient: boolean;

  constructor(errno: string, what: string, cause?: unknown) {
    const transient = errno === 'ENOSPC' || errno === 'EDQUOT';
    const why =
      errno === 'ENOSPC'
        ? 'disk full (ENOSPC)'
        : errno === 'EDQUOT'
          ? 'disk quota exceeded (EDQUOT)'
          : errno === 'EROFS'
            ? 'read-only file system (EROFS)'
            : `permission denied (${errno})`;
    super(`${why} while ${what}${transient ? '; free some space: work resumes by itself' : '; make the workspace writable for this user'}`, {
      cause,
      code: transient ? 'STORAGE_FULL' : 'STORAGE_NOT_WRITABLE',
    });
    this.errno = errno;
    this.transient = transient;
  }
}

/** Waiting was cut short by an AbortSignal. */
export class AbortError extends AgentTeamError {
  constructor(message = 'the operation was aborted') {
    super(message);
  }
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  }
  if (value === undefined) return 'undefined';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The `code` of a Node.js system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : describeValue(err);
}

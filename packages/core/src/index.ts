export * from './errors.js';
export { InvalidOptionError, MAX_TIMER_MS, checkBoolean, checkDuration, checkFunction, checkInt, checkNumber, checkOptions, rules, type OptionRule, type Range } from './options.js';
export * from './ids.js';
export * from './clock.js';
export { Workspace, type WorkspaceOptions, LAYOUT, WORKSPACE_FORMAT, WORKSPACE_VERSION } from './workspace.js';
export { FileIO, listDir, isProcessAlive } from './fs/file-io.js';
export { EventLog, type ReadEventsOptions, type FollowEventsOptions } from './events/event-log.js';
export * from './events/types.js';
export { ChangeNotifier, type ChangeNotifierOptions } from './watch/change-notifier.js';
export * from './queue/types.js';
export type { TaskStore, ClaimGrant, AddOutcome, FailInput, HasWorkResult } from './queue/task-store.js';
export { TaskQueue, Claim, type TaskQueueOptions, type WaitOptions, type QueueStatus } from './queue/task-queue.js';
export { FileTaskStore, type FileTaskStoreOptions } from './queue/file/file-task-store.js';
export { normalizeTask, nextSeq } from './queue/spec.js';
export { backoffDelay } from './queue/backoff.js';
export * from './bus/types.js';
export type { MessageStore } from './bus/message-store.js';
export { FileMessageStore, type FileMessageStoreOptions } from './bus/file-message-store.js';
export { MessageBus, KIND_PATTERN, type MessageBusEvents, type MessageBusOptions, type SubscribeOptions, type Subscription } from './bus/message-bus.js';
export {
  FileBackend,
  openBackend,
  registerRedisBackend,
  type Backend,
  type EventStream,
  type AgentRecord,
  type AgentDirectory,
  type FileBackendOptions,
  type OpenBackendOptions,
} from './backend.js';
export { PathOutsideRootError, ResourceLockedError, ResourceLockLostError, describeHolder, type LockHolder } from './locks/lock-errors.js';
export {
  realRoot,
  isInside,
  confinedSegments,
  resolveConfined,
  assertOpenedInside,
  O_NOFOLLOW,
  O_NONBLOCK,
  type ConfinedPath,
} from './locks/path-confinement.js';
export {
  ResourceLocks,
  ResourceLock,
  DEFAULT_LOCK_FOLDER,
  type ResourceLocksOptions,
  type AcquireOptions,
  type LockInfo,
} from './locks/resource-locks.js';

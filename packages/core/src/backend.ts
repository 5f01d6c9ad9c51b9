import fs from 'node:fs';
import type { EventEmitter } from 'eventemitter3';
import type { FileMessageStoreOptions } from './bus/file-message-store.js';
import { FileMessageStore } from './bus/file-message-store.js';
import type { MessageStore } from './bus/message-store.js';
import type { Clock } from './clock.js';
import { ValidationError, errnoCode, errorMessage } from './errors.js';
import { EventLog, type FollowEventsOptions, type ReadEventsOptions } from './events/event-log.js';
import type { EventInput, TeamEvent, TeamEventListeners, TeamEventType } from './events/types.js';
import { listDir } from './fs/file-io.js';
import { assertValidId } from './ids.js';
import { FileTaskStore, type FileTaskStoreOptions } from './queue/file/file-task-store.js';
import type { TaskStore } from './queue/task-store.js';
import { Workspace, type WorkspaceOptions } from './workspace.js';

/** The event-log seam: append in order, listen in process, read and follow the merged stream. */
export interface EventStream {
  append(event: EventInput): TeamEvent;
  on<K extends EventEmitter.EventNames<TeamEventListeners>>(type: K, listener: EventEmitter.EventListener<TeamEventListeners, K>): unknown;
  off<K extends EventEmitter.EventNames<TeamEventListeners>>(type: K, listener: EventEmitter.EventListener<TeamEventListeners, K>): unknown;
  /** Every event, merged across writers, in time order. */
  read<K extends TeamEventType = TeamEventType>(options?: ReadEventsOptions<K>): Promise<TeamEvent<K>[]>;
  /** The stream from `since`, then live events, until the signal aborts. */
  follow<K extends TeamEventType = TeamEventType>(options?: FollowEventsOptions<K>): AsyncGenerator<TeamEvent<K>>;
}

/** What an agent process reports about itself, for `status` and `watch`. */
export interface AgentRecord {
  id: string;
  role: string;
  model: string;
  /** Also satisfies these requirements (specialty, ...). */
  capabilities: string[];
  status: 'starting' | 'idle' | 'working' | 'stopped';
  /** Tasks in hand right now. */
  current: string[];
  tasksDone: number;
  pid: number;
  host: string;
  /** Epoch ms. */
  startedAt: number;
  lastSeen: number;
  stoppedReason?: string;
}

/** The agent directory seam: last word from each agent that joined the team. */
export interface AgentDirectory {
  report(record: AgentRecord): Promise<void>;
  list(): Promise<AgentRecord[]>;
}

/**
 * Everything a team stores, behind one object: the task queue's store, the
 * message bus's store, the event log and the agent directory. The file backend
 * (a workspace folder) is the embedded default; a Redis backend implements the
 * same seams for teams that span machines.
 */
export interface Backend {
  /** `file`, `redis`, ... */
  readonly kind: string;
  /** Where it lives, for messages: a folder, or a URL without its password. */
  readonly location: string;
  readonly clock: Clock;
  readonly tasks: TaskStore;
  readonly messages: MessageStore;
  readonly events: EventStream;
  readonly agents: AgentDirectory;
  close(): Promise<void>;
}

/** EventLog as an EventStream: the file backend's event log. */
class FileEventStream implements EventStream {
  constructor(private readonly log: EventLog) {}
  append(event: EventInput): TeamEvent {
    return this.log.append(event);
  }
  on<K extends EventEmitter.EventNames<TeamEventListeners>>(type: K, listener: EventEmitter.EventListener<TeamEventListeners, K>): this {
    this.log.on(type, listener);
    return this;
  }
  off<K extends EventEmitter.EventNames<TeamEventListeners>>(type: K, listener: EventEmitter.EventListener<TeamEventListeners, K>): this {
    this.log.off(type, listener);
    return this;
  }
  async read<K extends TeamEventType = TeamEventType>(options?: ReadEventsOptions<K>): Promise<TeamEvent<K>[]> {
    return EventLog.read(this.log.dir, options);
  }
  follow<K extends TeamEventType = TeamEventType>(options?: FollowEventsOptions<K>): AsyncGenerator<TeamEvent<K>> {
    return EventLog.follow(this.log.dir, options);
  }
}

/** `agents/<id>.json`, written atomically: the last report of each agent. */
class FileAgentDirectory implements AgentDirectory {
  constructor(private readonly ws: Workspace) {}
  async report(record: AgentRecord): Promise<void> {
    assertValidId('agent', record.id);
    try {
      this.ws.io.writeAtomic(this.ws.path('agents', `${record.id}.json`), JSON.stringify(record));
    } catch (err) {
      // A report only feeds `status` and `watch`: on a full disk or a read-only agents/ it is skipped, the work goes on.
      if (!['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM'].includes(errnoCode(err) ?? '')) throw err;
    }
  }
  async list(): Promise<AgentRecord[]> {
    const out: AgentRecord[] = [];
    for (const name of listDir(this.ws.path('agents')).sort()) {
      if (!name.endsWith('.json')) continue;
      const file = this.ws.path('agents', name);
      const text = this.ws.readFileOrQuarantine(file, `agent record agents/${name}`);
      if (text === null) continue;
      try {
        const record = JSON.parse(text) as AgentRecord;
        if (typeof record !== 'object' || record === null || typeof record.id !== 'string' || typeof record.status !== 'string') {
          this.ws.quarantine(file, `agent record agents/${name} has the wrong shape: it needs id and status`);
          continue;
        }
        out.push(record);
      } catch (err) {
        if (fs.existsSync(file)) this.ws.quarantine(file, `agent record is not valid JSON: ${errorMessage(err)}`);
      }
    }
    return out;
  }
}

export interface FileBackendOptions extends WorkspaceOptions, FileTaskStoreOptions, FileMessageStoreOptions {}

/** A workspace folder as a Backend. */
export class FileBackend implements Backend {
  readonly kind = 'file';
  readonly location: string;
  readonly clock: Clock;
  readonly tasks: FileTaskStore;
  readonly messages: FileMessageStore;
  readonly events: EventStream;
  readonly agents: AgentDirectory;

  constructor(
    readonly workspace: Workspace,
    options: FileBackendOptions = {},
    private readonly ownsWorkspace = false,
  ) {
    this.location = workspace.root;
    this.clock = workspace.clock;
    this.tasks = new FileTaskStore(workspace, options);
    this.messages = new FileMessageStore(workspace, options);
    this.events = new FileEventStream(workspace.events);
    this.agents = new FileAgentDirectory(workspace);
  }

  static open(dir: string, options: FileBackendOptions = {}): FileBackend {
    return new FileBackend(Workspace.open(dir, options), options, true);
  }

  private closing: Promise<void> | null = null;

  /** Closes the stores (and the workspace if this backend opened it). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.tasks.close();
      await this.messages.close();
      if (this.ownsWorkspace) await this.workspace.close();
    })();
    return this.closing;
  }
}

export interface OpenBackendOptions extends FileBackendOptions {
  /** Names this team's keys in a shared Redis (`agent-team:{<namespace>}:...`). @default 'default' */
  namespace?: string;
  /**
   * Redis: how long a call waits for the server to come back (reconnect,
   * restart) before failing with BackendUnavailableError. More options:
   * `RedisBackend.open` from `@agent-team/core/redis`. @default 30000
   */
  reconnectTimeoutMs?: number;
}

type RedisOpener = (url: string, options: OpenBackendOptions) => Promise<Backend>;
let redisOpener: RedisOpener | null = null;

/** Lets the Redis module plug itself in (it registers on import). */
export function registerRedisBackend(opener: RedisOpener): void {
  redisOpener = opener;
}

/**
 * Opens a backend from a target: a folder path (the file backend), a
 * `redis://` or `rediss://` URL, an open Workspace, or a Backend (returned
 * as is).
 */
export async function openBackend(target: string | Workspace | Backend, options: OpenBackendOptions = {}): Promise<Backend> {
  if (target instanceof Workspace) return new FileBackend(target, options);
  if (typeof target !== 'string') {
    if (target && typeof target === 'object' && 'tasks' in target && 'messages' in target) return target;
    throw new ValidationError(`expected a folder, a redis:// URL or a Backend, got ${JSON.stringify(target)}`);
  }
  if (/^rediss?:\/\//.test(target)) {
    if (!redisOpener) {
      // A variable specifier: the Redis module (and ioredis) load only when a redis:// URL is used.
      const redisModule = './redis/index.js';
      try {
        await import(redisModule);
      } catch (err) {
        throw new ValidationError(`the Redis backend could not be loaded (${errorMessage(err)}): install ioredis next to @agent-team/core`);
      }
    }
    if (!redisOpener) throw new ValidationError('the Redis backend did not register itself');
    return redisOpener(target, options);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    throw new ValidationError(`unsupported backend ${JSON.stringify(target.replace(/\/\/[^@/]*@/, '//***@'))}: use a folder path or a redis:// URL`);
  }
  return FileBackend.open(target, options);
}

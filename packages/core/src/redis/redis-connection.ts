import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import { AbortError, BackendUnavailableError, errorMessage } from '../errors.js';
import { assertValidId } from '../ids.js';
import { SCRIPTS, type ScriptName } from './scripts.js';

export interface RedisConnectionOptions {
  /** Names this team's keys: `agent-team:{<namespace>}:...`. @default 'default' */
  namespace?: string;
  /** How long a call waits for Redis to come back (reconnects, a restart loading its AOF) before it fails with BackendUnavailableError. @default 30000 */
  reconnectTimeoutMs?: number;
  /** How long opening waits for the first connection. @default 10000 */
  connectTimeoutMs?: number;
  /** Approximate cap on the number of entries kept in the team's event stream (`XADD MAXLEN ~`); an entry holds the events of one transition (several for an add or a burst of completions). @default 1000000 */
  eventsMaxLen?: number;
  /** Extra ioredis options (TLS, sentinels, ...), merged over the backend's own. @default {} */
  redisOptions?: RedisOptions;
}

type Channel = 'tasks' | 'messages';
type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;

/** Redis error replies that mean "not now" rather than "never": worth waiting for. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/;

/**
 * Replaces the credentials of a redis:// URL with `***`, and any occurrence of
 * the password itself, so no message, event or location ever carries it.
 */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function passwordOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    const password = decodeURIComponent(parsed.password);
    return password.length > 0 ? password : null;
  } catch {
    return null;
  }
}

/**
 * One team's connection to Redis: the command client (with the scripts
 * defined on it), a subscriber for wake-ups, the key prefix, and the retry
 * policy. Every call goes through {@link call}: a connection lost mid-call is
 * retried once Redis answers again, which is safe because every script is
 * idempotent (a repeated claim hands back the same grant, a repeated commit
 * answers DONE). Errors never carry the password.
 */
export class RedisConnection {
  readonly prefix: string;
  /** The team's key that routes every script to its hash slot. */
  readonly routeKey: string;
  readonly location: string;
  readonly namespace: string;
  readonly eventsMaxLen: number;
  private readonly password: string | null;
  private readonly reconnectTimeoutMs: number;
  private subscriber: Redis | null = null;
  private readonly versions: Record<Channel, number> = { tasks: 0, messages: 0 };
  private readonly listeners = new Set<(channel: Channel | '*') => void>();
  private lastError = '';
  private closed = false;

  private constructor(
    readonly client: Redis,
    url: string,
    namespace: string,
    options: RedisConnectionOptions,
  ) {
    this.namespace = namespace;
    this.prefix = `agent-team:{${namespace}}:`;
    this.routeKey = `${this.prefix}all`;
    this.location = redactUrl(url);
    this.password = passwordOf(url);
    this.reconnectTimeoutMs = options.reconnectTimeoutMs ?? 30_000;
    this.eventsMaxLen = options.eventsMaxLen ?? 1_000_000;
    for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 1, lua });
  }

  /** Connects (failing fast with a clear, password-free error) and starts listening for wake-ups. */
  static async open(url: string, options: RedisConnectionOptions = {}): Promise<RedisConnection> {
    const namespace = options.namespace ?? 'default';
    assertValidId('team namespace', namespace);
    const client = new Redis(url, {
      lazyConnect: true,
      // Commands fail after two reconnect attempts; call() then waits and retries them itself.
      maxRetriesPerRequest: 2,
      // A command in flight when the connection drops is sent again after the
      // reconnect. That is safe only because every script is idempotent: a
      // repeated claim (same claim id) hands back the grant its first run made,
      // a repeated commit answers DONE. (Turned off, ioredis would leave such
      // a command's promise pending forever.)
      autoResendUnfulfilledCommands: true,
      retryStrategy: (times: number) => Math.min(25 * times, 500),
      connectionName: `agent-team:${namespace}`,
      ...options.redisOptions,
    });
    const conn = new RedisConnection(client, url, namespace, options);
    client.on('error', (err: unknown) => {
      conn.lastError = conn.redact(errorMessage(err));
    });
    try {
      await withTimeout(client.connect(), options.connectTimeoutMs ?? 10_000, 'connecting');
    } catch (err) {
      client.disconnect();
      // The connection error event often says more ("NOAUTH ...") than the rejection ("Connection is closed.").
      const why = conn.redact(errorMessage(err));
      const detail = conn.lastError && conn.lastError !== why ? `${why} (${conn.lastError})` : why;
      throw new BackendUnavailableError(
        `cannot connect to Redis at ${conn.location}: ${detail}; check that redis-server is running there and that the URL (and its password) is right`,
      );
    }
    try {
      await conn.startSubscriber();
    } catch (err) {
      await conn.close();
      throw new BackendUnavailableError(
        `cannot subscribe to wake-ups on Redis at ${conn.location}: ${conn.redact(errorMessage(err))}; check the server's client limits (maxclients)`,
      );
    }
    return conn;
  }

  /** Removes the password from a message. */
  redact(text: string): string {
    let out = redactUrl(text);
    if (this.password) out = out.split(this.password).join('***');
    return out;
  }

  private async startSubscriber(): Promise<void> {
    const sub = this.client.duplicate({ lazyConnect: true, maxRetriesPerRequest: null, connectionName: `agent-team:${this.namespace}:wake` });
    this.subscriber = sub;
    sub.on('error', (err: unknown) => {
      this.lastError = this.redact(errorMessage(err));
    });
    sub.on('message', (channel: string) => {
      if (channel === `${this.prefix}wake:tasks`) this.bump('tasks');
      else if (channel === `${this.prefix}wake:messages`) this.bump('messages');
    });
    // After a reconnect, rings sent while we were away are lost: every waiter re-scans.
    sub.on('ready', () => this.bump('*'));
    await withTimeout(sub.connect(), 10_000, 'connecting the subscriber');
    await sub.subscribe(`${this.prefix}wake:tasks`, `${this.prefix}wake:messages`);
  }

  /** Moves a wake-up counter and wakes the waiters of this process. */
  bump(channel: Channel | '*'): void {
    if (channel === '*') {
      this.versions.tasks += 1;
      this.versions.messages += 1;
    } else {
      this.versions[channel] += 1;
    }
    for (const listener of [...this.listeners]) listener(channel);
  }

  version(channel: Channel): number {
    return this.versions[channel];
  }

  /**
   * Resolves when `channel` may have news (a pub/sub hint), after
   * `timeoutMs`, or at once if `since` is stale. Rejects on abort.
   */
  wait(channel: Channel, timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortError());
        return;
      }
      if (since !== undefined && since !== this.versions[channel]) {
        resolve();
        return;
      }
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const listener = (rung: Channel | '*') => {
        if (rung === channel || rung === '*') finish();
      };
      const onAbort = () => finish(new AbortError());
      const timer = setTimeout(() => finish(), Math.max(0, timeoutMs));
      this.listeners.add(listener);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs one of the scripts with the common arguments; `args` is rebuilt on each try so `now` stays current. */
  async script(name: ScriptName, args: () => Array<string | number>): Promise<unknown[]> {
    const fn = (this.client as unknown as Record<ScriptName, ScriptFn>)[name];
    return (await this.call(name, () => fn.call(this.client, this.routeKey, ...args()))) as unknown[];
  }

  /**
   * Runs a command, retrying across lost connections until Redis answers or
   * `reconnectTimeoutMs` passes. Only idempotent operations come through here.
   */
  async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.reconnectTimeoutMs;
    for (;;) {
      if (this.closed) throw new BackendUnavailableError(`the Redis backend at ${this.location} is closed`);
      try {
        return await op();
      } catch (err) {
        const message = errorMessage(err);
        if (isReplyError(err) && !TRANSIENT_REPLY.test(message)) {
          throw new BackendUnavailableError(`Redis at ${this.location} refused ${what}: ${this.redact(message)}`);
        }
        if (Date.now() >= deadline || this.closed) {
          const why = this.redact(errorMessage(err));
          throw new BackendUnavailableError(
            `Redis at ${this.location} did not answer ${what} for ${this.reconnectTimeoutMs} ms (${why}${this.lastError && this.lastError !== why ? `; last connection error: ${this.lastError}` : ''}): check that redis-server is running; the call is safe to repeat`,
          );
        }
        await this.waitReady(deadline);
      }
    }
  }

  private waitReady(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off('ready', done);
        resolve();
      };
      // Already connected (e.g. Redis was LOADING): pause briefly before asking again.
      const pause = this.client.status === 'ready' ? 50 : Math.min(250, Math.max(0, deadline - Date.now()));
      const timer = setTimeout(done, pause);
      if (this.client.status !== 'ready') this.client.once('ready', done);
    });
  }

  /** Keys of this team (SCAN, never KEYS), for tests and tooling. */
  async keys(): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.client.scan(cursor, 'MATCH', `${escapeGlob(this.prefix)}*`, 'COUNT', 1000);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
    return out;
  }

  /** A new connection with the same options (for blocking reads such as XREAD BLOCK). */
  duplicate(): Redis {
    const copy = this.client.duplicate({ maxRetriesPerRequest: null });
    copy.on('error', (err: unknown) => {
      this.lastError = this.redact(errorMessage(err));
    });
    return copy;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.bump('*');
    this.listeners.clear();
    for (const client of [this.subscriber, this.client]) {
      if (!client) continue;
      try {
        await withTimeout(client.quit(), 2000, 'closing');
      } catch {
        client.disconnect();
      }
    }
  }
}

/** An error reply from the server (as opposed to a lost connection). */
function isReplyError(err: unknown): boolean {
  return err instanceof (ReplyError as unknown as new () => Error);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

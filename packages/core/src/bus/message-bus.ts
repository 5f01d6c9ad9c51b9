import { EventEmitter } from 'eventemitter3';
import { AbortError, PayloadTooLargeError, ValidationError, describeValue } from '../errors.js';
import { assertValidId, uniqueSuffix } from '../ids.js';
import { type Backend, type EventStream, FileBackend } from '../backend.js';
import type { Clock } from '../clock.js';
import { WORKSPACE_OPTIONS, Workspace, type WorkspaceOptions } from '../workspace.js';
import { FILE_MESSAGE_STORE_OPTIONS, type FileMessageStoreOptions } from './file-message-store.js';
import { checkOptions, rules } from '../options.js';
import type { MessageStore } from './message-store.js';
import type { CompactReport, Message, SendInput } from './types.js';

export const KIND_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

/** Message ids embed the sender's id, so they may be longer than other ids. */
const MESSAGE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function assertMessageId(id: unknown): void {
  if (typeof id !== 'string' || !MESSAGE_ID_PATTERN.test(id)) {
    throw new ValidationError(`invalid message id ${describeValue(id)}: expected an id from a received message`);
  }
}

export interface MessageBusOptions extends WorkspaceOptions, FileMessageStoreOptions {
  /** Largest message body (as JSON), in bytes. @default 262144 (256 KiB) */
  maxBodyBytes?: number;
}

/** The rules of {@link MessageBusOptions}' own fields. */
export const MESSAGE_BUS_OPTIONS = { maxBodyBytes: rules.int({ min: 1 }) };

export interface SubscribeOptions {
  signal?: AbortSignal;
  /** Ack each message once the handler returns. @default true */
  autoAck?: boolean;
  /** Messages fetched per round. @default 100 */
  batchSize?: number;
}

export interface Subscription {
  /** Settles when the subscription stops: after close(), an abort, or a handler error (rejects with it). */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

/** The bus's emitter map: `sent` with each message this process sent. */
export type MessageBusEvents = { sent: (message: Message) => void };

/**
 * Direct and broadcast messages between agents, in one process or many.
 * Each reader's unacked messages survive crashes; acking moves the reader's
 * cursor, and an acked message is never delivered to it again.
 *
 * @example
 * const bus = MessageBus.open({ workspace: './workspace' });
 * await bus.register('lead');
 * await bus.send({ from: 'worker-1', to: 'lead', kind: 'idle', body: { tasksDone: 3 } });
 * for await (const message of bus.messages('lead', { signal })) handle(message);
 */
export class MessageBus extends EventEmitter<MessageBusEvents> {
  readonly store: MessageStore;
  private readonly events: EventStream | null;
  private readonly clock: Clock | null;
  private readonly owned: { close(): Promise<void> } | null;
  private readonly maxBodyBytes: number;
  private lastTs = 0;
  private seq = 0;
  private readonly process = uniqueSuffix().slice(0, 8);
  private readonly subscriptions = new Set<AbortController>();

  constructor(
    store: MessageStore,
    options: MessageBusOptions & { events?: EventStream | null; clock?: Clock | null; owned?: { close(): Promise<void> } | null } = {},
  ) {
    super();
    checkOptions(options, MESSAGE_BUS_OPTIONS);
    this.store = store;
    this.events = options.events ?? null;
    this.clock = options.clock ?? null;
    this.owned = options.owned ?? null;
    this.maxBodyBytes = options.maxBodyBytes ?? 256 * 1024;
  }

  /** Opens the bus of a backend, of a workspace folder (the file backend), or over a bare store. */
  static open(options: MessageBusOptions & { workspace?: string | Workspace; backend?: Backend; store?: MessageStore } = {}): MessageBus {
    checkOptions(options, { ...WORKSPACE_OPTIONS, ...FILE_MESSAGE_STORE_OPTIONS, ...MESSAGE_BUS_OPTIONS });
    if (options.store) return new MessageBus(options.store, options);
    if (options.backend) {
      return new MessageBus(options.backend.messages, { ...options, events: options.backend.events, clock: options.backend.clock });
    }
    const given = options.workspace ?? './workspace';
    const ws = typeof given === 'string' ? Workspace.open(given, options) : given;
    const backend = new FileBackend(ws, options);
    return new MessageBus(backend.messages, {
      ...options,
      events: backend.events,
      clock: ws.clock,
      owned: typeof given === 'string' ? ws : null,
    });
  }

  /** Joins the bus: broadcasts sent from now on reach `agentId`. */
  async register(agentId: string): Promise<void> {
    assertValidId('agent', agentId);
    await this.store.register(agentId);
  }

  async members(): Promise<string[]> {
    return this.store.members();
  }

  /** Sends a message. `to: '*'` broadcasts to every other member. Returns the stamped message. */
  async send<Body = unknown>(input: SendInput<Body>): Promise<Message<Body>> {
    const message = this.stamp(input);
    const recipients = await this.store.send(message);
    this.events?.append({
      type: 'message.sent',
      agentId: message.from,
      messageId: message.id,
      to: message.to,
      kind: message.kind,
      recipients: recipients.length,
      ...(message.taskId ? { taskId: message.taskId } : {}),
    });
    this.emit('sent', message);
    return message;
  }

  /** Validates a message and gives it its id and time; nothing is written. */
  private stamp<Body>(input: SendInput<Body>): Message<Body> {
    if (typeof input !== 'object' || input === null) {
      throw new ValidationError(`a message must be an object with from, to and body, got ${describeValue(input)}`);
    }
    assertValidId('sender', input.from);
    if (input.to !== '*') assertValidId('recipient', input.to);
    const kind = input.kind ?? 'text';
    if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) {
      throw new ValidationError(
        `invalid message kind ${describeValue(kind)}: use 1-64 characters from a-z 0-9 _ . -, starting with a letter (e.g. "text", "review_verdict")`,
      );
    }
    if (input.replyTo !== undefined) assertMessageId(input.replyTo);
    if (input.taskId !== undefined) assertValidId('task', input.taskId);
    const body = input.body === undefined ? (null as Body) : input.body;
    let text: string | undefined;
    try {
      text = JSON.stringify(body);
    } catch (err) {
      throw new ValidationError(`message body is not JSON-serialisable: ${(err as Error).message}`);
    }
    const size = Buffer.byteLength(text ?? 'null');
    if (size > this.maxBodyBytes) throw new PayloadTooLargeError('message body', size, this.maxBodyBytes);
    const now = this.clock?.now() ?? Date.now();
    // Never go back in time, so each sender's messages sort in the order they were sent.
    this.lastTs = Math.max(this.lastTs, now);
    this.seq += 1;
    const id = `${this.lastTs.toString(36).padStart(9, '0')}-${this.seq.toString(36).padStart(6, '0')}-${this.process}-${input.from}`;
    const message: Message<Body> = { id, from: input.from, to: input.to, kind, body, ts: this.lastTs };
    if (input.replyTo !== undefined) message.replyTo = input.replyTo;
    if (input.taskId !== undefined) message.taskId = input.taskId;
    return message;
  }

  /**
   * Unacked messages for `agentId` (what is new since its cursor), oldest first.
   * Seed shape: `receive(agentId, since)` with a number returns every retained
   * message sent after `since` (epoch ms), acked or not, and moves nothing.
   */
  async receive(agentId: string, since?: number | { limit?: number }): Promise<Message[]> {
    assertValidId('agent', agentId);
    if (typeof since === 'number') return this.store.history(agentId, since);
    return this.store.receive(agentId, since?.limit);
  }

  /** Moves `agentId`'s cursor past these messages. Returns how many were acked. */
  async ack(agentId: string, messages: ReadonlyArray<Message | string>): Promise<number> {
    assertValidId('agent', agentId);
    const ids = messages.map((m) => (typeof m === 'string' ? m : m.id));
    for (const id of ids) assertMessageId(id);
    return this.store.ack(agentId, ids);
  }

  /** Acked and unacked messages for `agentId` after `since` (epoch ms). */
  async history(agentId: string, since = 0, limit?: number): Promise<Message[]> {
    assertValidId('agent', agentId);
    return this.store.history(agentId, since, limit);
  }

  /**
   * Calls `handler` for each message to `agentId`, in order, acking each after
   * the handler returns (unless `autoAck` is false). Woken by the watcher, with
   * a re-scan timer behind it. A handler error stops the subscription; the
   * message stays unacked and comes again next time.
   */
  subscribe(agentId: string, handler: (message: Message) => unknown, options: SubscribeOptions = {}): Subscription {
    assertValidId('agent', agentId);
    const controller = new AbortController();
    this.subscriptions.add(controller);
    const onAbort = () => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) controller.abort();
    const done = (async () => {
      try {
        for await (const message of this.messages(agentId, { ...options, signal: controller.signal })) {
          await handler(message);
        }
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
        this.subscriptions.delete(controller);
      }
    })();
    return {
      done,
      close: async () => {
        controller.abort();
        await done.catch(() => {});
      },
    };
  }

  /**
   * The messages to `agentId` as an async iterator, waiting for new ones until
   * `signal` aborts. A message is acked when the loop asks for the next one,
   * i.e. after its body ran, so a crash mid-message redelivers it.
   */
  async *messages(agentId: string, options: SubscribeOptions = {}): AsyncGenerator<Message> {
    assertValidId('agent', agentId);
    await this.store.register(agentId);
    const autoAck = options.autoAck ?? true;
    const signal = options.signal;
    while (!signal?.aborted) {
      const version = this.store.changeVersion();
      const batch = await this.store.receive(agentId, options.batchSize ?? 100);
      for (const message of batch) {
        if (signal?.aborted) return;
        yield message;
        if (autoAck) await this.store.ack(agentId, [message.id]);
      }
      if (batch.length === 0) {
        try {
          await this.store.waitForChange(60_000, signal, version);
        } catch (err) {
          if (err instanceof AbortError) return;
          throw err;
        }
      }
    }
  }

  /** Packs archived messages and drops those past retention. */
  async compact(agentId?: string): Promise<CompactReport> {
    if (agentId !== undefined) assertValidId('agent', agentId);
    return this.store.compact(agentId);
  }

  private closing: Promise<void> | null = null;

  /** Stops the subscriptions and closes the store (and the workspace if this bus opened it). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const controller of this.subscriptions) controller.abort();
      this.subscriptions.clear();
      await this.store.close();
      if (this.owned) await this.owned.close();
    })();
    return this.closing;
  }
}

// Type tests (checked by `pnpm typecheck`, i.e. tsc in CI): the event map
// types the queue, the bus, the event log and the backend's event stream. Each
// `@ts-expect-error` fails the type check if the line it guards compiles.
import { describe, expectTypeOf, it } from 'vitest';
import type {
  EventLog,
  MessageBus,
  TaskQueue} from '../src/index.js';
import {
  type Backend,
  type EventInput,
  type Message,
  type TeamEvent,
  type TeamEventType,
} from '../src/index.js';

declare const queue: TaskQueue;
declare const bus: MessageBus;
declare const log: EventLog;
declare const backend: Backend;

describe('the task queue', () => {
  it('types each task event by name', () => {
    queue.on('task.completed', (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'task.completed'>();
      expectTypeOf(event.taskId).toEqualTypeOf<string>();
      expectTypeOf(event.attempt).toEqualTypeOf<number>();
      expectTypeOf(event.approvedBy).toEqualTypeOf<string | undefined>();
      // @ts-expect-error a field task.completed does not carry
      void event.reason;
    });
    queue.on('task.claimed', (event) => expectTypeOf(event.leaseUntil).toEqualTypeOf<number>());
    queue.on('task.failed', (event) => expectTypeOf(event.reason).toEqualTypeOf<string>());
  });

  it('refuses a misspelt event and a listener for another payload', () => {
    // @ts-expect-error no such event
    queue.on('task.compleeted', () => {});
    // @ts-expect-error the queue emits task events only
    queue.on('message.sent', () => {});
    // @ts-expect-error a listener for another event's payload
    queue.on('task.completed', (event: TeamEvent<'task.claimed'>) => void event.leaseUntil);
    // @ts-expect-error emit checks the payload too
    queue.emit('task.completed', { type: 'task.completed', taskId: 'a' });
  });
});

describe('the message bus', () => {
  it('types `sent` with the message', () => {
    bus.on('sent', (message) => expectTypeOf(message).toEqualTypeOf<Message>());
    // @ts-expect-error no such event on the bus
    bus.on('received', () => {});
  });
});

describe('the event log and the backend stream', () => {
  it('types appends by their type', () => {
    log.append({ type: 'task.blocked', taskId: 'a', reason: 'dependency failed' });
    // @ts-expect-error a required field is missing
    log.append({ type: 'task.blocked', taskId: 'a' });
    // @ts-expect-error a field the event does not have
    log.append({ type: 'task.blocked', taskId: 'a', reason: 'x', blockedBy: 'b' });
    // @ts-expect-error a field of the wrong type
    log.append({ type: 'task.claimed', taskId: 'a', agentId: 'w', attempt: '1', leaseUntil: 0 });
    // @ts-expect-error an unknown event type
    backend.events.append({ type: 'task.compleeted', taskId: 'a' });
  });

  it('narrows the union by type, and reads typed by the types asked for', async () => {
    backend.events.on('*', (event) => {
      expectTypeOf(event).toEqualTypeOf<TeamEvent>();
      if (event.type === 'task.added') expectTypeOf(event.dependencies).toEqualTypeOf<string[]>();
    });
    const claims = await backend.events.read({ types: ['task.claimed', 'task.released'] });
    expectTypeOf(claims).toEqualTypeOf<Array<TeamEvent<'task.claimed' | 'task.released'>>>();
    expectTypeOf(claims[0]!.agentId).toEqualTypeOf<string>();
    // @ts-expect-error not a type of event
    await backend.events.read({ types: ['task.nope'] });
  });

  it('keeps every type in the map', () => {
    expectTypeOf<'task.added' | 'message.sent' | 'file.quarantined'>().toExtend<TeamEventType>();
    expectTypeOf<EventInput<'task.ready'>>().toEqualTypeOf<EventInput<'task.ready'>>();
  });
});

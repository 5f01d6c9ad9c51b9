import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidIdError,
  type ManualClock,
  type Message,
  type MessageBus,
  type MessageBusOptions,
  PayloadTooLargeError,
  ValidationError,
} from '../../src/index.js';

export interface BusHarness {
  bus: MessageBus;
  clock: ManualClock;
  /** Another bus on the same storage, as a second process would open it. */
  openPeer(): Promise<MessageBus>;
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

export type BusHarnessFactory = (options: Partial<MessageBusOptions>) => Promise<BusHarness>;

const bodies = (messages: Message[]) => messages.map((m) => m.body);

/** The message bus contract, written once against the MessageStore seam. */
export function describeMessageStoreConformance(backend: string, create: BusHarnessFactory): void {
  describe(`MessageStore conformance: ${backend}`, () => {
    let h: BusHarness;
    let bus: MessageBus;
    const open = async (options: Partial<MessageBusOptions> = {}) => {
      await h?.close();
      h = await create(options);
      bus = h.bus;
    };
    beforeEach(async () => {
      await open();
    });
    afterEach(async () => {
      await h.close();
    });

    it('delivers a direct message until it is acked, then never again', async () => {
      await bus.register('lead');
      const sent = await bus.send({ from: 'worker-1', to: 'lead', kind: 'idle', body: { done: 3 }, taskId: 't-1' });
      expect(sent).toMatchObject({ from: 'worker-1', to: 'lead', kind: 'idle', body: { done: 3 }, taskId: 't-1' });
      const first = await bus.receive('lead');
      expect(first).toEqual([sent]);
      // Not acked: still there (a crashed reader gets it again).
      expect(await bus.receive('lead')).toEqual([sent]);
      expect(await bus.ack('lead', first)).toBe(1);
      expect(await bus.receive('lead')).toEqual([]);
      expect(await bus.ack('lead', first)).toBe(0);
      expect(await bus.history('lead')).toEqual([sent]);
    });

    it('broadcasts to every other member, not to the sender', async () => {
      for (const agent of ['lead', 'w1', 'w2']) await bus.register(agent);
      await bus.send({ from: 'lead', to: '*', kind: 'shutdown_request', body: { reason: 'done' } });
      expect(bodies(await bus.receive('w1'))).toEqual([{ reason: 'done' }]);
      expect(bodies(await bus.receive('w2'))).toEqual([{ reason: 'done' }]);
      expect(await bus.receive('lead')).toEqual([]);
      expect(await bus.members()).toEqual(['lead', 'w1', 'w2']);
      // Acking one reader's copy leaves the others'.
      await bus.ack('w1', await bus.receive('w1'));
      expect(await bus.receive('w1')).toEqual([]);
      expect(await bus.receive('w2')).toHaveLength(1);
    });

    it('keeps each sender’s order, across bus instances', async () => {
      const peer = await h.openPeer();
      await bus.register('reader');
      for (let i = 0; i < 50; i++) {
        await bus.send({ from: 'a', to: 'reader', body: i });
        await peer.send({ from: 'b', to: 'reader', body: i });
        h.clock.advance(i % 3 === 0 ? 1 : 0);
      }
      const got = await bus.receive('reader');
      expect(got).toHaveLength(100);
      for (const from of ['a', 'b']) {
        expect(got.filter((m) => m.from === from).map((m) => m.body)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      }
      await peer.close();
    });

    it('answers the seed shape receive(agentId, since)', async () => {
      await bus.register('r');
      await bus.send({ from: 's', to: 'r', body: 'old' });
      h.clock.advance(10);
      const mark = h.clock.now() - 1;
      await bus.send({ from: 's', to: 'r', body: 'new' });
      await bus.ack('r', await bus.receive('r'));
      expect(bodies(await bus.receive('r', mark))).toEqual(['new']);
      expect(bodies(await bus.receive('r', 0))).toEqual(['old', 'new']);
    });

    it('subscribes with a callback and as an async iterator, acking after each message', async () => {
      await bus.register('cb');
      const seen: unknown[] = [];
      const controller = new AbortController();
      const sub = bus.subscribe('cb', (m) => {
        seen.push(m.body);
        if (seen.length === 3) controller.abort();
      }, { signal: controller.signal });
      for (const body of [1, 2, 3]) await bus.send({ from: 'x', to: 'cb', body });
      await sub.done;
      expect(seen).toEqual([1, 2, 3]);
      expect(await bus.receive('cb')).toEqual([]);

      await bus.send({ from: 'x', to: 'it', body: 'a' });
      await bus.send({ from: 'x', to: 'it', body: 'b' });
      const got: unknown[] = [];
      for await (const m of bus.messages('it')) {
        got.push(m.body);
        if (got.length === 2) break; // leaving the loop early: 'b' stays unacked
      }
      expect(got).toEqual(['a', 'b']);
      expect(bodies(await bus.receive('it'))).toEqual(['b']);
    });

    it('stops a subscription on a handler error and keeps the message', async () => {
      await bus.register('fragile');
      await bus.send({ from: 'x', to: 'fragile', body: 'poison' });
      const sub = bus.subscribe('fragile', () => {
        throw new Error('handler broke');
      });
      await expect(sub.done).rejects.toThrow('handler broke');
      expect(bodies(await bus.receive('fragile'))).toEqual(['poison']);
    });

    it('compacts old messages so a busy inbox stays small, and drops them after retention', async () => {
      await open({ archiveMaxFiles: 10, retentionMs: 24 * 3600_000 });
      await bus.register('busy');
      for (let i = 0; i < 50; i++) {
        await bus.send({ from: 's', to: 'busy', body: i });
        h.clock.advance(1);
      }
      for (const m of await bus.receive('busy')) await bus.ack('busy', [m]);
      expect(bodies(await bus.history('busy'))).toEqual(Array.from({ length: 50 }, (_, i) => i));
      h.clock.advance(2 * 24 * 3600_000);
      const report = await bus.compact('busy');
      expect(report.expiredSegments).toBeGreaterThan(0);
      expect((await bus.history('busy')).length).toBeLessThanOrEqual(10);
    });

    it('refuses bad ids, kinds and oversized bodies, writing nothing', async () => {
      await open({ maxBodyBytes: 1024 });
      await bus.register('ok');
      const before = await h.snapshot();
      await expect(bus.send({ from: '../x', to: 'ok' })).rejects.toBeInstanceOf(InvalidIdError);
      await expect(bus.send({ from: 'a', to: 'b/c' })).rejects.toBeInstanceOf(InvalidIdError);
      await expect(bus.send({ from: 'a', to: '__proto__' })).rejects.toBeInstanceOf(InvalidIdError);
      await expect(bus.send({ from: 'a', to: 'ok', kind: 'Bad Kind!' })).rejects.toThrow(/invalid message kind "Bad Kind!"/);
      await expect(bus.send({ from: 'a', to: 'ok', kind: '' })).rejects.toBeInstanceOf(ValidationError);
      await expect(bus.send({ from: 'a', to: 'ok', body: 'x'.repeat(2000) })).rejects.toBeInstanceOf(PayloadTooLargeError);
      await expect(bus.send({ from: 'a', to: 'ok', body: 'x'.repeat(2000) })).rejects.toThrow(/over the limit of 1024 bytes/);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await expect(bus.send({ from: 'a', to: 'ok', body: circular })).rejects.toThrow(/not JSON-serialisable/);
      await expect(bus.receive('a\0b')).rejects.toBeInstanceOf(InvalidIdError);
      await expect(bus.ack('ok', ['../../etc/passwd'])).rejects.toThrow(/invalid message id/);
      expect(await h.snapshot()).toBe(before);
    });
  });
}

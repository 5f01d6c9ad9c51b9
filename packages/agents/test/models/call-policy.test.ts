import { AbortError, ValidationError } from '@agent-team/core';
import { describe, expect, it } from 'vitest';
// Unit tests import the module under test directly: the index also loads both SDKs, which costs a second per file.
import { checkRequest } from '../../src/models/call-runner.js';
import { ConcurrencyLimiter } from '../../src/models/concurrency-limiter.js';
import { offlineModel } from '../../src/models/offline-model.js';
import { ModelError } from '../../src/models/errors.js';
import { decideRetry, isRetryableStatus, parseRetryAfter } from '../../src/models/retry-policy.js';
import { redactSecrets, registerSecret } from '../../src/models/secrets.js';

describe('retry policy', () => {
  it('retries 408, 409, 429 and 5xx only', () => {
    expect([408, 409, 429, 500, 502, 503, 529].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 413, 422].some(isRetryableStatus)).toBe(false);
  });

  it('reads Retry-After as seconds, as an HTTP date, and retry-after-ms first', () => {
    const now = Date.parse('2026-11-21T10:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after': '0.25' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Sat, 21 Nov 2026 10:00:03 GMT' }), now)).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Sat, 21 Nov 2026 09:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after': '9', 'retry-after-ms': '120' }), now)).toBe(120);
    expect(parseRetryAfter({ 'Retry-After': '1' }, now)).toBe(1000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('backs off exponentially with jitter, up to a cap, and stops at maxRetries', () => {
    const error = new ModelError('x', { provider: 'p', isRetryable: true });
    const delays = [1, 2, 3, 4].map((failures) => decideRetry(error, failures, { maxRetries: 5, initialDelayMs: 100, maxDelayMs: 500, random: () => 1 }).delayMs);
    expect(delays).toEqual([100, 200, 400, 500]);
    expect(decideRetry(error, 1, { initialDelayMs: 100, random: () => 0 }).delayMs).toBe(50);
    expect(decideRetry(error, 4, { maxRetries: 3 })).toMatchObject({ retry: false, reason: 'gave up after 4 attempts (maxRetries 3)' });
    expect(decideRetry(new ModelError('x', { provider: 'p', isRetryable: false }), 1, {}).retry).toBe(false);
  });

  it('waits what the server asked, unless it is longer than maxRetryAfterMs', () => {
    const asked = new ModelError('x', { provider: 'p', isRetryable: true, retryAfterMs: 1500 });
    expect(decideRetry(asked, 1, {})).toEqual({ retry: true, delayMs: 1500 });
    const refused = decideRetry(asked, 1, { maxRetryAfterMs: 1000 });
    expect(refused.retry).toBe(false);
    expect(refused.reason).toContain('Retry-After');
  });
});

describe('redactSecrets', () => {
  it('masks registered keys and anything shaped like a key', () => {
    registerSecret('plain-looking-token-0123456789');
    expect(redactSecrets('token plain-looking-token-0123456789 rejected')).toBe('token [redacted] rejected');
    expect(redactSecrets('key sk-ant-api03-abcdefghijkl was wrong')).toBe('key [redacted] was wrong');
    expect(redactSecrets('Authorization: Bearer abc.def.ghi12345')).toBe('Authorization: Bearer [redacted]');
    expect(redactSecrets('{"x-api-key":"0123456789abcdef"}')).toBe('{"x-api-key":"[redacted]"}');
    expect(redactSecrets('task-123 and risk-assessment stay')).toBe('task-123 and risk-assessment stay');
  });
});

describe('ConcurrencyLimiter', () => {
  it('admits up to the limit, queues the rest in order, and releases once per slot', async () => {
    const limiter = new ConcurrencyLimiter(2);
    const r1 = await limiter.acquire();
    const r2 = await limiter.acquire();
    const order: number[] = [];
    const third = limiter.acquire().then((release) => {
      order.push(3);
      return release;
    });
    const fourth = limiter.acquire().then((release) => {
      order.push(4);
      return release;
    });
    expect(limiter.active).toBe(2);
    expect(limiter.waiting).toBe(2);
    r1();
    r1(); // a second release of the same slot does nothing
    const r3 = await third;
    expect(order).toEqual([3]);
    expect(limiter.active).toBe(2);
    r2();
    (await fourth)();
    r3();
    expect(limiter.active).toBe(0);
  });

  it('lets an aborted waiter go without taking a slot', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const release = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    expect(limiter.waiting).toBe(0);
    release();
    expect(limiter.active).toBe(0);
    (await limiter.acquire())();
  });

  it('grows at once when the limit is raised, and refuses a bad limit', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await limiter.acquire();
    const waiting = limiter.acquire();
    limiter.setLimit(2);
    await expect(waiting).resolves.toBeTypeOf('function');
    expect(() => new ConcurrencyLimiter(0)).toThrow(ValidationError);
  });
});

describe('request checks', () => {
  it('refuses a malformed request before anything is sent, naming the value', async () => {
    const bad: Array<[unknown, string]> = [
      [{ messages: [] }, 'messages must be a non-empty array'],
      [{ messages: [{ role: 'system', content: 'x' }] }, 'messages[0].role is "system"'],
      [{ messages: [{ role: 'user', content: 42 }] }, 'messages[0].content must be a string, got number'],
      [{ messages: [{ role: 'tool', content: 'r' }] }, 'messages[0] is a tool result without toolCallId'],
      [{ messages: [{ role: 'user', content: 'x' }], maxTokens: 0 }, 'invalid request to offline: maxTokens must be an integer of at least 1, got 0'],
      [{ messages: [{ role: 'user', content: 'x' }], temperature: -1 }, 'temperature must be a number of at least 0, got -1'],
      [{ messages: [{ role: 'user', content: 'x' }], timeoutMs: 0 }, 'timeoutMs must be a number of milliseconds from 1'],
    ];
    for (const [request, message] of bad) {
      expect(() => checkRequest(request as never, 'offline'), message).toThrow(ValidationError);
      expect(() => checkRequest(request as never, 'offline')).toThrow(message);
    }
    await expect(offlineModel().generate({ messages: [] })).rejects.toThrow('invalid request to offline: messages must be a non-empty array');
  });
});

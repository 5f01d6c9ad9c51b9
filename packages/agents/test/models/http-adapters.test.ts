/**
 * The real `@anthropic-ai/sdk` and `openai` clients, driven through our
 * adapters, against fake servers on 127.0.0.1 that speak each API's wire
 * format. The same scenarios run for both providers.
 */
import { AbortError, errorMessage } from '@agent-team/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  generateObject,
  ModelAuthError,
  ModelRateLimitError,
  ModelRequestError,
  ModelServerError,
  ModelTimeoutError,
  runTools,
  type GenerateResponse,
  type LanguageModel,
  type StreamEvent,
} from '../../src/models/index.js';
import { FakeServer } from './helpers/fake-server.js';
import { kits, SECRET, type ProviderKit } from './helpers/provider-kits.js';

/** Every error text and log line these tests produced; none may contain the key. */
const seen: string[] = [];
const captureLogger = {
  error: (...args: unknown[]) => seen.push(args.map(String).join(' ')),
  warn: (...args: unknown[]) => seen.push(args.map(String).join(' ')),
  info: (...args: unknown[]) => seen.push(args.map(String).join(' ')),
  debug: (...args: unknown[]) => seen.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
};
const restoreConsole: Array<() => void> = [];

beforeAll(() => {
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const spy = vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      seen.push(args.map(String).join(' '));
    });
    restoreConsole.push(() => spy.mockRestore());
  }
});

afterAll(() => {
  for (const restore of restoreConsole) restore();
  // The debug logs did run (so this check means something), and none of it carries the key.
  expect(seen.some((line) => line.includes('/v1/'))).toBe(true);
  for (const line of seen) expect(line).not.toContain(SECRET);
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    const err = error as Error;
    seen.push(err.message, err.stack ?? '', err.cause === undefined ? '' : errorMessage(err.cause));
    return err;
  }
  throw new Error('expected the call to fail');
}

async function collect(stream: AsyncIterable<StreamEvent>): Promise<{ deltas: string[]; done: GenerateResponse[] }> {
  const deltas: string[] = [];
  const done: GenerateResponse[] = [];
  for await (const event of stream) {
    if (event.type === 'text') deltas.push(event.delta);
    else done.push(event.response);
  }
  return { deltas, done };
}

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

describe.each(kits)('$name adapter against a fake server', (kit: ProviderKit) => {
  let server: FakeServer;
  beforeEach(async () => {
    server = await FakeServer.start();
  });
  afterEach(async () => {
    await server.close();
  });
  const make = (options: Parameters<ProviderKit['model']>[1] = {}): LanguageModel =>
    kit.model(server, { logger: captureLogger, logLevel: 'debug', initialDelayMs: 20, ...options });

  it('answers a plain request with text, usage, model, finish reason and cost', async () => {
    server.reply(kit.text('Paris is the capital of France.', { input: 1000, output: 200 }));
    const model = make();
    const response = await model.generate({ system: 'Be brief.', temperature: 0.2, ...ask('Capital of France?') });

    expect(response.text).toBe('Paris is the capital of France.');
    expect(response.usage).toEqual({ inputTokens: 1000, outputTokens: 200 });
    expect(response.finishReason).toBe('stop');
    expect(response.provider).toBe(kit.name);
    expect(response.model).toBe(kit.servedModel);
    expect(model.id).toBe(`${kit.name}:${kit.modelName}`);
    // claude-sonnet-4-6: $3/$15 per MTok; gpt-4.1-mini: $0.40/$1.60.
    expect(response.costUsd).toBeCloseTo(kit.name === 'anthropic' ? 0.006 : 0.00072, 9);

    const sent = server.requests[0];
    expect(sent?.method).toBe('POST');
    expect(sent?.url).toBe(kit.name === 'anthropic' ? '/v1/messages' : '/v1/chat/completions');
    expect(kit.apiKeyOf(sent!)).toBe(SECRET);
    expect(kit.system(sent!.body)).toBe('Be brief.');
    expect(kit.userTexts(sent!.body)).toEqual(['Capital of France?']);
    expect(kit.maxTokens(sent!.body)).toBe(1024);
    expect(sent!.body['temperature']).toBe(0.2);
    expect(sent!.body['model']).toBe(kit.modelName);
  });

  it('streams text deltas, then one done event with the full response and usage', async () => {
    server.reply(kit.stream(['The sky ', 'is blue ', 'because of Rayleigh scattering.'], { input: 40, output: 11 }));
    const { deltas, done } = await collect(make().stream(ask('Why is the sky blue?')));

    expect(deltas).toEqual(['The sky ', 'is blue ', 'because of Rayleigh scattering.']);
    expect(done).toHaveLength(1);
    expect(done[0]?.text).toBe(deltas.join(''));
    expect(done[0]?.usage).toEqual({ inputTokens: 40, outputTokens: 11 });
    expect(done[0]?.finishReason).toBe('stop');
    expect(done[0]?.model).toBe(kit.servedModel);
    expect(server.requests[0]?.body['stream']).toBe(true);
    if (kit.name === 'openai') expect(server.requests[0]?.body['stream_options']).toEqual({ include_usage: true });
  });

  it('returns tool calls, and runTools feeds results back until the final answer', async () => {
    server.reply(
      kit.toolCalls([{ id: 'call_weather_1', name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } }]),
      kit.text('It is 18 °C in Paris.'),
    );
    const model = make();
    const seenArgs: unknown[] = [];
    const result = await runTools(model, { toolChoice: 'auto', ...ask('Weather in Paris?') }, [
      {
        name: 'get_weather',
        description: 'Current weather for a city',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
          required: ['city'],
        },
        execute: (args) => {
          seenArgs.push(args);
          return { temperature: 18, unit: 'celsius' };
        },
      },
    ]);

    expect(seenArgs).toEqual([{ city: 'Paris', unit: 'celsius' }]);
    expect(result.response.text).toBe('It is 18 °C in Paris.');
    expect(result.steps).toBe(2);
    expect(kit.toolNames(server.requests[0]!.body)).toEqual(['get_weather']);
    // The second request carries the tool result, tied to the call id.
    expect(kit.toolResults(server.requests[1]!.body)).toEqual([{ id: 'call_weather_1', content: '{"temperature":18,"unit":"celsius"}' }]);
    expect(result.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
  });

  it('streams a tool call whose arguments arrive in pieces', async () => {
    server.reply(kit.streamToolCall({ id: 'call_s1', name: 'search', args: { query: 'vitest fake servers', limit: 3 } }, { input: 20, output: 9 }));
    const { done } = await collect(
      make().stream({
        ...ask('Find docs'),
        tools: [{ name: 'search', description: 'Search docs', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
      }),
    );
    expect(done[0]?.toolCalls).toEqual([{ id: 'call_s1', name: 'search', arguments: { query: 'vitest fake servers', limit: 3 } }]);
    expect(done[0]?.finishReason).toBe('tool_calls');
    expect(done[0]?.usage).toEqual({ inputTokens: 20, outputTokens: 9 });
  });

  it('asks for JSON with the schema, and generateObject repairs an invalid answer', async () => {
    server.reply(kit.text('Here you go:\n```json\n{"title": "Plan"}\n```'), kit.text('{"title": "Plan", "steps": ["a", "b"]}'));
    const schema = {
      type: 'object',
      properties: { title: { type: 'string' }, steps: { type: 'array', items: { type: 'string' }, minItems: 1 } },
      required: ['title', 'steps'],
    } as const;
    const result = await generateObject<{ title: string; steps: string[] }>(make(), { ...ask('Make a plan'), schema, purpose: 'plan' });

    expect(result.object).toEqual({ title: 'Plan', steps: ['a', 'b'] });
    expect(result.attempts).toBe(2);
    expect(result.usage.inputTokens).toBe(24);
    const first = server.requests[0]!.body;
    expect(kit.jsonSchemaSent(first)).toMatchObject({ type: 'object', required: ['title', 'steps'] });
    // The re-ask names the concrete problem.
    const repair = kit.userTexts(server.requests[1]!.body).join('\n');
    expect(repair).toContain('$.steps: is required but missing');
  });

  it('waits as long as Retry-After says after a 429, then succeeds', async () => {
    server.reply(kit.error(429, 'Too many requests', { 'retry-after': '0.3' }), kit.text('ok after waiting'));
    const retries: number[] = [];
    const response = await make({ onRetry: (info) => retries.push(info.delayMs) }).generate(ask('hi'));

    expect(response.text).toBe('ok after waiting');
    expect(server.requests).toHaveLength(2);
    const gap = server.requests[1]!.at - server.requests[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(290);
    expect(gap).toBeLessThan(1500);
    expect(retries).toEqual([300]);
  });

  it('honours retry-after-ms', async () => {
    server.reply(kit.error(429, 'slow down', { 'retry-after-ms': '150', 'retry-after': '30' }), kit.text('ok'));
    await make().generate(ask('hi'));
    const gap = server.requests[1]!.at - server.requests[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(140);
    expect(gap).toBeLessThan(1500);
  });

  it('retries a 500 and succeeds', async () => {
    server.reply(kit.error(500, 'internal error'), kit.text('recovered'));
    const response = await make().generate(ask('hi'));
    expect(response.text).toBe('recovered');
    expect(server.requests).toHaveLength(2);
  });

  it('retries a dropped connection and succeeds', async () => {
    server.reply({ kind: 'destroy' }, kit.text('reconnected'));
    const response = await make().generate(ask('hi'));
    expect(response.text).toBe('reconnected');
    expect(server.requests).toHaveLength(2);
  });

  it('gives up after maxRetries on a persistent 503, saying how many attempts were made', async () => {
    server.setFallback(() => kit.error(503, 'overloaded'));
    const error = await failure(make({ maxRetries: 2 }).generate(ask('hi')));
    expect(error).toBeInstanceOf(ModelServerError);
    expect((error as ModelServerError).isRetryable).toBe(true);
    expect((error as ModelServerError).status).toBe(503);
    expect((error as ModelServerError).attempts).toBe(3);
    expect(error.message).toContain('maxRetries 2');
    expect(server.requests).toHaveLength(3);
  });

  it('fails at once on 401 with a clear message naming the variable, never the key', async () => {
    server.setFallback(() => kit.error(401, 'invalid x-api-key'));
    const error = await failure(make().generate(ask('hi')));

    expect(server.requests).toHaveLength(1);
    expect(error).toBeInstanceOf(ModelAuthError);
    const auth = error as ModelAuthError;
    expect(auth.status).toBe(401);
    expect(auth.isRetryable).toBe(false);
    expect(auth.provider).toBe(kit.name);
    expect(auth.message).toContain('rejected the API key');
    expect(auth.message).toContain(kit.keyVar);
    expect(auth.message).not.toContain(SECRET);
    expect(auth.stack).not.toContain(SECRET);
  });

  it('does not retry a 400 and reports the API message', async () => {
    server.setFallback(() => kit.error(400, 'max_tokens: must be at most 8192'));
    const error = await failure(make().generate({ ...ask('hi'), maxTokens: 100_000 }));
    expect(error).toBeInstanceOf(ModelRequestError);
    expect(error.message).toContain('max_tokens: must be at most 8192');
    expect(server.requests).toHaveLength(1);
  });

  it('redacts a key that the server echoes back in an error', async () => {
    server.setFallback((request) =>
      kit.error(400, `bad header: authorization=${String(request.headers['authorization'] ?? request.headers['x-api-key'])}`),
    );
    const error = await failure(make().generate(ask('hi')));
    expect(error.message).toContain('bad header');
    expect(error.message).not.toContain(SECRET);
    expect(JSON.stringify(error)).not.toContain(SECRET);
  });

  it('times out a call that gets no answer', async () => {
    server.setFallback(() => ({ kind: 'hang' }));
    const started = performance.now();
    const error = await failure(make().generate({ ...ask('hi'), timeoutMs: 300 }));
    const elapsed = performance.now() - started;

    expect(error).toBeInstanceOf(ModelTimeoutError);
    expect((error as ModelTimeoutError).timeoutMs).toBe(300);
    expect(error.message).toContain('300 ms');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    // The deadline covers the whole call: no retry after it passed.
    expect(server.requests).toHaveLength(1);
  });

  it('aborts a call in flight promptly', async () => {
    server.setFallback(() => ({ kind: 'hang' }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const error = await failure(make().generate({ ...ask('hi'), signal: controller.signal }));
    expect(error).toBeInstanceOf(AbortError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('aborts during a backoff sleep without another request', async () => {
    server.setFallback(() => kit.error(429, 'wait a while', { 'retry-after': '20' }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const started = performance.now();
    const error = await failure(make().generate({ ...ask('hi'), signal: controller.signal }));
    expect(error).toBeInstanceOf(AbortError);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(server.requests).toHaveLength(1);
  });

  it('fails fast with the rate-limit error when Retry-After exceeds maxRetryAfterMs', async () => {
    server.setFallback(() => kit.error(429, 'quota', { 'retry-after': '120' }));
    const error = await failure(make().generate(ask('hi')));
    expect(error).toBeInstanceOf(ModelRateLimitError);
    expect((error as ModelRateLimitError).retryAfterMs).toBe(120_000);
    expect(error.message).toContain('Retry-After');
    expect(server.requests).toHaveLength(1);
  });

  it('aborts a stream mid-way', async () => {
    server.reply(kit.stream(['partial ', 'answer'], { input: 5, output: 5 }, { hangAfter: true }));
    const controller = new AbortController();
    const deltas: string[] = [];
    const run = (async () => {
      for await (const event of make().stream({ ...ask('hi'), signal: controller.signal })) {
        if (event.type === 'text') {
          deltas.push(event.delta);
          controller.abort();
        }
      }
    })();
    const error = await failure(run);
    expect(error).toBeInstanceOf(AbortError);
    expect(deltas.length).toBeGreaterThan(0);
  });

  it('times out a stream that stalls', async () => {
    server.reply(kit.stream(['slow '], { input: 5, output: 5 }, { hangAfter: true }));
    const error = await failure(collect(make().stream({ ...ask('hi'), timeoutMs: 300 })));
    expect(error).toBeInstanceOf(ModelTimeoutError);
  });

  it('keeps requests in flight under maxConcurrency and releases slots after errors', async () => {
    let n = 0;
    server.setFallback(() => (n++ % 3 === 2 ? { ...kit.error(400, 'bad'), delayMs: 60 } : { ...kit.text('ok'), delayMs: 60 }) as never);
    const model = make({ maxConcurrency: 2, maxRetries: 0 });
    const results = await Promise.allSettled(Array.from({ length: 9 }, () => model.generate(ask('hi'))));

    expect(server.maxInFlight).toBe(2);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(3);
    // Every slot came back: a further call still gets through.
    server.setFallback(() => kit.text('still works'));
    expect((await model.generate(ask('hi'))).text).toBe('still works');

    // Aborted calls, in flight or waiting for a slot, give their slots back too.
    server.setFallback(() => ({ kind: 'hang' }));
    const controller = new AbortController();
    const hung = Array.from({ length: 4 }, () => model.generate({ ...ask('hang'), signal: controller.signal }).catch((e: unknown) => e));
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect((await Promise.all(hung)).every((e) => e instanceof AbortError)).toBe(true);
    server.setFallback(() => kit.text('free again'));
    expect((await model.generate(ask('hi'))).text).toBe('free again');
  });
});

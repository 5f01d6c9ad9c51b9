/** What differs between the providers: message mapping, JSON modes, keys and parameters. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toAnthropicMessages } from '../../src/models/anthropic-model.js';
import { createModel, openai, type GenerateResponse, type StreamEvent } from '../../src/models/index.js';
import { FakeServer } from './helpers/fake-server.js';
import { anthropicKit, openaiKit, SECRET } from './helpers/provider-kits.js';

const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

async function final(stream: AsyncIterable<StreamEvent>): Promise<{ text: string; response: GenerateResponse | undefined }> {
  let text = '';
  let response: GenerateResponse | undefined;
  for await (const event of stream) {
    if (event.type === 'text') text += event.delta;
    else response = event.response;
  }
  return { text, response };
}

let server: FakeServer;
beforeEach(async () => {
  server = await FakeServer.start();
});
afterEach(async () => {
  await server.close();
});

describe('anthropic specifics', () => {
  it('puts consecutive tool results, and the user text after them, in one user turn', () => {
    const messages = toAnthropicMessages([
      { role: 'user', content: 'Compare the weather in Paris and Rome' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 't1', name: 'weather', arguments: { city: 'Paris' } },
          { id: 't2', name: 'weather', arguments: { city: 'Rome' } },
        ],
      },
      { role: 'tool', toolCallId: 't1', toolName: 'weather', content: '18' },
      { role: 'tool', toolCallId: 't2', toolName: 'weather', content: '24' },
      { role: 'user', content: 'Which is warmer?' },
    ]);
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[1]?.content).toEqual([
      { type: 'tool_use', id: 't1', name: 'weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 't2', name: 'weather', input: { city: 'Rome' } },
    ]);
    expect(messages[2]?.content).toEqual([
      { type: 'tool_result', tool_use_id: 't1', content: '18' },
      { type: 'tool_result', tool_use_id: 't2', content: '24' },
      { type: 'text', text: 'Which is warmer?' },
    ]);
  });

  it('closes object schemas for structured outputs, and maps tool choice', async () => {
    server.reply(anthropicKit.text('{"a":"x"}'), anthropicKit.text('done'));
    const model = anthropicKit.model(server, { logger: quiet });
    await model.generate({
      ...ask('json please'),
      responseFormat: { type: 'json', schema: { type: 'object', properties: { a: { type: 'string' }, nested: { type: 'object', properties: {} } } } },
    });
    expect(anthropicKit.jsonSchemaSent(server.requests[0]!.body)).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { a: { type: 'string' }, nested: { type: 'object', properties: {}, additionalProperties: false } },
    });

    await model.generate({
      ...ask('use the tool'),
      tools: [{ name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: {} } }],
      toolChoice: 'required',
    });
    expect(server.requests[1]!.body['tool_choice']).toEqual({ type: 'any' });
  });

  it('puts the schema in the system prompt when structured outputs are off', async () => {
    server.reply(anthropicKit.text('{}'));
    await anthropicKit
      .model(server, { logger: quiet, structuredOutputs: false })
      .generate({ system: 'You plan.', ...ask('json'), responseFormat: { type: 'json', schema: { type: 'object', required: ['x'] } } });
    const body = server.requests[0]!.body;
    expect(body['output_config']).toBeUndefined();
    expect(anthropicKit.system(body)).toContain('You plan.');
    expect(anthropicKit.system(body)).toContain('"required":["x"]');
  });

  it('retries a stream whose first event is an overloaded error', async () => {
    server.reply(
      { kind: 'sse', events: [{ event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } }] },
      anthropicKit.stream(['fine ', 'now'], { input: 3, output: 2 }),
    );
    const { text, response } = await final(anthropicKit.model(server, { logger: quiet, initialDelayMs: 10 }).stream(ask('hi')));
    expect(text).toBe('fine now');
    expect(response?.text).toBe('fine now');
    expect(server.requests).toHaveLength(2);
  });

  it('counts prompt-cache tokens as input', async () => {
    const reply = anthropicKit.text('cached');
    if (reply.kind !== 'json') throw new Error('unexpected reply kind');
    (reply.body as { usage: Record<string, number> }).usage = {
      input_tokens: 10,
      output_tokens: 4,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 1000,
    };
    server.reply(reply);
    const response = await anthropicKit.model(server, { logger: quiet }).generate(ask('hi'));
    expect(response.usage).toEqual({ inputTokens: 1110, outputTokens: 4, cacheReadTokens: 1000, cacheWriteTokens: 100 });
  });
});

describe('openai specifics', () => {
  it('talks to a compatible server without a key, using max_tokens', async () => {
    server.reply(openaiKit.text('hello from a local server'));
    // Like Ollama or vLLM: a base URL and no OPENAI_API_KEY anywhere.
    const model = openai('llama3.2', { baseURL: `${server.url}/v1`, env: {}, logger: quiet });
    const response = await model.generate({ ...ask('hi'), maxTokens: 50, seed: 7 });
    expect(response.text).toBe('hello from a local server');
    const body = server.requests[0]!.body;
    expect(body['max_tokens']).toBe(50);
    expect(body['max_completion_tokens']).toBeUndefined();
    expect(body['seed']).toBe(7);
    expect(server.requests[0]!.headers['authorization']).toBe('Bearer no-key-required');
  });

  it('sends max_completion_tokens when told to, and json_schema with the schema', async () => {
    server.reply(openaiKit.text('{"ok":true}'));
    await openaiKit
      .model(server, { logger: quiet, maxTokensParam: 'max_completion_tokens' })
      .generate({ ...ask('json'), responseFormat: { type: 'json', name: 'my schema!', schema: { type: 'object', properties: { ok: { type: 'boolean' } } } } });
    const body = server.requests[0]!.body;
    expect(body['max_completion_tokens']).toBe(1024);
    expect(body['response_format']).toEqual({
      type: 'json_schema',
      json_schema: { name: 'my_schema_', schema: { type: 'object', properties: { ok: { type: 'boolean' } } }, strict: false },
    });
  });

  it('falls back to json_object with the schema in the prompt', async () => {
    server.reply(openaiKit.text('{}'));
    await openaiKit
      .model(server, { logger: quiet, jsonMode: 'json_object' })
      .generate({ ...ask('json'), responseFormat: { type: 'json', schema: { type: 'object', required: ['y'] } } });
    const body = server.requests[0]!.body;
    expect(body['response_format']).toEqual({ type: 'json_object' });
    // json_object mode requires the word JSON in the messages.
    expect(openaiKit.system(body)).toMatch(/JSON/);
    expect(openaiKit.system(body)).toContain('"required":["y"]');
  });

  it('maps a named tool choice and sends tool results with their call ids', async () => {
    server.reply(openaiKit.text('done'));
    await openaiKit.model(server, { logger: quiet }).generate({
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'weather', arguments: { city: 'Oslo' } }] },
        { role: 'tool', toolCallId: 'c1', toolName: 'weather', content: '-3' },
      ],
      tools: [{ name: 'weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      toolChoice: { name: 'weather' },
    });
    const body = server.requests[0]!.body;
    expect(body['tool_choice']).toEqual({ type: 'function', function: { name: 'weather' } });
    expect(body['messages']).toEqual([
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '-3' },
    ]);
  });

  it('retries a stream whose first chunk is an error object', async () => {
    server.reply(
      { kind: 'sse', events: [{ data: { error: { message: 'The server had an error while processing your request.', type: 'server_error' } } }] },
      openaiKit.stream(['second ', 'try'], { input: 3, output: 2 }),
    );
    const { text } = await final(openaiKit.model(server, { logger: quiet, initialDelayMs: 10 }).stream(ask('hi')));
    expect(text).toBe('second try');
    expect(server.requests).toHaveLength(2);
  });

  it('estimates usage when a compatible server reports none', async () => {
    const reply = openaiKit.text('four words right here');
    if (reply.kind !== 'json') throw new Error('unexpected reply kind');
    delete (reply.body as Record<string, unknown>)['usage'];
    server.reply(reply);
    const response = await openaiKit.model(server, { logger: quiet }).generate(ask('a prompt of some length'));
    expect(response.usage.outputTokens).toBe(Math.ceil('four words right here'.length / 4));
    expect(response.usage.inputTokens).toBeGreaterThan(0);
  });

  it('reads the base URL and key from the environment through createModel', async () => {
    server.reply(openaiKit.text('via env'));
    const model = createModel('openai:gpt-4.1-mini', { env: { OPENAI_API_KEY: SECRET, OPENAI_BASE_URL: `${server.url}/v1` }, logger: quiet });
    expect((await model.generate(ask('hi'))).text).toBe('via env');
    expect(openaiKit.apiKeyOf(server.requests[0]!)).toBe(SECRET);
  });
});

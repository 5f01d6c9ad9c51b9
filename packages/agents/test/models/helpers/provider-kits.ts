/**
 * Each provider's wire format, for the fake servers: replies in the shape the
 * real APIs send (JSON bodies and SSE streams) and readers for what the real
 * SDK clients sent. One kit per provider lets the adapter tests run the same
 * scenarios against both.
 */
import { anthropic, openai, type AnthropicModelOptions, type LanguageModel, type OpenAIModelOptions } from '../../../src/models/index.js';
import type { FakeServer, RecordedRequest, Reply, SseEvent } from './fake-server.js';

export const SECRET = 'sk-test-SECRET-123';

export interface WireUsage {
  /** Input tokens billed at the plain price (Anthropic) or all input tokens (OpenAI). */
  input: number;
  output: number;
  /** Read from the prompt cache. */
  cacheRead?: number;
  /** Written to the prompt cache (Anthropic only). */
  cacheWrite?: number;
}

function anthropicUsage(usage: WireUsage): Json {
  return {
    input_tokens: usage.input,
    output_tokens: usage.output,
    ...(usage.cacheRead === undefined ? {} : { cache_read_input_tokens: usage.cacheRead }),
    ...(usage.cacheWrite === undefined ? {} : { cache_creation_input_tokens: usage.cacheWrite }),
  };
}

function openaiUsage(usage: WireUsage): Json {
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    ...(usage.cacheRead === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cacheRead } }),
  };
}

export interface WireToolCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

export interface ProviderKit {
  name: 'anthropic' | 'openai';
  keyVar: string;
  /** The model name the kits use; priced in the default table. */
  modelName: string;
  /** What the server reports as the model (a dated snapshot). */
  servedModel: string;
  model(server: FakeServer, options?: AnthropicModelOptions & OpenAIModelOptions & { name?: string }): LanguageModel;
  text(text: string, usage?: WireUsage): Reply;
  toolCalls(calls: WireToolCall[], usage?: WireUsage): Reply;
  stream(parts: string[], usage: WireUsage, options?: { chunkDelayMs?: number; hangAfter?: boolean }): Reply;
  streamToolCall(call: WireToolCall, usage: WireUsage): Reply;
  error(status: number, message: string, headers?: Record<string, string>): Reply;
  system(body: Record<string, unknown>): string | undefined;
  /** Every text the request's user turns carried. */
  userTexts(body: Record<string, unknown>): string[];
  maxTokens(body: Record<string, unknown>): unknown;
  toolResults(body: Record<string, unknown>): Array<{ id: string; content: string }>;
  toolNames(body: Record<string, unknown>): string[];
  /** The JSON schema the request asked the server to enforce, if any. */
  jsonSchemaSent(body: Record<string, unknown>): unknown;
  apiKeyOf(request: RecordedRequest): string | undefined;
}

type Json = Record<string, unknown>;

function bearer(request: RecordedRequest): string | undefined {
  const auth = request.headers['authorization'];
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  const key = request.headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}

export const anthropicKit: ProviderKit = {
  name: 'anthropic',
  keyVar: 'ANTHROPIC_API_KEY',
  modelName: 'claude-sonnet-4-6',
  servedModel: 'claude-sonnet-4-6',
  model(server, options = {}) {
    const { name, ...rest } = options;
    return anthropic(name ?? 'claude-sonnet-4-6', { apiKey: SECRET, baseURL: server.url, env: {}, ...rest });
  },
  text(text, usage = { input: 12, output: 7 }) {
    return {
      kind: 'json',
      body: {
        id: 'msg_01',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-6',
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: anthropicUsage(usage),
      },
      headers: { 'request-id': 'req_fake_1' },
    };
  },
  toolCalls(calls, usage = { input: 30, output: 12 }) {
    return {
      kind: 'json',
      body: {
        id: 'msg_02',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-6',
        content: [
          { type: 'text', text: 'Let me look that up.' },
          ...calls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: call.args })),
        ],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: anthropicUsage(usage),
      },
    };
  },
  stream(parts, usage, options = {}) {
    const events: SseEvent[] = [
      {
        event: 'message_start',
        data: {
          type: 'message_start',
          message: {
            id: 'msg_03',
            type: 'message',
            role: 'assistant',
            content: [],
            model: 'claude-sonnet-4-6',
            stop_reason: null,
            stop_sequence: null,
            usage: { ...anthropicUsage(usage), output_tokens: 1 },
          },
        },
      },
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
      { event: 'ping', data: { type: 'ping' } },
      ...parts.map((part) => ({
        event: 'content_block_delta',
        data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: part } },
      })),
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
      {
        event: 'message_delta',
        data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output } },
      },
      { event: 'message_stop', data: { type: 'message_stop' } },
    ];
    if (options.hangAfter) {
      // Stop before the end so the client is left waiting mid-stream.
      return { kind: 'sse', events: events.slice(0, 4), hangAfter: true, ...(options.chunkDelayMs ? { chunkDelayMs: options.chunkDelayMs } : {}) };
    }
    return { kind: 'sse', events, ...(options.chunkDelayMs ? { chunkDelayMs: options.chunkDelayMs } : {}) };
  },
  streamToolCall(call, usage) {
    const json = JSON.stringify(call.args);
    const half = Math.floor(json.length / 2);
    return {
      kind: 'sse',
      events: [
        {
          event: 'message_start',
          data: {
            type: 'message_start',
            message: {
              id: 'msg_04',
              type: 'message',
              role: 'assistant',
              content: [],
              model: 'claude-sonnet-4-6',
              stop_reason: null,
              stop_sequence: null,
              usage: { input_tokens: usage.input, output_tokens: 1 },
            },
          },
        },
        {
          event: 'content_block_start',
          data: { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } },
        },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } } },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: json.slice(half) } } },
        { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
        {
          event: 'message_delta',
          data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: usage.output } },
        },
        { event: 'message_stop', data: { type: 'message_stop' } },
      ],
    };
  },
  error(status, message, headers = {}) {
    const type =
      status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
    return { kind: 'json', status, headers, body: { type: 'error', error: { type, message } } };
  },
  system(body) {
    const system = body['system'];
    if (typeof system === 'string') return system;
    if (Array.isArray(system)) return (system as Json[]).map((block) => String(block['text'])).join('\n');
    return undefined;
  },
  userTexts(body) {
    const out: string[] = [];
    for (const message of body['messages'] as Json[]) {
      if (message['role'] !== 'user') continue;
      const content = message['content'];
      if (typeof content === 'string') out.push(content);
      else for (const block of content as Json[]) if (block['type'] === 'text') out.push(String(block['text']));
    }
    return out;
  },
  maxTokens: (body) => body['max_tokens'],
  toolResults(body) {
    const out: Array<{ id: string; content: string }> = [];
    for (const message of body['messages'] as Json[]) {
      if (!Array.isArray(message['content'])) continue;
      for (const block of message['content'] as Json[]) {
        if (block['type'] === 'tool_result') out.push({ id: String(block['tool_use_id']), content: String(block['content']) });
      }
    }
    return out;
  },
  toolNames: (body) => ((body['tools'] as Json[] | undefined) ?? []).map((tool) => String(tool['name'])),
  jsonSchemaSent: (body) => ((body['output_config'] as Json | undefined)?.['format'] as Json | undefined)?.['schema'],
  apiKeyOf: bearer,
};

function completion(message: Json, finish: string, usage: WireUsage): Json {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4.1-mini-2025-04-14',
    choices: [{ index: 0, message: { refusal: null, ...message }, finish_reason: finish, logprobs: null }],
    usage: openaiUsage(usage),
  };
}

function chunk(delta: Json, finish: string | null = null): Json {
  return {
    id: 'chatcmpl-2',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4.1-mini-2025-04-14',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  };
}

function usageChunk(usage: WireUsage): Json {
  return {
    id: 'chatcmpl-2',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4.1-mini-2025-04-14',
    choices: [],
    usage: openaiUsage(usage),
  };
}

export const openaiKit: ProviderKit = {
  name: 'openai',
  keyVar: 'OPENAI_API_KEY',
  modelName: 'gpt-4.1-mini',
  servedModel: 'gpt-4.1-mini-2025-04-14',
  model(server, options = {}) {
    const { name, ...rest } = options;
    return openai(name ?? 'gpt-4.1-mini', { apiKey: SECRET, baseURL: `${server.url}/v1`, env: {}, ...rest });
  },
  text(text, usage = { input: 12, output: 7 }) {
    return { kind: 'json', body: completion({ role: 'assistant', content: text }, 'stop', usage), headers: { 'x-request-id': 'req_fake_1' } };
  },
  toolCalls(calls, usage = { input: 30, output: 12 }) {
    return {
      kind: 'json',
      body: completion(
        {
          role: 'assistant',
          content: null,
          tool_calls: calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args) } })),
        },
        'tool_calls',
        usage,
      ),
    };
  },
  stream(parts, usage, options = {}) {
    const events: SseEvent[] = [
      { data: chunk({ role: 'assistant', content: '' }) },
      ...parts.map((part) => ({ data: chunk({ content: part }) })),
      { data: chunk({}, 'stop') },
      { data: usageChunk(usage) },
    ];
    if (options.hangAfter) {
      return { kind: 'sse', events: events.slice(0, 2), hangAfter: true, ...(options.chunkDelayMs ? { chunkDelayMs: options.chunkDelayMs } : {}) };
    }
    return { kind: 'sse', events, doneLine: true, ...(options.chunkDelayMs ? { chunkDelayMs: options.chunkDelayMs } : {}) };
  },
  streamToolCall(call, usage) {
    const json = JSON.stringify(call.args);
    const half = Math.floor(json.length / 2);
    return {
      kind: 'sse',
      doneLine: true,
      events: [
        { data: chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }) },
        { data: chunk({ tool_calls: [{ index: 0, function: { arguments: json.slice(0, half) } }] }) },
        { data: chunk({ tool_calls: [{ index: 0, function: { arguments: json.slice(half) } }] }) },
        { data: chunk({}, 'tool_calls') },
        { data: usageChunk(usage) },
      ],
    };
  },
  error(status, message, headers = {}) {
    const code = status === 401 ? 'invalid_api_key' : status === 429 ? 'rate_limit_exceeded' : null;
    return { kind: 'json', status, headers, body: { error: { message, type: 'invalid_request_error', param: null, code } } };
  },
  system(body) {
    const first = (body['messages'] as Json[])[0];
    return first?.['role'] === 'system' ? String(first['content']) : undefined;
  },
  userTexts: (body) => (body['messages'] as Json[]).filter((m) => m['role'] === 'user').map((m) => String(m['content'])),
  maxTokens: (body) => body['max_tokens'] ?? body['max_completion_tokens'],
  toolResults: (body) =>
    (body['messages'] as Json[]).filter((m) => m['role'] === 'tool').map((m) => ({ id: String(m['tool_call_id']), content: String(m['content']) })),
  toolNames: (body) => ((body['tools'] as Json[] | undefined) ?? []).map((tool) => String((tool['function'] as Json)['name'])),
  jsonSchemaSent: (body) => (((body['response_format'] as Json | undefined)?.['json_schema'] as Json | undefined)?.['schema']),
  apiKeyOf: bearer,
};

export const kits: ProviderKit[] = [anthropicKit, openaiKit];

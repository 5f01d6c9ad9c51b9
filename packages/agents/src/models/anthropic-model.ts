import type Anthropic from '@anthropic-ai/sdk';
import type { ClientOptions } from '@anthropic-ai/sdk';
import { runCall, streamCall, type CallPolicy } from './call-runner.js';
import {
  checkHttpOptions,
  checkModelName,
  DEFAULT_TIMEOUT_MS,
  resolveApiKey,
  resolveLimiter,
  type HttpModelOptions,
} from './http-model-options.js';
import type { JsonSchema } from './json-schema.js';
import { defaultPriceTable, pricedUsage, type PriceTable } from './pricing.js';
import { appendToSystem, jsonInstruction } from './prompt-format.js';
import { fromSdkError } from './sdk-errors.js';
import { redactingLogger, redactSecrets, registerUrlSecrets } from './secrets.js';
import { parseToolArguments } from './tool-arguments.js';
import {
  DEFAULT_MAX_TOKENS,
  type FinishReason,
  type GenerateRequest,
  type GenerateResponse,
  type LanguageModel,
  type ModelMessage,
  type StreamEvent,
  type ToolCall,
  type Usage,
} from './types.js';

export interface AnthropicModelOptions extends HttpModelOptions {
  /**
   * When a request asks for JSON with a schema, enforce it with the Messages
   * API's structured outputs (`output_config.format`). Turn off for models or
   * gateways that do not support it; the schema is then put in the system prompt.
   * @default true
   */
  structuredOutputs?: boolean;
  /**
   * Mark the stable prefix of each request with `cache_control` breakpoints so
   * the server caches it (reads then cost a tenth of the input price). A
   * request's own `cache: false` turns it off for that call; turn it off here
   * for gateways that reject `cache_control`.
   * @default true
   */
  promptCaching?: boolean;
}

const PROVIDER = 'anthropic';
const KEY_VAR = 'ANTHROPIC_API_KEY';
const DEFAULT_BASE_URL = 'https://api.anthropic.com';

/**
 * A Claude model on the Anthropic Messages API.
 *
 * @example
 * const model = anthropic('claude-sonnet-4-6'); // key from ANTHROPIC_API_KEY
 * const { text } = await model.generate({ messages: [{ role: 'user', content: 'Hello' }] });
 */
export function anthropic(model: string, options: AnthropicModelOptions = {}): AnthropicModel {
  return new AnthropicModel(model, options);
}

export class AnthropicModel implements LanguageModel {
  readonly provider = PROVIDER;
  readonly id: string;
  readonly baseURL: string;
  private readonly clientOptions: ClientOptions;
  private sdkClient: Promise<Anthropic> | null = null;
  private readonly policy: CallPolicy;
  private readonly prices: PriceTable;
  private readonly structuredOutputs: boolean;
  private readonly promptCaching: boolean;

  constructor(
    readonly model: string,
    options: AnthropicModelOptions = {},
  ) {
    checkModelName(PROVIDER, model);
    this.id = `${PROVIDER}:${model}`;
    checkHttpOptions(PROVIDER, this.id, options);
    const env = options.env ?? process.env;
    const apiKey = resolveApiKey(PROVIDER, this.id, KEY_VAR, options);
    this.baseURL = (options.baseURL ?? env['ANTHROPIC_BASE_URL'] ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    // A password in the base URL (a proxy's basic auth) is masked wherever it would be shown.
    registerUrlSecrets(this.baseURL);
    this.prices = options.prices ?? defaultPriceTable;
    this.structuredOutputs = options.structuredOutputs ?? true;
    this.promptCaching = options.promptCaching ?? true;
    this.clientOptions = {
      apiKey,
      baseURL: this.baseURL,
      // Our retry policy is the only one: the SDK's would multiply attempts and ignore our deadline.
      maxRetries: 0,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      logger: redactingLogger(options.logger),
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      ...(options.defaultHeaders ? { defaultHeaders: options.defaultHeaders } : {}),
    };
    const context = { provider: PROVIDER, modelId: this.id, model, keyEnvVar: KEY_VAR, baseURL: this.baseURL };
    this.policy = {
      provider: PROVIDER,
      modelId: this.id,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retry: options,
      limiter: resolveLimiter(options, PROVIDER, this.baseURL),
      toModelError: (error) => fromSdkError(error, context),
      hint: `server ${redactSecrets(this.baseURL)}`,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    };
  }

  /** The SDK client, made on first use: importing the SDK costs start-up time that users of other models should not pay. */
  private client(): Promise<Anthropic> {
    this.sdkClient ??= import('@anthropic-ai/sdk').then(({ default: Sdk }) => new Sdk(this.clientOptions));
    return this.sdkClient;
  }

  generate(request: GenerateRequest): Promise<GenerateResponse> {
    // Params are built inside the call, after the runner has checked the request.
    return runCall(this.policy, request, async ({ signal, remainingMs }) => {
      const message = await (await this.client()).messages.create(
        { ...this.buildParams(request), stream: false },
        { signal, timeout: sdkTimeout(remainingMs), maxRetries: 0 },
      );
      return this.toResponse(message);
    });
  }

  stream(request: GenerateRequest): AsyncIterable<StreamEvent> {
    return streamCall(this.policy, request, ({ signal, remainingMs }) => this.streamAttempt(request, signal, remainingMs));
  }

  private async *streamAttempt(request: GenerateRequest, signal: AbortSignal, remainingMs: number): AsyncGenerator<StreamEvent> {
    const events = await (await this.client()).messages.create(
      { ...this.buildParams(request), stream: true },
      { signal, timeout: sdkTimeout(remainingMs), maxRetries: 0 },
    );
    let text = '';
    let model = this.model;
    let usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let stopReason: string | null = null;
    const tools = new Map<number, { id: string; name: string; json: string }>();

    for await (const event of events) {
      switch (event.type) {
        case 'message_start':
          model = event.message.model;
          usage = usageOf(event.message.usage);
          break;
        case 'content_block_start':
          if (event.content_block.type === 'tool_use') {
            tools.set(event.index, { id: event.content_block.id, name: event.content_block.name, json: '' });
          } else if (event.content_block.type === 'text' && event.content_block.text) {
            text += event.content_block.text;
            yield { type: 'text', delta: event.content_block.text };
          }
          break;
        case 'content_block_delta':
          if (event.delta.type === 'text_delta') {
            text += event.delta.text;
            yield { type: 'text', delta: event.delta.text };
          } else if (event.delta.type === 'input_json_delta') {
            const tool = tools.get(event.index);
            if (tool) tool.json += event.delta.partial_json;
          }
          break;
        case 'message_delta':
          stopReason = event.delta.stop_reason ?? stopReason;
          // message_delta usage is cumulative.
          usage = typeof event.usage.input_tokens === 'number' ? usageOf(event.usage) : { ...usage, outputTokens: event.usage.output_tokens };
          break;
        case 'message_stop':
          yield {
            type: 'done',
            response: this.finish({
              text,
              model,
              stopReason,
              usage,
              toolCalls: [...tools.values()].map((tool) => ({ id: tool.id, name: tool.name, ...parseToolArguments(tool.json || '{}') })),
            }),
          };
          break;
        default:
          break;
      }
    }
  }

  private buildParams(request: GenerateRequest): Anthropic.MessageCreateParamsNonStreaming {
    let system = request.system;
    let outputConfig: Anthropic.OutputConfig | undefined;
    const format = request.responseFormat;
    if (format?.type === 'json') {
      if (format.schema && this.structuredOutputs) {
        outputConfig = { format: { type: 'json_schema', schema: closeObjects(format.schema) } };
      } else {
        system = appendToSystem(system, jsonInstruction(format.schema));
      }
    }
    const tools = request.tools?.map(
      (tool): Anthropic.Tool => ({
        name: tool.name,
        description: tool.description,
        input_schema: { ...(tool.parameters as Record<string, unknown>), type: 'object' },
      }),
    );
    // Key order puts what is stable first and the conversation last, so the
    // bytes on the wire share a prefix from call to call as the cache does.
    const params: Anthropic.MessageCreateParamsNonStreaming = {
      model: this.model,
      max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(outputConfig ? { output_config: outputConfig } : {}),
      ...(tools && tools.length > 0 ? { tools } : {}),
      ...(tools && tools.length > 0 && request.toolChoice ? { tool_choice: toToolChoice(request.toolChoice) } : {}),
      ...(system ? { system } : {}),
      messages: toAnthropicMessages(request.messages),
    };
    if (this.promptCaching && request.cache !== false) markCachePrefix(params);
    return params;
  }

  private toResponse(message: Anthropic.Message): GenerateResponse {
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const block of message.content) {
      if (block.type === 'text') text += block.text;
      else if (block.type === 'tool_use') {
        toolCalls.push({ id: block.id, name: block.name, ...parseToolArguments(block.input) });
      }
    }
    return this.finish({
      text,
      model: message.model,
      stopReason: message.stop_reason,
      usage: usageOf(message.usage),
      toolCalls,
    });
  }

  private finish(parts: {
    text: string;
    model: string;
    stopReason: string | null;
    usage: Usage;
    toolCalls: ToolCall[];
  }): GenerateResponse {
    return {
      text: parts.text,
      toolCalls: parts.toolCalls,
      usage: parts.usage,
      model: parts.model,
      provider: PROVIDER,
      finishReason: toFinishReason(parts.stopReason),
      ...pricedUsage(this.prices, [parts.model, this.model], parts.usage),
    };
  }
}

/**
 * Input tokens including prompt-cache writes and reads, so totals and budgets
 * count everything sent; the cached parts are kept apart for pricing.
 */
function usageOf(usage: {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}): Usage {
  const read = usage.cache_read_input_tokens ?? 0;
  const write = usage.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (usage.input_tokens ?? 0) + write + read,
    outputTokens: usage.output_tokens ?? 0,
    ...(read > 0 ? { cacheReadTokens: read } : {}),
    ...(write > 0 ? { cacheWriteTokens: write } : {}),
  };
}

const EPHEMERAL = { type: 'ephemeral' } as const;

/**
 * Puts `cache_control` breakpoints on the stable prefix, in the order the
 * server reads a request (tools, system, messages), within its limit of four:
 * the system prompt (which caches the tools too) or, without one, the last
 * tool; and in a tool loop (a request with tools) the end of the conversation
 * so far plus the end of the previous user turn, so the next step reads all
 * of it back and a step that adds many blocks still finds the last entry.
 */
export function markCachePrefix(params: Anthropic.MessageCreateParamsNonStreaming): void {
  if (typeof params.system === 'string' && params.system !== '') {
    params.system = [{ type: 'text', text: params.system, cache_control: EPHEMERAL }];
  } else if (params.tools && params.tools.length > 0) {
    const last = params.tools.length - 1;
    params.tools = params.tools.map((tool, i) => (i === last ? { ...tool, cache_control: EPHEMERAL } : tool));
  }
  if (!params.tools || params.tools.length === 0) return;
  // Walk back over the user turns (tool results travel in user turns): the last one, then the one before.
  // With the one above that makes three breakpoints; the server allows four.
  let marked = 0;
  for (let i = params.messages.length - 1; i >= 0 && marked < 2; i--) {
    const message = params.messages[i] as Anthropic.MessageParam;
    if (message.role !== 'user' || !Array.isArray(message.content)) continue;
    const blocks = message.content;
    const index = blocks.length - 1;
    const block = blocks[index];
    if (!block || (block.type === 'text' && block.text === '')) continue;
    blocks[index] = { ...block, cache_control: EPHEMERAL } as Anthropic.ContentBlockParam;
    marked++;
  }
}


/** The SDK's own timer gets a little slack so ours, which knows the reason, fires first. */
function sdkTimeout(remainingMs: number): number {
  return Math.max(1, Math.ceil(remainingMs)) + 1_000;
}

function toFinishReason(reason: string | null): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

function toToolChoice(choice: NonNullable<GenerateRequest['toolChoice']>): Anthropic.ToolChoice {
  if (typeof choice === 'object') return { type: 'tool', name: choice.name };
  if (choice === 'required') return { type: 'any' };
  return { type: choice };
}

/**
 * Messages API turns: tool results travel as `tool_result` blocks in a user
 * turn, and consecutive results (plus any user text after them) must share one
 * turn right after the assistant's `tool_use` blocks.
 */
export function toAnthropicMessages(messages: readonly ModelMessage[]): Anthropic.MessageParam[] {
  const out: Anthropic.MessageParam[] = [];
  for (const message of messages) {
    if (message.role === 'assistant') {
      const blocks: Anthropic.ContentBlockParam[] = [];
      if (message.content) blocks.push({ type: 'text', text: message.content });
      for (const call of message.toolCalls ?? []) {
        blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: call.arguments });
      }
      if (blocks.length === 0) blocks.push({ type: 'text', text: '(no answer)' });
      out.push({ role: 'assistant', content: blocks });
      continue;
    }
    const block: Anthropic.ContentBlockParam =
      message.role === 'tool'
        ? { type: 'tool_result', tool_use_id: message.toolCallId ?? '', content: message.content }
        : { type: 'text', text: message.content };
    const previous = out[out.length - 1];
    if (previous?.role === 'user' && Array.isArray(previous.content)) {
      previous.content.push(block);
    } else {
      out.push({ role: 'user', content: [block] });
    }
  }
  return out;
}

/**
 * Structured outputs require every object to say `additionalProperties: false`;
 * an unset one is closed here (the output then simply carries no extra keys,
 * which the original schema allows too).
 */
function closeObjects(schema: JsonSchema): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      copy[key] = key === 'enum' || key === 'const' || key === 'default' ? value : walk(value);
    }
    if (copy['type'] === 'object' && copy['additionalProperties'] === undefined) copy['additionalProperties'] = false;
    return copy;
  };
  const closed = walk(schema) as JsonSchema;
  delete closed.$schema;
  return closed;
}

import type OpenAI from 'openai';
import type { ClientOptions } from 'openai';
import { runCall, streamCall, type CallPolicy } from './call-runner.js';
import {
  checkHttpOptions,
  checkModelName,
  DEFAULT_TIMEOUT_MS,
  resolveApiKey,
  resolveLimiter,
  type HttpModelOptions,
} from './http-model-options.js';
import { defaultPriceTable, pricedUsage, type PriceTable } from './pricing.js';
import { appendToSystem, estimateRequestTokens, estimateTokens, jsonInstruction } from './prompt-format.js';
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

type ChatParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

export interface OpenAIModelOptions extends HttpModelOptions {
  /**
   * How JSON output is requested: `json_schema` (structured outputs, the schema
   * enforced by the server), `json_object` (any JSON; the schema goes in the
   * prompt), or `prompt` (instructions only, for servers with neither).
   * @default 'json_schema'
   */
  jsonMode?: 'json_schema' | 'json_object' | 'prompt';
  /**
   * Send `json_schema` with `strict: true`. Strict mode needs every property
   * listed in `required` and `additionalProperties: false`; leave it off for
   * schemas that are not written that way.
   * @default false
   */
  strictJsonSchema?: boolean;
  /**
   * The parameter that carries `maxTokens`. OpenAI's current models take
   * `max_completion_tokens`; many compatible servers only know `max_tokens`.
   * @default 'max_completion_tokens' for api.openai.com, 'max_tokens' for other base URLs
   */
  maxTokensParam?: 'max_completion_tokens' | 'max_tokens';
  /**
   * Send the request's `cacheKey` (agents use "<team>:<role>") as
   * `prompt_cache_key`, which steers requests sharing a prefix to the same
   * cache. Turn off for compatible servers that reject unknown parameters.
   * @default true
   */
  promptCacheKey?: boolean;
  /** OpenAI organization id. @default OPENAI_ORG_ID from `env` */
  organization?: string;
  /** OpenAI project id. @default OPENAI_PROJECT_ID from `env` */
  project?: string;
}

const PROVIDER = 'openai';
const KEY_VAR = 'OPENAI_API_KEY';
const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
/** Sent to compatible servers that need no key (Ollama, vLLM, LM Studio); the SDK insists on one. */
const NO_KEY = 'no-key-required';

/**
 * A model on the OpenAI Chat Completions API or any compatible server.
 *
 * @example
 * const model = openai('gpt-4.1-mini'); // key from OPENAI_API_KEY
 * const local = openai('llama3.2', { baseURL: 'http://localhost:11434/v1' }); // Ollama, no key needed
 */
export function openai(model: string, options: OpenAIModelOptions = {}): OpenAIModel {
  return new OpenAIModel(model, options);
}

export class OpenAIModel implements LanguageModel {
  readonly provider = PROVIDER;
  readonly id: string;
  readonly baseURL: string;
  private readonly clientOptions: ClientOptions;
  private sdkClient: Promise<OpenAI> | null = null;
  private readonly policy: CallPolicy;
  private readonly prices: PriceTable;
  private readonly jsonMode: NonNullable<OpenAIModelOptions['jsonMode']>;
  private readonly strictJsonSchema: boolean;
  private readonly maxTokensParam: NonNullable<OpenAIModelOptions['maxTokensParam']>;
  private readonly promptCacheKey: boolean;

  constructor(
    readonly model: string,
    options: OpenAIModelOptions = {},
  ) {
    checkModelName(PROVIDER, model);
    this.id = `${PROVIDER}:${model}`;
    checkHttpOptions(PROVIDER, this.id, options);
    const env = options.env ?? process.env;
    this.baseURL = (options.baseURL ?? env['OPENAI_BASE_URL'] ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    // A password in the base URL (a proxy's basic auth) is masked wherever it would be shown.
    registerUrlSecrets(this.baseURL);
    const official = isOfficialOpenAI(this.baseURL);
    // OpenAI itself needs a key; a local compatible server usually does not.
    const apiKey = resolveApiKey(PROVIDER, this.id, KEY_VAR, options, official ? undefined : NO_KEY);
    this.prices = options.prices ?? defaultPriceTable;
    this.jsonMode = options.jsonMode ?? 'json_schema';
    this.strictJsonSchema = options.strictJsonSchema ?? false;
    this.maxTokensParam = options.maxTokensParam ?? (official ? 'max_completion_tokens' : 'max_tokens');
    this.promptCacheKey = options.promptCacheKey ?? true;
    const organization = options.organization ?? env['OPENAI_ORG_ID'];
    const project = options.project ?? env['OPENAI_PROJECT_ID'];
    this.clientOptions = {
      apiKey,
      baseURL: this.baseURL,
      // Our retry policy is the only one: the SDK's would multiply attempts and ignore our deadline.
      maxRetries: 0,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      logger: redactingLogger(options.logger),
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      ...(organization ? { organization } : {}),
      ...(project ? { project } : {}),
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
  private client(): Promise<OpenAI> {
    this.sdkClient ??= import('openai').then(({ default: Sdk }) => new Sdk(this.clientOptions));
    return this.sdkClient;
  }

  generate(request: GenerateRequest): Promise<GenerateResponse> {
    // Params are built inside the call, after the runner has checked the request.
    return runCall(this.policy, request, async ({ signal, remainingMs }) => {
      const completion = await (await this.client()).chat.completions.create(this.buildParams(request), {
        signal,
        timeout: sdkTimeout(remainingMs),
        maxRetries: 0,
      });
      return this.toResponse(completion, request);
    });
  }

  stream(request: GenerateRequest): AsyncIterable<StreamEvent> {
    return streamCall(this.policy, request, ({ signal, remainingMs }) => this.streamAttempt(request, signal, remainingMs));
  }

  private async *streamAttempt(request: GenerateRequest, signal: AbortSignal, remainingMs: number): AsyncGenerator<StreamEvent> {
    const chunks = await (await this.client()).chat.completions.create(
      // include_usage adds a last chunk with the token counts, which budgets need.
      { ...this.buildParams(request), stream: true, stream_options: { include_usage: true } },
      { signal, timeout: sdkTimeout(remainingMs), maxRetries: 0 },
    );
    let text = '';
    let model = this.model;
    let finish: string | null = null;
    let usage: Usage | undefined;
    const tools = new Map<number, { id: string; name: string; args: string }>();

    for await (const chunk of chunks) {
      if (chunk.model) model = chunk.model;
      if (chunk.usage) usage = usageOf(chunk.usage);
      const choice = chunk.choices[0];
      if (!choice) continue;
      const delta = choice.delta;
      if (delta.content) {
        text += delta.content;
        yield { type: 'text', delta: delta.content };
      }
      for (const call of delta.tool_calls ?? []) {
        const entry = tools.get(call.index) ?? { id: '', name: '', args: '' };
        if (call.id) entry.id = call.id;
        if (call.function?.name) entry.name += call.function.name;
        if (call.function?.arguments) entry.args += call.function.arguments;
        tools.set(call.index, entry);
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    const toolCalls = [...tools.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, tool]) => ({ id: tool.id || `call_${index}`, name: tool.name, ...parseToolArguments(tool.args) }));
    yield {
      type: 'done',
      response: this.finish({ text, model, finish, toolCalls, usage: usage ?? estimateUsage(request, text) }),
    };
  }

  private buildParams(request: GenerateRequest): ChatParams {
    let system = request.system;
    let responseFormat: ChatParams['response_format'];
    const format = request.responseFormat;
    if (format?.type === 'json') {
      if (this.jsonMode === 'json_schema' && format.schema) {
        const { $schema: _ignored, ...schema } = format.schema;
        responseFormat = {
          type: 'json_schema',
          json_schema: { name: safeSchemaName(format.name), schema, strict: this.strictJsonSchema },
        };
      } else {
        // json_object needs the word "JSON" in the prompt, which the instruction provides.
        system = appendToSystem(system, jsonInstruction(format.schema));
        if (this.jsonMode !== 'prompt') responseFormat = { type: 'json_object' };
      }
    }
    const messages: ChatMessage[] = [];
    if (system) messages.push({ role: 'system', content: system });
    messages.push(...toOpenAIMessages(request.messages));
    const tools = request.tools?.map(
      (tool): OpenAI.Chat.Completions.ChatCompletionFunctionTool => ({
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.parameters },
      }),
    );
    const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS;
    const cacheKey = this.promptCacheKey && request.cache !== false ? request.cacheKey : undefined;
    // Key order puts what is stable first and the conversation last, so the
    // bytes on the wire share a prefix from call to call as the cache does.
    return {
      model: this.model,
      ...(this.maxTokensParam === 'max_tokens' ? { max_tokens: maxTokens } : { max_completion_tokens: maxTokens }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      ...(responseFormat ? { response_format: responseFormat } : {}),
      ...(cacheKey ? { prompt_cache_key: cacheKey } : {}),
      ...(tools && tools.length > 0 ? { tools } : {}),
      ...(tools && tools.length > 0 && request.toolChoice ? { tool_choice: toToolChoice(request.toolChoice) } : {}),
      messages,
    };
  }

  private toResponse(completion: OpenAI.Chat.Completions.ChatCompletion, request: GenerateRequest): GenerateResponse {
    const choice = completion.choices[0];
    const message = choice?.message;
    const toolCalls: ToolCall[] = [];
    for (const call of message?.tool_calls ?? []) {
      if (call.type === 'function') {
        toolCalls.push({ id: call.id, name: call.function.name, ...parseToolArguments(call.function.arguments) });
      }
    }
    const text = message?.content ?? message?.refusal ?? '';
    const usage = completion.usage ? usageOf(completion.usage) : estimateUsage(request, text);
    return this.finish({
      text,
      model: completion.model || this.model,
      finish: message?.refusal && !message.content ? 'content_filter' : (choice?.finish_reason ?? null),
      toolCalls,
      usage,
    });
  }

  private finish(parts: { text: string; model: string; finish: string | null; toolCalls: ToolCall[]; usage: Usage }): GenerateResponse {
    return {
      text: parts.text,
      toolCalls: parts.toolCalls,
      usage: parts.usage,
      model: parts.model,
      provider: PROVIDER,
      finishReason: toFinishReason(parts.finish, parts.toolCalls.length > 0),
      ...pricedUsage(this.prices, [parts.model, this.model], parts.usage),
    };
  }
}

function isOfficialOpenAI(baseURL: string): boolean {
  try {
    return new URL(baseURL).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

/** Input tokens with the cached part (`prompt_tokens_details.cached_tokens`) kept apart for pricing. */
function usageOf(usage: OpenAI.Completions.CompletionUsage): Usage {
  const read = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens, ...(read > 0 ? { cacheReadTokens: read } : {}) };
}

/** Some compatible servers send no usage at all; an estimate keeps budgets meaningful. */
function estimateUsage(request: GenerateRequest, text: string): Usage {
  return { inputTokens: estimateRequestTokens(request), outputTokens: estimateTokens(text) };
}

function sdkTimeout(remainingMs: number): number {
  return Math.max(1, Math.ceil(remainingMs)) + 1_000;
}

/** json_schema names allow [A-Za-z0-9_-], up to 64 characters. */
function safeSchemaName(name: string | undefined): string {
  const cleaned = (name ?? 'response').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return cleaned || 'response';
}

function toFinishReason(reason: string | null, hasToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'stop':
      return hasToolCalls ? 'tool_calls' : 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return hasToolCalls ? 'tool_calls' : 'other';
  }
}

function toToolChoice(
  choice: NonNullable<GenerateRequest['toolChoice']>,
): OpenAI.Chat.Completions.ChatCompletionToolChoiceOption {
  if (typeof choice === 'object') return { type: 'function', function: { name: choice.name } };
  return choice;
}

export function toOpenAIMessages(messages: readonly ModelMessage[]): ChatMessage[] {
  return messages.map((message): ChatMessage => {
    if (message.role === 'tool') {
      return { role: 'tool', tool_call_id: message.toolCallId ?? '', content: message.content };
    }
    if (message.role === 'assistant') {
      const calls = message.toolCalls ?? [];
      return {
        role: 'assistant',
        content: message.content || (calls.length > 0 ? null : ''),
        ...(calls.length > 0
          ? {
              tool_calls: calls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: { name: call.name, arguments: call.rawArguments ?? JSON.stringify(call.arguments) },
              })),
            }
          : {}),
      };
    }
    return { role: 'user', content: message.content };
  });
}

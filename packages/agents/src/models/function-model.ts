import { checkFunction, errorMessage } from '@agent-team/core';
import { runCall, streamCall, type CallPolicy } from './call-runner.js';
import { ModelError } from './errors.js';
import { priceUsage, type ModelPrice } from './pricing.js';
import { estimateRequestTokens, estimateTokens, flattenPrompt } from './prompt-format.js';
import { redactSecrets } from './secrets.js';
import type { GenerateRequest, GenerateResponse, LanguageModel, StreamEvent, ToolCall, Usage } from './types.js';

/** A tool call a wrapped function asks for (a scripted model driving {@link runTools}); `id` defaults to `call_<n>`. */
export interface FunctionToolCall {
  id?: string;
  name: string;
  arguments?: Record<string, unknown>;
}

/**
 * What a wrapped function may return: the text, or the text with the usage it
 * knows and the tool calls it makes (then the tool loop runs them and calls
 * the function again with their results in `request.messages`).
 */
export type FunctionModelResult = string | { text: string; usage?: Usage; toolCalls?: FunctionToolCall[] };

/** The seed design's `llm_fn`: a prompt in, text out. It also gets the full request. */
export type PromptFunction = (prompt: string, request: GenerateRequest) => FunctionModelResult | Promise<FunctionModelResult>;

export interface FunctionModelOptions {
  /** Model id in usage records and errors. @default 'function:<fn.name>' or 'function' */
  id?: string;
  /**
   * Deadline of one call.
   * @default 120000
   */
  timeoutMs?: number;
  /**
   * Retries when the function throws a retryable {@link ModelError}; other errors are not retried.
   * @default 0
   */
  maxRetries?: number;
  /** Price for `costUsd`; without one the cost is unknown (null). */
  price?: ModelPrice;
}

/**
 * Wraps a plain `(prompt) => string | Promise<string>` as a {@link LanguageModel}.
 * The prompt is the system prompt and the conversation flattened into one
 * string; usage is estimated at ~4 characters per token unless the function
 * returns its own.
 *
 * @example
 * const model = fromFunction(async (prompt) => myClient.complete(prompt), { id: 'function:my-llm' });
 */
export function fromFunction(fn: PromptFunction, options: FunctionModelOptions = {}): LanguageModel {
  checkFunction('fromFunction(fn): fn, a (prompt, request) => string function,', fn);
  const id = options.id ?? (fn.name ? `function:${fn.name}` : 'function');
  const policy: CallPolicy = {
    provider: 'function',
    modelId: id,
    timeoutMs: options.timeoutMs ?? 120_000,
    retry: { maxRetries: options.maxRetries ?? 0 },
    toModelError: (error) =>
      new ModelError(`${id} failed: ${redactSecrets(errorMessage(error))}`, { provider: 'function', modelId: id, cause: error }),
  };

  const attempt = async (request: GenerateRequest, signal: AbortSignal): Promise<GenerateResponse> => {
    const result = await raceAbort(Promise.resolve().then(() => fn(flattenPrompt(request), request)), signal);
    const text = typeof result === 'string' ? result : result.text;
    if (typeof text !== 'string') {
      throw new ModelError(`${id} returned ${typeof text} instead of a string`, { provider: 'function', modelId: id });
    }
    const toolCalls = typeof result === 'object' ? functionToolCalls(id, result.toolCalls) : [];
    const usage =
      typeof result === 'object' && result.usage
        ? result.usage
        : { inputTokens: estimateRequestTokens(request), outputTokens: estimateTokens(text) };
    return {
      text,
      toolCalls,
      usage,
      model: id,
      provider: 'function',
      finishReason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
      costUsd: options.price ? priceUsage(options.price, usage) : null,
    };
  };

  return {
    id,
    provider: 'function',
    generate: (request) => runCall(policy, request, ({ signal }) => attempt(request, signal)),
    stream: (request): AsyncIterable<StreamEvent> =>
      streamCall(policy, request, async function* ({ signal }) {
        const response = await attempt(request, signal);
        if (response.text) yield { type: 'text', delta: response.text };
        yield { type: 'done', response };
      }),
  };
}

let nextCallId = 0;

function functionToolCalls(id: string, calls: unknown): ToolCall[] {
  if (calls === undefined) return [];
  if (!Array.isArray(calls)) {
    throw new ModelError(`${id} returned toolCalls as ${typeof calls}; return an array of { name, arguments }`, { provider: 'function', modelId: id });
  }
  return calls.map((call: unknown, i): ToolCall => {
    const c = (typeof call === 'object' && call !== null ? call : {}) as Partial<FunctionToolCall>;
    if (typeof c.name !== 'string' || c.name === '') {
      throw new ModelError(`${id} returned tool call ${i} without a name; give each call a name and arguments`, { provider: 'function', modelId: id });
    }
    const args = c.arguments ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new ModelError(`${id} returned tool call "${c.name}" with arguments that are not an object`, { provider: 'function', modelId: id });
    }
    return { id: typeof c.id === 'string' && c.id !== '' ? c.id : `call_${++nextCallId}`, name: c.name, arguments: args };
  });
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (the function itself cannot be stopped). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(errorMessage(error)));
      },
    );
  });
}

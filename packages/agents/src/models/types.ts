/**
 * The model seam: one small interface that every provider implements. Nothing
 * outside `models/` knows a vendor; agents, the lead and Mixture-of-Agents talk
 * to a {@link LanguageModel} only.
 */

import type { JsonSchema } from './json-schema.js';

export type { JsonSchema } from './json-schema.js';

export type Role = 'user' | 'assistant';

/** One turn of a conversation. `tool` turns carry the result of a tool call back to the model. */
export interface ModelMessage {
  role: 'user' | 'assistant' | 'tool';
  content: string;
  /** On an assistant turn: the tool calls the model made. */
  toolCalls?: ToolCall[];
  /** On a tool turn: the id of the call this result answers. */
  toolCallId?: string;
  /** On a tool turn: the name of the tool that produced it. */
  toolName?: string;
}

/** A function the model may call. `parameters` is a JSON Schema of type `object`. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: JsonSchema;
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  /**
   * The arguments exactly as the provider sent them, when they were not a JSON
   * object (a truncated or malformed answer). `arguments` is then `{}` and
   * {@link runTools} tells the model what was wrong instead of running the tool.
   */
  rawArguments?: string;
}

/** What a call is for: the offline model answers in kind and usage is attributed by it. */
export type Purpose =
  | 'plan'
  | 'task'
  | 'review'
  | 'propose'
  | 'aggregate'
  | 'select'
  | 'vote'
  | 'repair'
  | (string & {});

/** Who a call is made for, so usage can be totalled per task, agent, team and MoA layer. */
export interface Attribution {
  taskId?: string;
  agentId?: string;
  teamId?: string;
  layer?: number;
  proposer?: string;
}

export interface GenerateRequest {
  system?: string;
  messages: ModelMessage[];
  /**
   * Upper bound on output tokens.
   * @default 1024
   */
  maxTokens?: number;
  temperature?: number;
  /** Aborts the call promptly, including while it waits in a backoff or a concurrency queue. */
  signal?: AbortSignal;
  /**
   * Deadline for the whole call, retries and backoff included.
   * @default the model's `timeoutMs` option (120 s for the HTTP adapters)
   */
  timeoutMs?: number;
  tools?: ToolDefinition[];
  toolChoice?: 'auto' | 'none' | 'required' | { name: string };
  responseFormat?: { type: 'json'; schema?: JsonSchema; name?: string };
  /** What the call is for, so the offline model can answer in kind and usage can be attributed. */
  purpose?: Purpose;
  /**
   * For `purpose: 'repair'`: the purpose of the call being repaired, so a
   * repair is answered in the same kind (the offline model re-plans, re-reviews...).
   */
  repairOf?: Purpose;
  /** Attribution for usage accounting. */
  attribution?: Attribution;
  seed?: number;
  /**
   * Ask the provider to cache the stable prefix of this request (Anthropic:
   * `cache_control` breakpoints; OpenAI: `prompt_cache_key`). Agents set it from
   * their `cache` option.
   * @default true
   */
  cache?: boolean;
  /**
   * Groups requests that share a prefix, for providers that route by it
   * (OpenAI's `prompt_cache_key`). Agents use "<team>:<role>" so agents of one
   * role share it. @default none
   */
  cacheKey?: string;
}

export interface Usage {
  /** Every input token sent, cached or not (budgets count them all). */
  inputTokens: number;
  outputTokens: number;
  /** Of `inputTokens`: read from the provider's prompt cache (billed at the cache-read price). Absent when none. */
  cacheReadTokens?: number;
  /** Of `inputTokens`: written to the provider's prompt cache (Anthropic bills these above the input price). Absent when none. */
  cacheWriteTokens?: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

export interface GenerateResponse {
  text: string;
  toolCalls: ToolCall[];
  usage: Usage;
  /** The model that answered, as the provider names it (may carry a date suffix). */
  model: string;
  provider: string;
  finishReason: FinishReason;
  /** Cost of this call in USD, or null when no price is known for the model. */
  costUsd: number | null;
  /**
   * What prompt caching saved on this call in USD: its cost with every input
   * token at the plain input price, minus `costUsd` (negative when cache writes
   * cost more than reads saved). Absent when nothing was cached or the model is unpriced.
   */
  cacheSavingsUsd?: number;
  /** Set when the response was replayed from a recording ({@link withCache}) rather than generated now. */
  cached?: boolean;
}

export type StreamEvent = { type: 'text'; delta: string } | { type: 'done'; response: GenerateResponse };

export interface LanguageModel {
  /** e.g. 'anthropic:claude-sonnet-4-6', 'openai:gpt-4.1-mini', 'offline' */
  readonly id: string;
  /** 'anthropic' | 'openai' | 'offline' | 'function' ... */
  readonly provider: string;
  generate(request: GenerateRequest): Promise<GenerateResponse>;
  /** Text deltas, then exactly one `done` event carrying the full response (usage included). */
  stream(request: GenerateRequest): AsyncIterable<StreamEvent>;
}

/** Applied where a request leaves `maxTokens` unset. */
export const DEFAULT_MAX_TOKENS = 1024;

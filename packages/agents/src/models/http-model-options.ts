import { checkOptions, rules } from '@agent-team/core';
import type { RetryInfo } from './call-runner.js';
import { sharedLimiter, type ConcurrencyLimiter } from './concurrency-limiter.js';
import { ModelConfigError } from './errors.js';
import type { PriceTable } from './pricing.js';
import type { RetryOptions } from './retry-policy.js';
import { registerSecret, type SdkLogger } from './secrets.js';

/** Options shared by the HTTP adapters ({@link anthropic}, {@link openai}). */
export interface HttpModelOptions extends RetryOptions {
  /** The API key. @default the provider's variable in `env` (ANTHROPIC_API_KEY, OPENAI_API_KEY) */
  apiKey?: string;
  /** The server to talk to. @default the provider's variable in `env`, else the provider's public API */
  baseURL?: string;
  /**
   * Default deadline of one call, retries and backoff included; a request's own `timeoutMs` wins.
   * @default 120000
   */
  timeoutMs?: number;
  /**
   * Requests in flight at once to this provider and base URL, shared by every
   * model with the same key. Calls beyond it wait their turn.
   * @default 8
   */
  maxConcurrency?: number;
  /** Use this limiter instead of the shared one (e.g. one budget of slots across providers). */
  limiter?: ConcurrencyLimiter;
  /** Where keys and base URLs are read from. @default process.env */
  env?: Record<string, string | undefined>;
  /** Prices for `costUsd`. @default defaultPriceTable */
  prices?: PriceTable;
  /** Extra headers on every request (a proxy's routing header...). */
  defaultHeaders?: Record<string, string>;
  /** Where the SDK's own log lines go, redacted. @default console */
  logger?: SdkLogger;
  /** How much the SDK logs. @default the SDK's default ('warn', or ANTHROPIC_LOG / OPENAI_LOG) */
  logLevel?: 'off' | 'error' | 'warn' | 'info' | 'debug';
  /** Called before each backoff sleep. */
  onRetry?: (info: RetryInfo) => void;
}

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_CONCURRENCY = 8;

/** Reads and checks the key: a missing one fails here, before any request, naming the variable to set. */
export function resolveApiKey(
  provider: string,
  modelId: string,
  envVar: string,
  options: HttpModelOptions,
  fallback?: string,
): string {
  const env = options.env ?? process.env;
  const key = (options.apiKey ?? env[envVar])?.trim();
  if (key) {
    registerSecret(key);
    return key;
  }
  if (fallback !== undefined) return fallback;
  throw new ModelConfigError(`no API key for ${provider}: set ${envVar} or pass apiKey`, { provider, modelId });
}

export function resolveLimiter(options: HttpModelOptions, provider: string, baseURL: string): ConcurrencyLimiter {
  if (options.limiter) return options.limiter;
  return sharedLimiter(`${provider} ${baseURL}`, options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY);
}

/** The rules of {@link HttpModelOptions}' numbers (core's option checks: InvalidOptionError naming the option and value). */
const HTTP_MODEL_OPTIONS = {
  timeoutMs: rules.duration(),
  maxRetries: rules.int({ min: 0, max: 100 }),
  maxConcurrency: rules.int({ min: 1 }),
  initialDelayMs: rules.duration({ min: 0 }),
  maxDelayMs: rules.duration({ min: 0 }),
  maxRetryAfterMs: rules.duration({ min: 0 }),
};

/** Refuses option values that would misbehave later (a zero timeout, a negative retry count, a timer past 2^31 ms), naming them. */
export function checkHttpOptions(provider: string, modelId: string, options: HttpModelOptions): void {
  checkOptions(options, HTTP_MODEL_OPTIONS, `${provider} model ${modelId}`);
}

export function checkModelName(provider: string, model: string): void {
  if (typeof model !== 'string' || model.trim() === '') {
    throw new ModelConfigError(`${provider} model name is empty: pass one, e.g. ${provider}("${provider === 'anthropic' ? 'claude-sonnet-4-6' : 'gpt-4.1-mini'}")`, {
      provider,
    });
  }
}

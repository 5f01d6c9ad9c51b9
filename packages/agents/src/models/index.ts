// The model layer's public API: the LanguageModel seam, its adapters and helpers.

export type {
  Attribution,
  FinishReason,
  GenerateRequest,
  GenerateResponse,
  LanguageModel,
  ModelMessage,
  Purpose,
  Role,
  StreamEvent,
  ToolCall,
  ToolDefinition,
  Usage,
} from './types.js';
export { DEFAULT_MAX_TOKENS } from './types.js';

export { validateJsonSchema, type JsonSchema, type JsonSchemaType, type ValidateOptions } from './json-schema.js';
export { extractJson, type JsonExtraction } from './json-extract.js';

export {
  BudgetExceededError,
  MaxStepsExceededError,
  ModelAuthError,
  ModelConfigError,
  ModelConnectionError,
  ModelError,
  ModelRateLimitError,
  ModelRequestError,
  ModelServerError,
  ModelTimeoutError,
  ReplayMissError,
  StructuredOutputError,
  type ModelErrorOptions,
} from './errors.js';

export { anthropic, AnthropicModel, type AnthropicModelOptions } from './anthropic-model.js';
export { openai, OpenAIModel, type OpenAIModelOptions } from './openai-model.js';
export type { HttpModelOptions } from './http-model-options.js';
export { DEFAULT_TIMEOUT_MS, DEFAULT_MAX_CONCURRENCY } from './http-model-options.js';
export { offlineModel, OfflineModel, type OfflineModelOptions, type PlanFault } from './offline-model.js';
export { fromFunction, type FunctionModelOptions, type FunctionModelResult, type FunctionToolCall, type PromptFunction } from './function-model.js';
export { createModel, parseModelSpec, type CreateModelOptions, type ModelSpec } from './create-model.js';

export { generateObject, type GenerateObjectRequest, type GenerateObjectResult } from './generate-object.js';
export { runTools, type ExecutableTool, type RunToolsOptions, type RunToolsResult, type ToolContext } from './run-tools.js';

export { ConcurrencyLimiter, sharedLimiter } from './concurrency-limiter.js';
export { DEFAULT_MAX_RETRIES, isRetryableStatus, parseRetryAfter, type RetryOptions } from './retry-policy.js';
export type { RetryInfo } from './call-runner.js';

export { cacheSavings, costOf, DEFAULT_PRICES, defaultPriceTable, PriceTable, priceKey, priceUsage, type ModelPrice } from './pricing.js';
export { promptCacheKey, withPromptCache, type PromptCacheOptions } from './prompt-cache.js';
export {
  Budget,
  layerProposerKey,
  UsageTracker,
  withUsage,
  type BudgetLimits,
  type UsageFilter,
  type UsageRecord,
  type UsageTotals,
  type UsageTrackerOptions,
  type WithUsageOptions,
} from './usage-tracker.js';
export { canonicalRequest, requestHash, withCache, type CacheMode, type CacheOptions } from './response-cache.js';
export { redactSecrets, registerSecret, registerUrlSecrets } from './secrets.js';

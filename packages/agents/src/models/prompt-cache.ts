import type { GenerateRequest, LanguageModel, StreamEvent } from './types.js';

export interface PromptCacheOptions {
  /** Ask providers to cache the stable prefix of each call. @default true */
  enabled?: boolean;
  /** The request's `cacheKey` (OpenAI's `prompt_cache_key`) where the request sets none. */
  key?: string;
}

/**
 * A model whose requests carry prompt-cache hints unless they set their own:
 * `cache` (on unless `enabled: false`) and `cacheKey`. Agents wrap their model
 * with it, keyed by team and role ({@link promptCacheKey}).
 */
export function withPromptCache(model: LanguageModel, options: PromptCacheOptions = {}): LanguageModel {
  const enabled = options.enabled ?? true;
  const apply = (request: GenerateRequest): GenerateRequest => ({
    ...request,
    cache: request.cache ?? enabled,
    ...(request.cacheKey === undefined && options.key !== undefined ? { cacheKey: options.key } : {}),
  });
  return {
    id: model.id,
    provider: model.provider,
    generate: (request) => model.generate(apply(request)),
    stream: (request): AsyncIterable<StreamEvent> => model.stream(apply(request)),
  };
}

/**
 * The cache key of an agent's calls: its team and role (and specialty), not
 * its id, so every agent of a role shares the provider's cache of their
 * common prefix (system prompt and tools).
 */
export function promptCacheKey(teamId: string, role: string, specialty?: string): string {
  return [teamId, role, ...(specialty ? [specialty] : [])].join(':');
}

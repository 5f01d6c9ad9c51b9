import { ValidationError } from '@agent-team/core';
import { AnthropicModel, type AnthropicModelOptions } from './anthropic-model.js';
import { OfflineModel, type OfflineModelOptions } from './offline-model.js';
import { OpenAIModel, type OpenAIModelOptions } from './openai-model.js';
import type { LanguageModel } from './types.js';

/** Options for {@link createModel}; each provider reads the part that concerns it. */
export interface CreateModelOptions extends AnthropicModelOptions, OpenAIModelOptions {
  /** Options of the offline model (`offline`, `offline:<seed>`); the spec's seed wins over `offline.seed`. */
  offline?: OfflineModelOptions;
}

const FORMS = '"anthropic:<model>", "openai:<model>", "offline" or "offline:<seed>" (e.g. "anthropic:claude-sonnet-4-6", "openai:gpt-4.1-mini", "offline:7")';

export interface ModelSpec {
  provider: 'anthropic' | 'openai' | 'offline';
  /** The model name; empty for offline. */
  model: string;
  seed?: number;
}

/** Parses a model spec string, as used in team specs and the CLI; a bad one fails with the accepted forms. */
export function parseModelSpec(spec: string): ModelSpec {
  if (typeof spec !== 'string') throw new ValidationError(`invalid model spec ${String(spec)}: use ${FORMS}`);
  const text = spec.trim();
  if (text === 'offline') return { provider: 'offline', model: '' };
  const colon = text.indexOf(':');
  const provider = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1).trim();
  switch (provider) {
    case 'offline':
      if (!/^-?\d+$/.test(rest) || !Number.isSafeInteger(Number(rest))) {
        throw new ValidationError(`invalid model spec ${JSON.stringify(spec)}: the offline seed must be a whole number; use ${FORMS}`);
      }
      return { provider: 'offline', model: '', seed: Number(rest) };
    case 'anthropic':
    case 'openai':
      if (rest === '' || /\s/.test(rest)) {
        throw new ValidationError(`invalid model spec ${JSON.stringify(spec)}: name the ${provider} model after the colon; use ${FORMS}`);
      }
      return { provider, model: rest };
    default:
      throw new ValidationError(
        `invalid model spec ${JSON.stringify(spec)}: ${colon < 0 ? 'no provider given' : `unknown provider ${JSON.stringify(provider)}`}; use ${FORMS}`,
      );
  }
}

/**
 * A model from a spec string. Keys come from ANTHROPIC_API_KEY / OPENAI_API_KEY
 * (and base URLs from ANTHROPIC_BASE_URL / OPENAI_BASE_URL) unless given in
 * `options`; a missing key fails here, naming the variable to set.
 *
 * @example
 * createModel('anthropic:claude-sonnet-4-6');
 * createModel('openai:llama3.2', { baseURL: 'http://localhost:11434/v1' });
 * createModel('offline:7');
 */
export function createModel(spec: string, options: CreateModelOptions = {}): LanguageModel {
  const parsed = parseModelSpec(spec);
  const { offline, ...http } = options;
  switch (parsed.provider) {
    case 'offline':
      return new OfflineModel({ ...offline, ...(parsed.seed === undefined ? {} : { seed: parsed.seed }) });
    case 'anthropic':
      return new AnthropicModel(parsed.model, http);
    case 'openai':
      return new OpenAIModel(parsed.model, http);
  }
}

import { InvalidOptionError } from '@agent-team/core';
import { ValidationError } from '@agent-team/core';
import { describe, expect, it } from 'vitest';
import {
  AnthropicModel,
  createModel,
  ModelConfigError,
  OfflineModel,
  offlineModel,
  OpenAIModel,
  parseModelSpec,
} from '../../src/models/index.js';
import { SECRET } from './helpers/provider-kits.js';

describe('createModel', () => {
  it('parses the accepted forms', () => {
    expect(parseModelSpec('anthropic:claude-sonnet-4-6')).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-6' });
    expect(parseModelSpec('openai:gpt-4.1-mini')).toEqual({ provider: 'openai', model: 'gpt-4.1-mini' });
    expect(parseModelSpec('openai:qwen2.5:7b')).toEqual({ provider: 'openai', model: 'qwen2.5:7b' });
    expect(parseModelSpec('offline')).toEqual({ provider: 'offline', model: '' });
    expect(parseModelSpec(' offline:42 ')).toEqual({ provider: 'offline', model: '', seed: 42 });
  });

  it('rejects a bad spec naming the value and the accepted forms', () => {
    for (const spec of ['', 'gpt-4', 'anthropic:', 'openai:  ', 'mistral:large', 'offline:abc', 'offline:1.5']) {
      let error: unknown;
      try {
        createModel(spec);
      } catch (e) {
        error = e;
      }
      expect(error, spec).toBeInstanceOf(ValidationError);
      const message = (error as Error).message;
      expect(message).toContain(JSON.stringify(spec));
      expect(message).toContain('"anthropic:<model>", "openai:<model>", "offline" or "offline:<seed>"');
    }
  });

  it('builds each provider, with keys and base URLs from the environment', () => {
    const claude = createModel('anthropic:claude-sonnet-4-6', { env: { ANTHROPIC_API_KEY: SECRET, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/' } });
    expect(claude).toBeInstanceOf(AnthropicModel);
    expect(claude.id).toBe('anthropic:claude-sonnet-4-6');
    expect((claude as AnthropicModel).baseURL).toBe('http://127.0.0.1:9');

    const gpt = createModel('openai:gpt-4.1-mini', { env: { OPENAI_API_KEY: SECRET } });
    expect(gpt).toBeInstanceOf(OpenAIModel);
    expect((gpt as OpenAIModel).baseURL).toBe('https://api.openai.com/v1');

    const local = createModel('openai:llama3.2', { env: { OPENAI_BASE_URL: 'http://localhost:11434/v1' } });
    expect((local as OpenAIModel).baseURL).toBe('http://localhost:11434/v1');
  });

  it('fails on a missing key, naming the variable to set', () => {
    expect(() => createModel('anthropic:claude-sonnet-4-6', { env: {} })).toThrow(ModelConfigError);
    expect(() => createModel('anthropic:claude-sonnet-4-6', { env: {} })).toThrow('no API key for anthropic: set ANTHROPIC_API_KEY or pass apiKey');
    expect(() => createModel('openai:gpt-4.1-mini', { env: { OPENAI_API_KEY: '   ' } })).toThrow(
      'no API key for openai: set OPENAI_API_KEY or pass apiKey',
    );
    // An explicit key needs no environment.
    expect(createModel('anthropic:claude-sonnet-4-6', { env: {}, apiKey: SECRET }).provider).toBe('anthropic');
  });

  it('refuses option values that would misbehave, naming them', () => {
    expect(() => createModel('openai:gpt-4.1-mini', { apiKey: SECRET, timeoutMs: 0 })).toThrow(
      'openai model openai:gpt-4.1-mini: timeoutMs must be a number of milliseconds from 1 to 2147483647',
    );
    expect(() => createModel('openai:gpt-4.1-mini', { apiKey: SECRET, timeoutMs: 2 ** 31 })).toThrow(InvalidOptionError);
    expect(() => createModel('anthropic:claude-sonnet-4-6', { apiKey: SECRET, maxRetries: -1 })).toThrow(InvalidOptionError);
    expect(() => createModel('anthropic:claude-sonnet-4-6', { apiKey: SECRET, maxConcurrency: 0.5 })).toThrow('maxConcurrency must be an integer of at least 1, got 0.5');
  });

  it('makes seeded offline models equal to offlineModel', async () => {
    const seven = createModel('offline:7', { offline: { reviewChangesFirst: 1 } });
    expect(seven).toBeInstanceOf(OfflineModel);
    expect(seven.id).toBe('offline:7');
    expect(createModel('offline').id).toBe('offline');
    const request = { purpose: 'propose', messages: [{ role: 'user' as const, content: 'Name three uses of graphite' }] };
    expect(await seven.generate(request)).toEqual(await offlineModel({ seed: 7 }).generate(request));
    const review = JSON.parse((await seven.generate({ ...request, purpose: 'review' })).text) as { verdict: string };
    expect(review.verdict).toBe('changes');
  });
});

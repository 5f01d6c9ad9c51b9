import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errnoCode, errorMessage, ValidationError } from '@agent-team/core';
import { ModelError, ReplayMissError } from './errors.js';
import { promptPreview } from './prompt-format.js';
import { redactSecrets } from './secrets.js';
import { DEFAULT_MAX_TOKENS, type GenerateRequest, type GenerateResponse, type LanguageModel, type StreamEvent } from './types.js';

/**
 * - `off`: pass every call through.
 * - `record`: call the model and save every response (overwriting older recordings).
 * - `replay`: answer only from recordings; a request never recorded fails with {@link ReplayMissError}.
 * - `auto`: replay what was recorded, record what was not.
 */
export type CacheMode = 'off' | 'record' | 'replay' | 'auto';

export interface CacheOptions {
  mode: CacheMode;
  /** Folder of recordings, one JSON file per request hash. Created when needed. */
  dir: string;
}

const FORMAT = 'agent-team.model-recording';
const VERSION = 1;

interface Recording {
  format: typeof FORMAT;
  version: number;
  hash: string;
  modelId: string;
  request: unknown;
  response: GenerateResponse;
  recordedAt: string;
}

/**
 * The parts of a request that decide the answer, in a stable form: keys
 * sorted, defaults applied, and the per-call plumbing (signal, timeout,
 * attribution) left out, so the same question hashes the same from any agent.
 */
export function canonicalRequest(modelId: string, request: GenerateRequest): unknown {
  return canonicalize({
    model: modelId,
    system: request.system,
    messages: request.messages,
    maxTokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
    temperature: request.temperature,
    tools: request.tools,
    toolChoice: request.toolChoice,
    responseFormat: request.responseFormat,
    purpose: request.purpose,
    repairOf: request.repairOf,
    seed: request.seed,
  });
}

/** sha256 (hex) of the canonical request. */
export function requestHash(modelId: string, request: GenerateRequest): string {
  return createHash('sha256').update(JSON.stringify(canonicalRequest(modelId, request))).digest('hex');
}

function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== undefined && typeof child !== 'function') out[key] = canonicalize(child);
  }
  return out;
}

/**
 * Record/replay for experiments and tests: the same request gets the same
 * recorded answer, with no network and no cost. Recordings are written
 * atomically (temp file, then rename) and redacted; requests carry no keys.
 */
export function withCache(model: LanguageModel, options: CacheOptions): LanguageModel {
  const modes: CacheMode[] = ['off', 'record', 'replay', 'auto'];
  if (!modes.includes(options.mode)) {
    throw new ValidationError(`invalid cache mode ${JSON.stringify(options.mode)}: use one of ${modes.join(', ')}`);
  }
  if (options.mode === 'off') return model;
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new ValidationError('withCache needs a dir for its recordings');
  }
  const dir = resolve(options.dir);
  const { mode } = options;
  const fileOf = (hash: string) => join(dir, `${hash}.json`);

  const load = async (hash: string): Promise<GenerateResponse | undefined> => {
    let text: string;
    try {
      text = await readFile(fileOf(hash), 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const recording = JSON.parse(text) as Recording;
      if (recording.format !== FORMAT || recording.version !== VERSION || typeof recording.response?.text !== 'string') {
        throw new Error(`not a version ${VERSION} recording`);
      }
      return { ...recording.response, cached: true };
    } catch (error) {
      throw new ModelError(
        `the recording ${fileOf(hash)} cannot be read (${errorMessage(error)}): delete it and record again`,
        { provider: model.provider, modelId: model.id },
      );
    }
  };

  const save = async (hash: string, request: GenerateRequest, response: GenerateResponse): Promise<void> => {
    const { cached: _cached, ...clean } = response;
    const recording: Recording = {
      format: FORMAT,
      version: VERSION,
      hash,
      modelId: model.id,
      request: canonicalRequest(model.id, request),
      response: clean,
      recordedAt: new Date().toISOString(),
    };
    await mkdir(dir, { recursive: true });
    const target = fileOf(hash);
    const temp = `${target}.${process.pid}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, `${redactSecrets(JSON.stringify(recording, null, 2))}\n`, 'utf8');
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  };

  const lookup = async (request: GenerateRequest): Promise<{ hash: string; hit: GenerateResponse | undefined }> => {
    const hash = requestHash(model.id, request);
    if (mode === 'record') return { hash, hit: undefined };
    const hit = await load(hash);
    if (!hit && mode === 'replay') {
      throw new ReplayMissError({
        provider: model.provider,
        modelId: model.id,
        hash,
        dir,
        promptPreview: promptPreview(request),
      });
    }
    return { hash, hit };
  };

  return {
    id: model.id,
    provider: model.provider,
    async generate(request) {
      const { hash, hit } = await lookup(request);
      if (hit) return hit;
      const response = await model.generate(request);
      await save(hash, request, response);
      return response;
    },
    async *stream(request): AsyncGenerator<StreamEvent> {
      const { hash, hit } = await lookup(request);
      if (hit) {
        for (const delta of chunkText(hit.text)) yield { type: 'text', delta };
        yield { type: 'done', response: hit };
        return;
      }
      for await (const event of model.stream(request)) {
        if (event.type === 'done') await save(hash, request, event.response);
        yield event;
      }
    },
  };
}

/** Splits text into word-sized pieces that concatenate back to it exactly. */
export function chunkText(text: string, wordsPerChunk = 3): string[] {
  const pieces = text.match(/\S+\s*|\s+/g) ?? [];
  const chunks: string[] = [];
  for (let i = 0; i < pieces.length; i += wordsPerChunk) chunks.push(pieces.slice(i, i + wordsPerChunk).join(''));
  return chunks;
}

import { createHash } from 'node:crypto';
import { ValidationError, assertValidId, checkInt } from '@agent-team/core';
import type { ModelMessage } from '../models/index.js';

/** How the final answer is made from the proposals. */
export type MoaMode = 'synthesize' | 'vote' | 'select';

export const MOA_MODES: readonly MoaMode[] = ['synthesize', 'vote', 'select'];

/** One proposer: its model, temperature and system prompt. */
export interface ProposerConfig<M = string> {
  /** Name in reports and usage. @default `p1`, `p2`, ... */
  id?: string;
  /** The model. In the queue, a model spec (`anthropic:...`, `openai:...`, `offline:7`); omitted: the claiming worker's own model. */
  model?: M;
  /** @default the model's */
  temperature?: number;
  /** @default a short instruction to answer well */
  system?: string;
}

/** The same model sampled `samples` times (Self-MoA). */
export interface SameModelConfig<M = string> {
  samples: number;
  model?: M;
  /** Sampling temperature; the samples differ only by it and their seed. @default 0.7 */
  temperature?: number;
  system?: string;
}

export interface ResolvedProposer<M = string> {
  id: string;
  model?: M;
  temperature?: number;
  system?: string;
  /** Index among the proposers, 0-based; varies the seed of same-model samples. */
  index: number;
}

export const DEFAULT_PROPOSER_SYSTEM =
  'You are one of several experts answering the same request independently. Give your best, complete answer.';

export const DEFAULT_AGGREGATOR_SYSTEM =
  'You have been provided with a set of responses from various models to the latest user query. Your task is to ' +
  'synthesize these responses into a single, high-quality response. Critically evaluate the information provided ' +
  'in these responses, recognizing that some of it may be biased or incorrect. Do not simply replicate the given ' +
  'answers; offer a refined, accurate and comprehensive reply. Cite the responses you draw on as [1], [2], ...';

/** Expands a proposer list or a same-model config into concrete proposers, with checked ids. */
export function resolveProposers<M>(spec: ReadonlyArray<ProposerConfig<M>> | SameModelConfig<M>): ResolvedProposer<M>[] {
  if (Array.isArray(spec)) {
    const list = spec as ReadonlyArray<ProposerConfig<M>>;
    if (list.length === 0) throw new ValidationError('Mixture-of-Agents needs at least one proposer');
    const ids = new Set<string>();
    return list.map((p, index) => {
      const id = p.id ?? `p${index + 1}`;
      assertValidId('proposer', id);
      if (ids.has(id)) throw new ValidationError(`proposer id "${id}" is used twice; give each proposer its own id`);
      ids.add(id);
      return { id, index, ...(p.model !== undefined ? { model: p.model } : {}), ...(p.temperature !== undefined ? { temperature: p.temperature } : {}), ...(p.system !== undefined ? { system: p.system } : {}) };
    });
  }
  const same = spec as SameModelConfig<M>;
  if (!Number.isInteger(same.samples) || same.samples < 1 || same.samples > 64) {
    throw new ValidationError(`samples must be an integer from 1 to 64, got ${JSON.stringify(same.samples)}`);
  }
  return Array.from({ length: same.samples }, (_, index) => ({
    id: `s${index + 1}`,
    index,
    temperature: same.temperature ?? 0.7,
    ...(same.model !== undefined ? { model: same.model } : {}),
    ...(same.system !== undefined ? { system: same.system } : {}),
  }));
}

export function checkMoaSettings(settings: { layers?: number; mode?: string; minSuccessful?: number; maxReferenceChars?: number }, proposers: number): {
  layers: number;
  mode: MoaMode;
  minSuccessful: number;
  maxReferenceChars: number;
} {
  const layers = checkInt('layers', settings.layers ?? 1, { min: 1, max: 8 });
  const mode = (settings.mode ?? 'synthesize') as MoaMode;
  if (!MOA_MODES.includes(mode)) {
    throw new ValidationError(`unknown Mixture-of-Agents mode ${JSON.stringify(settings.mode)}: use synthesize, vote or select`);
  }
  // The upper bound is the number of proposers: a layer cannot wait for more answers than it asks for.
  const minSuccessful = checkInt('minSuccessful', settings.minSuccessful ?? Math.min(2, proposers), { min: 1, max: proposers });
  const maxReferenceChars = checkInt('maxReferenceChars', settings.maxReferenceChars ?? 4000, { min: 100 });
  return { layers, mode, minSuccessful, maxReferenceChars };
}

/** A reproducible shuffle: the order references are shown in must not favour the first proposer. */
export function seededShuffle<T>(items: readonly T[], seed: string): T[] {
  const keyed = items.map((item, i) => ({ item, key: createHash('sha256').update(`${seed}:${i}`).digest('hex') }));
  return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((k) => k.item);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)} [...truncated]`;
}

/** Numbered references, shuffled and truncated, as the aggregator (or a later-layer proposer) sees them. */
export function referenceBlock(references: readonly string[], maxChars: number): string {
  return references.map((text, i) => `[${i + 1}] ${truncate(text.trim(), maxChars)}`).join('\n\n');
}

/** A proposer's turn: the prompt, plus the previous layer's answers for layers after the first. */
export function proposalMessages(prompt: string, references: readonly string[], maxChars: number): ModelMessage[] {
  if (references.length === 0) return [{ role: 'user', content: prompt }];
  return [
    {
      role: 'user',
      content:
        `${prompt}\n\nResponses from other models to this request (some may be wrong):\n\n${referenceBlock(references, maxChars)}\n\n` +
        'Using them critically, write your own best response to the request.',
    },
  ];
}

export function aggregateMessages(prompt: string, references: readonly string[], maxChars: number): ModelMessage[] {
  return [
    {
      role: 'user',
      content: `Responses from models:\n\n${referenceBlock(references, maxChars)}\n\nThe user query:\n${prompt}\n\nWrite the single best response.`,
    },
  ];
}

export function selectMessages(prompt: string, candidates: readonly string[], maxChars: number): ModelMessage[] {
  return [
    {
      role: 'user',
      content:
        `The request:\n${prompt}\n\nCandidate responses:\n\n${referenceBlock(candidates, maxChars)}\n\n` +
        'Choose the best candidate. Answer with JSON {"choice": <number>, "reason": "..."}.',
    },
  ];
}

export const SELECT_SCHEMA = {
  type: 'object',
  required: ['choice'],
  properties: { choice: { type: 'integer' }, reason: { type: 'string' } },
} as const;

/**
 * The answer a proposal votes for: its last `Answer: X` line if it has one,
 * else its last non-empty line, lower-cased, without punctuation or spacing
 * differences. Two proposals vote alike when these are equal.
 */
export function voteKey(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const answerLine = [...lines].reverse().find((l) => /^(final\s+)?answer\s*[:=-]/i.test(l));
  const chosen = (answerLine ?? lines[lines.length - 1] ?? '').replace(/^(final\s+)?answer\s*[:=-]\s*/i, '');
  return chosen.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/**
 * Plurality vote: the candidate whose key most proposals share. Ties go to
 * the key seen first in `candidates` order (shuffle it first for fairness).
 */
export function plurality(candidates: readonly string[]): { index: number; key: string; votes: Record<string, number> } {
  const votes: Record<string, number> = {};
  const first = new Map<string, number>();
  candidates.forEach((text, i) => {
    const key = voteKey(text);
    votes[key] = (votes[key] ?? 0) + 1;
    if (!first.has(key)) first.set(key, i);
  });
  let best = '';
  let bestCount = -1;
  // A Map iterates in insertion order, i.e. by first appearance: ties go to the earlier key.
  for (const key of first.keys()) {
    const count = votes[key] ?? 0;
    if (count > bestCount) {
      best = key;
      bestCount = count;
    }
  }
  return { index: first.get(best) ?? 0, key: best, votes };
}

/** One proposal, as recorded in results and reports. */
export interface ProposalOutcome {
  proposer: string;
  layer: number;
  model: string;
  text?: string;
  error?: string;
  inputTokens: number;
  outputTokens: number;
  durationMs: number;
}

/** The final answer of a Mixture-of-Agents run, in the queue or in memory. */
export interface MoaResult {
  answer: string;
  mode: MoaMode;
  layers: number;
  /** Every proposal of every layer. */
  proposals: ProposalOutcome[];
  /** Proposals that failed, with their errors (tolerated while at least minSuccessful succeeded). */
  failures: Array<{ proposer: string; layer: number; error: string }>;
  aggregator: { model: string; inputTokens: number; outputTokens: number; durationMs: number } | null;
  /** select: the chosen candidate (1-based, in the order shown); vote: the winning key and the counts. */
  choice?: number;
  votes?: Record<string, number>;
  usage: { inputTokens: number; outputTokens: number; totalTokens: number; calls: number };
}

export function moaFailureMessage(succeeded: number, total: number, minSuccessful: number, layer: number, failures: ReadonlyArray<{ proposer: string; error: string }>): string {
  const errors = failures.map((f) => `${f.proposer}: ${f.error}`).join('; ');
  return `only ${succeeded} of ${total} proposals succeeded in layer ${layer} (minSuccessful ${minSuccessful}); errors: ${errors || 'none recorded'}`;
}

/**
 * Synthetic proposers and aggregators of known accuracy, for measuring
 * Mixture-of-Agents orchestration and aggregation (not LLM quality). Every
 * random choice is a hash of (seed, proposer, item, layer, ...), so results do
 * not depend on scheduling or on the order calls happen in.
 */
import { createHash } from 'node:crypto';
import { AbortError } from '@agent-team/core';
import type { GenerateRequest, GenerateResponse, LanguageModel, StreamEvent } from '@agent-team/agents';

/** A number in [0, 1) from a hash of the parts. */
export function hash01(...parts: Array<string | number>): number {
  const hex = createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 13);
  return Number.parseInt(hex, 16) / 2 ** 52;
}

export const OPTIONS = ['A', 'B', 'C', 'D'] as const;

export interface McqItem {
  kind: 'mcq';
  id: string;
  answer: string;
  /** The option a wrong proposer picks under the "distractor" error model. */
  distractor: string;
}

export interface FactItem {
  kind: 'facts';
  id: string;
  gold: string[];
  /** False statements a proposer may add. */
  distractors: string[];
}

export type Item = McqItem | FactItem;

export function mcqItems(count: number, seed: number): McqItem[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `q${i}`;
    const answer = OPTIONS[Math.floor(hash01(seed, 'answer', id) * 4)] as string;
    const wrong = OPTIONS.filter((o) => o !== answer);
    return { kind: 'mcq', id, answer, distractor: wrong[Math.floor(hash01(seed, 'distractor', id) * 3)] as string };
  });
}

export function factItems(count: number, seed: number, gold = 8, distractors = 20): FactItem[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `f${i}`;
    void seed;
    return {
      kind: 'facts',
      id,
      gold: Array.from({ length: gold }, (_, g) => `fact ${id}-${g} is true`),
      distractors: Array.from({ length: distractors }, (_, d) => `claim ${id}-${d} is false`),
    };
  });
}

export function itemPrompt(item: Item): string {
  return item.kind === 'mcq'
    ? `Item ${item.id}\nWhich option is correct? Options: A, B, C, D. End with "Answer: <letter>".`
    : `Item ${item.id}\nList every true fact you know about ${item.id}, one per line.`;
}

export type ErrorModel = 'distractor' | 'uniform';

export interface SyntheticProposerOptions {
  id: string;
  seed: number;
  /** Probability of the right option (multiple choice). */
  accuracy?: number;
  /** How wrong answers are chosen: all on one tempting distractor, or uniform over the wrong options. @default 'distractor' */
  errors?: ErrorModel;
  /** Share of items where this proposer's draw is the one draw every correlated proposer shares. @default 0 */
  correlation?: number;
  /** Probability of recalling each gold fact. */
  recall?: number;
  /** Probability of adding each false claim. */
  falseRate?: number;
  /** Simulated latency. @default 0 */
  latencyMs?: number;
  /** Always fail (a provider outage). */
  fail?: boolean;
}

const tokens = (text: string) => Math.ceil(text.length / 4);

function lastUser(request: GenerateRequest): string {
  return [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
}

function itemOf(prompt: string, bank: ReadonlyMap<string, Item>): Item {
  const id = /Item (\S+)/.exec(prompt)?.[1];
  const item = id ? bank.get(id) : undefined;
  if (!item) throw new Error(`synthetic model: no known item in the prompt (${prompt.slice(0, 60)})`);
  return item;
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new AbortError());
      },
      { once: true },
    );
  });
}

abstract class SyntheticModel implements LanguageModel {
  abstract readonly id: string;
  readonly provider = 'synthetic';
  protected abstract answer(request: GenerateRequest): Promise<string>;

  async generate(request: GenerateRequest): Promise<GenerateResponse> {
    const text = await this.answer(request);
    const input = (request.system ?? '') + request.messages.map((m) => m.content).join('\n');
    return {
      text,
      toolCalls: [],
      usage: { inputTokens: tokens(input), outputTokens: tokens(text) },
      model: this.id,
      provider: this.provider,
      finishReason: 'stop',
      costUsd: 0,
    };
  }

  async *stream(request: GenerateRequest): AsyncGenerator<StreamEvent> {
    const response = await this.generate(request);
    for (const line of response.text.split(/(?<=\n)/)) yield { type: 'text', delta: line };
    yield { type: 'done', response };
  }
}

/** A proposer of known accuracy over a bank of items. */
export class SyntheticProposer extends SyntheticModel {
  readonly id: string;

  constructor(
    readonly options: SyntheticProposerOptions,
    private readonly bank: ReadonlyMap<string, Item>,
  ) {
    super();
    this.id = `synthetic:${options.id}`;
  }

  protected async answer(request: GenerateRequest): Promise<string> {
    const o = this.options;
    await wait(o.latencyMs ?? 0, request.signal);
    if (o.fail) throw Object.assign(new Error(`synthetic proposer ${o.id} is down (simulated outage)`), { isRetryable: true });
    const item = itemOf(lastUser(request), this.bank);
    const layer = request.attribution?.layer ?? 1;
    // Correlated proposers share one draw per item on a share of the items.
    const shared = hash01(o.seed, 'shared-on', item.id, layer) < (o.correlation ?? 0);
    const who = shared ? 'shared' : o.id;
    if (item.kind === 'mcq') {
      const correct = hash01(o.seed, who, item.id, layer, 'correct') < (o.accuracy ?? 0.5);
      if (correct) return `I compared the options.\nAnswer: ${item.answer}`;
      if ((o.errors ?? 'distractor') === 'distractor') return `I compared the options.\nAnswer: ${item.distractor}`;
      const wrong = OPTIONS.filter((x) => x !== item.answer);
      return `I compared the options.\nAnswer: ${wrong[Math.floor(hash01(o.seed, who, item.id, layer, 'wrong') * 3)]}`;
    }
    const lines = [
      ...item.gold.filter((f) => hash01(o.seed, who, item.id, layer, f) < (o.recall ?? 0.5)),
      ...item.distractors.filter((f) => hash01(o.seed, who, item.id, layer, f) < (o.falseRate ?? 0)),
    ];
    return lines.map((l) => `- ${l}`).join('\n');
  }
}

/**
 * An aggregator that really draws on its numbered references: the plurality
 * answer for multiple choice, and for facts every line at least `threshold`
 * references state (default: a majority of them).
 */
export class SyntheticAggregator extends SyntheticModel {
  readonly id = 'synthetic:aggregator';

  constructor(
    private readonly options: { latencyMs?: number; threshold?: number } = {},
  ) {
    super();
  }

  protected async answer(request: GenerateRequest): Promise<string> {
    await wait(this.options.latencyMs ?? 0, request.signal);
    const prompt = lastUser(request);
    const refs = prompt.split(/\n(?=\[\d+\] )/).filter((block) => /^\[\d+\] /.test(block)).map((b) => b.replace(/^\[\d+\] /, ''));
    const answers = refs.map((r) => /Answer: ([A-D])/.exec(r)?.[1]).filter((a): a is string => Boolean(a));
    if (answers.length > 0) {
      const counts = new Map<string, number>();
      for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
      let best = answers[0] as string;
      for (const [a, n] of counts) if (n > (counts.get(best) ?? 0)) best = a;
      return `Most references agree.\nAnswer: ${best}`;
    }
    const threshold = this.options.threshold ?? Math.floor(refs.length / 2) + 1;
    const counts = new Map<string, number>();
    for (const ref of refs) {
      for (const line of new Set(ref.split('\n').map((l) => l.replace(/^- /, '').trim()).filter(Boolean))) {
        if (line.includes('[...truncated]')) continue;
        counts.set(line, (counts.get(line) ?? 0) + 1);
      }
    }
    return [...counts].filter(([, n]) => n >= threshold).map(([line]) => `- ${line}`).join('\n');
  }
}

export function bankOf(items: readonly Item[]): Map<string, Item> {
  return new Map(items.map((i) => [i.id, i]));
}

/** The option a response picked, or null. */
export function pickedOption(text: string): string | null {
  return /Answer: ([A-D])/.exec(text)?.[1] ?? null;
}

export function factsIn(text: string): Set<string> {
  return new Set(text.split('\n').map((l) => l.replace(/^- /, '').trim()).filter(Boolean));
}

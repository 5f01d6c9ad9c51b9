import { InvalidOptionError } from '@agent-team/core';
import type { GenerateResponse, Usage } from './types.js';

/** USD per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Input tokens read from the prompt cache. @default inputPerMTok (no discount known) */
  cacheReadPerMTok?: number;
  /** Input tokens written to the prompt cache. @default inputPerMTok */
  cacheWritePerMTok?: number;
}

/** Anthropic bills cache reads at 0.1x and (5-minute) cache writes at 1.25x the input price. */
function claude(inputPerMTok: number, outputPerMTok: number): ModelPrice {
  return { inputPerMTok, outputPerMTok, cacheReadPerMTok: round(inputPerMTok * 0.1), cacheWritePerMTok: round(inputPerMTok * 1.25) };
}

/** OpenAI caches automatically: writes cost nothing extra, reads get the model's cached-input rate (`readShare` of input). */
function gpt(inputPerMTok: number, outputPerMTok: number, readShare?: number): ModelPrice {
  return readShare === undefined ? { inputPerMTok, outputPerMTok } : { inputPerMTok, outputPerMTok, cacheReadPerMTok: round(inputPerMTok * readShare) };
}

function round(usdPerMTok: number): number {
  return Math.round(usdPerMTok * 1e6) / 1e6;
}

/*
 * List prices, standard tier, short context, no caching or batch discounts,
 * looked up on 2026-11-21 from the providers' pricing pages as quoted by
 * dated secondary sources:
 * - Anthropic: Opus 4.5-4.8 $5/$25, Sonnet 4.x $3/$15, Haiku 4.5 $1/$5
 *   (pricing and batch pages, quoted June 2026); Fable 5 and Mythos 5 $10/$50
 *   (launch, 2026-06-09); Sonnet 5 and 5.5 $2/$10 (price trackers, 2026-09-29);
 *   Opus 4/4.1 $15/$75 and the Claude 3.x rates from the pricing page.
 * - OpenAI: GPT-5.6 Sol $5/$30, Terra $2.50/$15, Luna $1/$6 (preview pricing,
 *   2026-06-26); GPT-5.5 $5/$30, GPT-5.4 $2.50/$15, mini $0.75/$4.50, nano
 *   $0.20/$1.25, the pro models $30/$180 (pricing page, 2026-06-04); GPT-5.2
 *   $1.75/$14, GPT-5.1 and GPT-5 $1.25/$10 (2026-04); the GPT-4.1, GPT-4o and
 *   o-series rates from the pricing page.
 * Cache prices: Anthropic reads 0.1x and 5-minute writes 1.25x input (prompt
 * caching page); OpenAI's cached input is 0.1x for the GPT-5 family, 0.25x for
 * GPT-4.1, o3 and o4-mini, 0.5x for GPT-4o, and no discount for the pro models
 * (pricing page); OpenAI does not charge for cache writes.
 * Models with no published price found (claude-opus-5, claude-opus-5-5,
 * claude-haiku-5-5, the fable/mythos point releases) are left out: their cost
 * is reported as null rather than guessed. Prices change: override or extend
 * with `defaultPriceTable.set(...)` or a `PriceTable` of your own.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  // Anthropic
  'claude-fable-5': claude(10, 50),
  'claude-mythos-5': claude(10, 50),
  'claude-opus-4-8': claude(5, 25),
  'claude-opus-4-7': claude(5, 25),
  'claude-opus-4-6': claude(5, 25),
  'claude-opus-4-5': claude(5, 25),
  'claude-opus-4-1': claude(15, 75),
  'claude-opus-4-0': claude(15, 75),
  'claude-opus-4': claude(15, 75),
  'claude-sonnet-5-5': claude(2, 10),
  'claude-sonnet-5': claude(2, 10),
  'claude-sonnet-4-6': claude(3, 15),
  'claude-sonnet-4-5': claude(3, 15),
  'claude-sonnet-4-0': claude(3, 15),
  'claude-sonnet-4': claude(3, 15),
  'claude-3-7-sonnet': claude(3, 15),
  'claude-haiku-4-5': claude(1, 5),
  'claude-3-5-haiku': claude(0.8, 4),
  'claude-3-haiku': claude(0.25, 1.25),
  // OpenAI
  'gpt-5.6-sol': gpt(5, 30, 0.1),
  'gpt-5.6-terra': gpt(2.5, 15, 0.1),
  'gpt-5.6-luna': gpt(1, 6, 0.1),
  'gpt-5.5': gpt(5, 30, 0.1),
  'gpt-5.5-pro': gpt(30, 180),
  'gpt-5.4': gpt(2.5, 15, 0.1),
  'gpt-5.4-mini': gpt(0.75, 4.5, 0.1),
  'gpt-5.4-nano': gpt(0.2, 1.25, 0.1),
  'gpt-5.4-pro': gpt(30, 180),
  'gpt-5.2': gpt(1.75, 14, 0.1),
  'gpt-5.2-pro': gpt(21, 168),
  'gpt-5.1': gpt(1.25, 10, 0.1),
  'gpt-5': gpt(1.25, 10, 0.1),
  'gpt-5-pro': gpt(15, 120),
  'gpt-5-mini': gpt(0.25, 2, 0.1),
  'gpt-5-nano': gpt(0.05, 0.4, 0.1),
  'gpt-4.1': gpt(2, 8, 0.25),
  'gpt-4.1-mini': gpt(0.4, 1.6, 0.25),
  'gpt-4.1-nano': gpt(0.1, 0.4, 0.25),
  'gpt-4o': gpt(2.5, 10, 0.5),
  'gpt-4o-mini': gpt(0.15, 0.6, 0.5),
  o3: gpt(2, 8, 0.25),
  'o4-mini': gpt(1.1, 4.4, 0.25),
});

/**
 * Model name as a price key: provider prefix and date suffix removed, so
 * 'anthropic:claude-sonnet-4-5-20250929' and 'gpt-4.1-mini-2025-04-14' find
 * their family's price.
 */
export function priceKey(model: string): string {
  let key = model.trim().toLowerCase();
  const colon = key.indexOf(':');
  if (colon >= 0 && /^[a-z][a-z0-9_-]*$/.test(key.slice(0, colon))) key = key.slice(colon + 1);
  return key.replace(/-(\d{8}|\d{4}-\d{2}-\d{2})$/, '');
}

/** Prices by model name; starts from {@link DEFAULT_PRICES} unless told not to. */
export class PriceTable {
  private readonly prices = new Map<string, ModelPrice>();

  constructor(prices: Record<string, ModelPrice> = {}, options: { includeDefaults?: boolean } = {}) {
    if (options.includeDefaults ?? true) {
      for (const [model, price] of Object.entries(DEFAULT_PRICES)) this.prices.set(model, price);
    }
    for (const [model, price] of Object.entries(prices)) this.set(model, price);
  }

  /** Adds or replaces a model's price. */
  set(model: string, price: ModelPrice): this {
    for (const [name, value] of Object.entries(price) as Array<[string, unknown]>) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new InvalidOptionError(`price ${name} for "${model}"`, value, 'a non-negative number of USD per million tokens');
      }
    }
    this.prices.set(priceKey(model), {
      inputPerMTok: price.inputPerMTok,
      outputPerMTok: price.outputPerMTok,
      ...(price.cacheReadPerMTok === undefined ? {} : { cacheReadPerMTok: price.cacheReadPerMTok }),
      ...(price.cacheWritePerMTok === undefined ? {} : { cacheWritePerMTok: price.cacheWritePerMTok }),
    });
    return this;
  }

  delete(model: string): boolean {
    return this.prices.delete(priceKey(model));
  }

  get(model: string): ModelPrice | undefined {
    return this.prices.get(priceKey(model));
  }

  /** USD for `usage` on `model`, or null when the model has no price. */
  costOf(model: string, usage: Usage): number | null {
    const price = this.get(model);
    return price ? priceUsage(price, usage) : null;
  }

  /**
   * USD prompt caching saved on `usage` (its cost with every input token at the
   * plain input price, minus its real cost), or null when the model has no price.
   */
  cacheSavingsOf(model: string, usage: Usage): number | null {
    const price = this.get(model);
    return price ? cacheSavings(price, usage) : null;
  }

  entries(): Array<[string, ModelPrice]> {
    return [...this.prices.entries()];
  }
}

/**
 * USD for `usage` at `price`: uncached input at the input price, cache reads
 * and writes at theirs (the input price when the table has none), output at the output price.
 */
export function priceUsage(price: ModelPrice, usage: Usage): number {
  const read = usage.cacheReadTokens ?? 0;
  const write = usage.cacheWriteTokens ?? 0;
  const uncached = Math.max(0, usage.inputTokens - read - write);
  const usd =
    (uncached * price.inputPerMTok +
      read * (price.cacheReadPerMTok ?? price.inputPerMTok) +
      write * (price.cacheWritePerMTok ?? price.inputPerMTok) +
      usage.outputTokens * price.outputPerMTok) /
    1_000_000;
  // Rounded to a billionth of a dollar so sums of many calls do not show float noise.
  return Math.round(usd * 1e9) / 1e9;
}

/** What caching saved on `usage` at `price` (negative when writes cost more than reads saved). */
export function cacheSavings(price: ModelPrice, usage: Usage): number {
  const plain = priceUsage(price, { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens });
  return Math.round((plain - priceUsage(price, usage)) * 1e9) / 1e9;
}

/** The table adapters use unless given their own; extend it with `defaultPriceTable.set(...)`. */
export const defaultPriceTable = new PriceTable();

/** USD for `usage` on `modelId` ('anthropic:claude-sonnet-4-5', 'gpt-4.1'...), or null when unpriced. */
export function costOf(modelId: string, usage: Usage, table: PriceTable = defaultPriceTable): number | null {
  return table.costOf(modelId, usage);
}

/** `costUsd` (and `cacheSavingsUsd` when something was cached) at the first of `models` that has a price. */
export function pricedUsage(prices: PriceTable, models: readonly string[], usage: Usage): Pick<GenerateResponse, 'costUsd' | 'cacheSavingsUsd'> {
  for (const model of models) {
    const cost = prices.costOf(model, usage);
    if (cost === null) continue;
    const cached = (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0) > 0;
    return { costUsd: cost, ...(cached ? { cacheSavingsUsd: prices.cacheSavingsOf(model, usage) as number } : {}) };
  }
  return { costUsd: null };
}

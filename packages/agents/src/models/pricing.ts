import { InvalidOptionError } from '@agent-team/core';
import type { Usage } from './types.js';

/** USD per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
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
 * Models with no published price found (claude-opus-5, claude-opus-5-5,
 * claude-haiku-5-5, the fable/mythos point releases) are left out: their cost
 * is reported as null rather than guessed. Prices change: override or extend
 * with `defaultPriceTable.set(...)` or a `PriceTable` of your own.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  // Anthropic
  'claude-fable-5': { inputPerMTok: 10, outputPerMTok: 50 },
  'claude-mythos-5': { inputPerMTok: 10, outputPerMTok: 50 },
  'claude-opus-4-8': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-opus-4-7': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-opus-4-6': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-opus-4-5': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-opus-4-1': { inputPerMTok: 15, outputPerMTok: 75 },
  'claude-opus-4-0': { inputPerMTok: 15, outputPerMTok: 75 },
  'claude-opus-4': { inputPerMTok: 15, outputPerMTok: 75 },
  'claude-sonnet-5-5': { inputPerMTok: 2, outputPerMTok: 10 },
  'claude-sonnet-5': { inputPerMTok: 2, outputPerMTok: 10 },
  'claude-sonnet-4-6': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-sonnet-4-0': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-sonnet-4': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-3-7-sonnet': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-haiku-4-5': { inputPerMTok: 1, outputPerMTok: 5 },
  'claude-3-5-haiku': { inputPerMTok: 0.8, outputPerMTok: 4 },
  'claude-3-haiku': { inputPerMTok: 0.25, outputPerMTok: 1.25 },
  // OpenAI
  'gpt-5.6-sol': { inputPerMTok: 5, outputPerMTok: 30 },
  'gpt-5.6-terra': { inputPerMTok: 2.5, outputPerMTok: 15 },
  'gpt-5.6-luna': { inputPerMTok: 1, outputPerMTok: 6 },
  'gpt-5.5': { inputPerMTok: 5, outputPerMTok: 30 },
  'gpt-5.5-pro': { inputPerMTok: 30, outputPerMTok: 180 },
  'gpt-5.4': { inputPerMTok: 2.5, outputPerMTok: 15 },
  'gpt-5.4-mini': { inputPerMTok: 0.75, outputPerMTok: 4.5 },
  'gpt-5.4-nano': { inputPerMTok: 0.2, outputPerMTok: 1.25 },
  'gpt-5.4-pro': { inputPerMTok: 30, outputPerMTok: 180 },
  'gpt-5.2': { inputPerMTok: 1.75, outputPerMTok: 14 },
  'gpt-5.2-pro': { inputPerMTok: 21, outputPerMTok: 168 },
  'gpt-5.1': { inputPerMTok: 1.25, outputPerMTok: 10 },
  'gpt-5': { inputPerMTok: 1.25, outputPerMTok: 10 },
  'gpt-5-pro': { inputPerMTok: 15, outputPerMTok: 120 },
  'gpt-5-mini': { inputPerMTok: 0.25, outputPerMTok: 2 },
  'gpt-5-nano': { inputPerMTok: 0.05, outputPerMTok: 0.4 },
  'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 },
  'gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  'gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 },
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  o3: { inputPerMTok: 2, outputPerMTok: 8 },
  'o4-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4 },
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
    this.prices.set(priceKey(model), { inputPerMTok: price.inputPerMTok, outputPerMTok: price.outputPerMTok });
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

  entries(): Array<[string, ModelPrice]> {
    return [...this.prices.entries()];
  }
}

export function priceUsage(price: ModelPrice, usage: Usage): number {
  const usd = (usage.inputTokens * price.inputPerMTok + usage.outputTokens * price.outputPerMTok) / 1_000_000;
  // Rounded to a billionth of a dollar so sums of many calls do not show float noise.
  return Math.round(usd * 1e9) / 1e9;
}

/** The table adapters use unless given their own; extend it with `defaultPriceTable.set(...)`. */
export const defaultPriceTable = new PriceTable();

/** USD for `usage` on `modelId` ('anthropic:claude-sonnet-4-5', 'gpt-4.1'...), or null when unpriced. */
export function costOf(modelId: string, usage: Usage, table: PriceTable = defaultPriceTable): number | null {
  return table.costOf(modelId, usage);
}

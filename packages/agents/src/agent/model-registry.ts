import { ValidationError } from '@agent-team/core';
import { type LanguageModel, createModel, parseModelSpec } from '../models/index.js';

const registered = new Map<string, LanguageModel>();
const created = new Map<string, LanguageModel>();

/**
 * Makes a model available under a name wherever a model spec is accepted
 * (agents, Mixture-of-Agents proposers and aggregators, the CLI's --model),
 * in this process. Each process that should use it must register it too.
 *
 * @example
 * registerModel('house:summarizer', fromFunction(mySummarizer));
 * team.synthesize({ prompt, proposers: [{ model: 'house:summarizer' }, { model: 'offline:2' }] });
 */
export function registerModel(name: string, model: LanguageModel): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/.test(name)) {
    throw new ValidationError(`invalid model name ${JSON.stringify(name)}: use letters, digits and . _ : / -`);
  }
  registered.set(name, model);
}

export function unregisterModel(name: string): boolean {
  return registered.delete(name);
}

/** Checks a spec without creating anything (no key needed yet). */
export function checkModelSpec(spec: string): void {
  if (!registered.has(spec)) parseModelSpec(spec);
}

/**
 * A registered model, or one created from a spec (`anthropic:...`,
 * `openai:...`, `offline:7`). One object per spec and process, so a
 * provider's concurrency limit is shared by everyone using it.
 */
export function resolveModel(spec: string): LanguageModel {
  const own = registered.get(spec);
  if (own) return own;
  let model = created.get(spec);
  if (!model) {
    model = createModel(spec);
    created.set(spec, model);
  }
  return model;
}

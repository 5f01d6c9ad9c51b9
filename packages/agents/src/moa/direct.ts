import { AgentTeamError, ValidationError, errorMessage } from '@agent-team/core';
import { type GenerateResponse, type LanguageModel, type UsageTracker, generateObject, withUsage } from '../models/index.js';
import {
  DEFAULT_AGGREGATOR_SYSTEM,
  DEFAULT_PROPOSER_SYSTEM,
  type MoaMode,
  type MoaResult,
  type ProposalOutcome,
  type ProposerConfig,
  type ResolvedProposer,
  SELECT_SCHEMA,
  type SameModelConfig,
  aggregateMessages,
  checkMoaSettings,
  moaFailureMessage,
  plurality,
  proposalMessages,
  resolveProposers,
  seededShuffle,
  selectMessages,
} from './core.js';

/** Too few proposals succeeded, or the aggregator failed. Not worth retrying as is. */
export class MixtureError extends AgentTeamError {
  readonly isRetryable = false;
  constructor(
    message: string,
    readonly failures: ReadonlyArray<{ proposer: string; layer: number; error: string }> = [],
  ) {
    super(message);
  }
}

export interface AggregatorConfig {
  model: LanguageModel;
  temperature?: number;
  system?: string;
}

export interface MixtureOptions {
  /** The proposers, each with its model, temperature and system prompt; or one model sampled `samples` times. */
  proposers: ReadonlyArray<ProposerConfig<LanguageModel>> | SameModelConfig<LanguageModel>;
  /** Writes (synthesize) or picks (select) the final answer; not used by vote. @default the first proposer's model */
  aggregator?: LanguageModel | AggregatorConfig;
  /** Proposal layers; every proposer of layer k sees every answer of layer k-1. @default 1 */
  layers?: number;
  /** @default 'synthesize' */
  mode?: MoaMode;
  /** Fewer successful proposals in a layer fails the run. @default 2 (or 1 with one proposer) */
  minSuccessful?: number;
  /** Each reference is cut to this many characters. @default 4000 */
  maxReferenceChars?: number;
  /** Seed of the order references are shown in. @default derived from the prompt */
  seed?: string;
  /** Records every call with its layer and proposer. */
  usage?: UsageTracker;
  /** Output tokens per call. @default the model's */
  maxTokens?: number;
}

export interface MixtureCallOptions {
  signal?: AbortSignal;
  /** Receives the final answer as it is written (synthesize mode streams the aggregator). */
  onDelta?: (text: string) => void;
}

export type MixtureOfAgents = (prompt: string, options?: MixtureCallOptions) => Promise<MoaResult>;

/**
 * Mixture-of-Agents without a workspace, for scripts and experiments: the same
 * logic as the queue's `synthesize` task, run in memory with the proposals of
 * each layer in parallel.
 *
 * @example
 * const moa = mixtureOfAgents({
 *   proposers: [{ model: createModel('openai:gpt-4.1-mini') }, { model: createModel('anthropic:claude-haiku-4-5') }],
 *   aggregator: createModel('anthropic:claude-sonnet-4-5'),
 *   layers: 2,
 * });
 * const { answer } = await moa('Explain leases in distributed locks.');
 */
export function mixtureOfAgents(options: MixtureOptions): MixtureOfAgents {
  const proposers = resolveProposers(options.proposers);
  for (const p of proposers) {
    if (!p.model) throw new ValidationError(`proposer "${p.id}" has no model: give each proposer a model (or the same-model config one)`);
  }
  const settings = checkMoaSettings(options, proposers.length);
  const aggregator: AggregatorConfig =
    options.aggregator === undefined
      ? { model: proposers[0]!.model! }
      : 'generate' in options.aggregator
        ? { model: options.aggregator }
        : options.aggregator;

  return async (prompt, call = {}) => {
    if (typeof prompt !== 'string' || prompt.trim() === '') throw new ValidationError('the prompt must be a non-empty string');
    const seed = options.seed ?? prompt;
    const usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0, calls: 0 };
    const count = (response: Pick<GenerateResponse, 'usage'>, calls = 1) => {
      if (calls === 0) return;
      usage.inputTokens += response.usage.inputTokens;
      usage.outputTokens += response.usage.outputTokens;
      usage.totalTokens += response.usage.inputTokens + response.usage.outputTokens;
      usage.calls += calls;
    };
    const tracked = (model: LanguageModel, layer: number | undefined, proposer: string) =>
      options.usage ? withUsage(model, options.usage, { attribution: { ...(layer !== undefined ? { layer } : {}), proposer } }) : model;

    const all: ProposalOutcome[] = [];
    const failures: MoaResult['failures'] = [];
    let previous: string[] = [];
    for (let layer = 1; layer <= settings.layers; layer++) {
      const references = previous;
      const outcomes = await Promise.all(
        proposers.map((p) => propose(p, layer, references)),
      );
      all.push(...outcomes);
      const ok = outcomes.filter((o) => o.text !== undefined);
      for (const o of outcomes) if (o.error !== undefined) failures.push({ proposer: o.proposer, layer, error: o.error });
      if (ok.length < settings.minSuccessful) {
        throw new MixtureError(moaFailureMessage(ok.length, outcomes.length, settings.minSuccessful, layer, failures.filter((f) => f.layer === layer)), failures);
      }
      previous = seededShuffle(ok.map((o) => o.text as string), `${seed}:${layer}`);
    }

    const final = await aggregateStep({
      mode: settings.mode,
      prompt,
      candidates: previous,
      model: tracked(aggregator.model, undefined, 'aggregator'),
      aggregator,
      maxReferenceChars: settings.maxReferenceChars,
      failures,
      ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      ...(call.signal ? { signal: call.signal } : {}),
      ...(call.onDelta ? { onDelta: call.onDelta } : {}),
    });
    if (final.usage) count(final.usage, final.calls);
    const { answer, choice, votes } = final;
    const aggregatorUsage = final.info;
    return {
      answer,
      mode: settings.mode,
      layers: settings.layers,
      proposals: all,
      failures,
      aggregator: aggregatorUsage,
      ...(choice !== undefined ? { choice } : {}),
      ...(votes !== undefined ? { votes } : {}),
      usage,
    };

    async function propose(p: ResolvedProposer<LanguageModel>, layer: number, references: readonly string[]): Promise<ProposalOutcome> {
      const began = Date.now();
      const model = tracked(p.model as LanguageModel, layer, p.id);
      try {
        const response = await model.generate({
          purpose: 'propose',
          attribution: { layer, proposer: p.id },
          system: p.system ?? DEFAULT_PROPOSER_SYSTEM,
          messages: proposalMessages(prompt, references, settings.maxReferenceChars),
          seed: p.index + 1,
          ...(call.signal ? { signal: call.signal } : {}),
          ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
          ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
        });
        count(response);
        return {
          proposer: p.id,
          layer,
          model: model.id,
          text: response.text,
          inputTokens: response.usage.inputTokens,
          outputTokens: response.usage.outputTokens,
          durationMs: Date.now() - began,
        };
      } catch (err) {
        if (call.signal?.aborted) throw err;
        return { proposer: p.id, layer, model: model.id, error: errorMessage(err), inputTokens: 0, outputTokens: 0, durationMs: Date.now() - began };
      }
    }
  };
}

export interface AggregateStepInput {
  mode: MoaMode;
  prompt: string;
  /** The last layer's answers, already shuffled. */
  candidates: readonly string[];
  /** The aggregator's model, already counting usage. */
  model: LanguageModel;
  aggregator: { temperature?: number; system?: string };
  maxReferenceChars: number;
  failures: MoaResult['failures'];
  maxTokens?: number;
  signal?: AbortSignal;
  onDelta?: (text: string) => void;
}

export interface AggregateStepResult {
  answer: string;
  choice?: number;
  votes?: Record<string, number>;
  usage: Pick<GenerateResponse, 'usage'> | null;
  calls: number;
  info: MoaResult['aggregator'];
}

/** The final step shared by the queue and the in-memory runner: vote, select or synthesize. */
export async function aggregateStep(input: AggregateStepInput): Promise<AggregateStepResult> {
  const started = Date.now();
  const { candidates, model, aggregator } = input;
  if (input.mode === 'vote') {
    const result = plurality(candidates);
    const answer = candidates[result.index] as string;
    input.onDelta?.(answer);
    return { answer, votes: result.votes, usage: null, calls: 0, info: null };
  }
  if (input.mode === 'select') {
    const result = await generateObject<{ choice: number; reason?: string }>(model, {
      purpose: 'select',
      schema: SELECT_SCHEMA,
      system: aggregator.system ?? 'You judge which response answers the request best.',
      messages: selectMessages(input.prompt, candidates, input.maxReferenceChars),
      validate: (v) =>
        Number.isInteger(v.choice) && v.choice >= 1 && v.choice <= candidates.length ? [] : [`choice must be a number from 1 to ${candidates.length}`],
      ...(input.signal ? { signal: input.signal } : {}),
      ...(aggregator.temperature !== undefined ? { temperature: aggregator.temperature } : {}),
    });
    const answer = candidates[result.object.choice - 1] as string;
    input.onDelta?.(answer);
    return {
      answer,
      choice: result.object.choice,
      usage: { usage: result.usage },
      calls: result.attempts,
      info: { model: model.id, ...result.usage, durationMs: Date.now() - started },
    };
  }
  let text = '';
  let final: GenerateResponse | undefined;
  try {
    for await (const event of model.stream({
      purpose: 'aggregate',
      system: aggregator.system ?? DEFAULT_AGGREGATOR_SYSTEM,
      messages: aggregateMessages(input.prompt, candidates, input.maxReferenceChars),
      ...(input.signal ? { signal: input.signal } : {}),
      ...(aggregator.temperature !== undefined ? { temperature: aggregator.temperature } : {}),
      ...(input.maxTokens !== undefined ? { maxTokens: input.maxTokens } : {}),
    })) {
      if (event.type === 'text') {
        text += event.delta;
        input.onDelta?.(event.delta);
      } else {
        final = event.response;
      }
    }
  } catch (err) {
    if (input.signal?.aborted) throw err;
    throw new MixtureError(`the aggregator failed: ${errorMessage(err)}`, input.failures);
  }
  return {
    answer: final?.text ?? text,
    usage: final ?? null,
    calls: final ? 1 : 0,
    info: final ? { model: model.id, ...final.usage, durationMs: Date.now() - started } : null,
  };
}

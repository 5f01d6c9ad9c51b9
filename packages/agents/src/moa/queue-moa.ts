import { createHash } from 'node:crypto';
import { ValidationError, type TaskInput, type TaskRecord } from '@agent-team/core';
import type { Agent } from '../agent/agent.js';
import type { TaskContext } from '../agent/task-context.js';
import { checkModelSpec, resolveModel } from '../agent/model-registry.js';
import {
  DEFAULT_PROPOSER_SYSTEM,
  type MoaMode,
  type MoaResult,
  type ProposalOutcome,
  type ProposerConfig,
  type ResolvedProposer,
  type SameModelConfig,
  checkMoaSettings,
  moaFailureMessage,
  proposalMessages,
  resolveProposers,
  seededShuffle,
} from './core.js';
import { MixtureError, aggregateStep } from './direct.js';

/** A `synthesize` task: several proposers answer the prompt; the lead aggregates. */
export interface SynthesizeInput {
  prompt: string;
  id?: string;
  /** @default the prompt's first line */
  description?: string;
  /** Proposers by model spec (omit `model` to use the claiming worker's own model), or one model sampled n times. */
  proposers: ReadonlyArray<ProposerConfig<string>> | SameModelConfig<string>;
  /** The model that aggregates (a spec); omit for the lead's own model. */
  aggregator?: { model?: string; temperature?: number; system?: string };
  layers?: number;
  mode?: MoaMode;
  minSuccessful?: number;
  maxReferenceChars?: number;
  dependencies?: readonly string[];
  priority?: number;
  /** Attempts of each proposal before it counts as failed. @default 2 */
  proposalAttempts?: number;
  idempotencyKey?: string;
}

/** What a synthesize task carries in `metadata.moa`. */
export interface SynthesizeConfig {
  prompt: string;
  proposers: ResolvedProposer<string>[];
  aggregator: { model?: string; temperature?: number; system?: string };
  layers: number;
  mode: MoaMode;
  minSuccessful: number;
  maxReferenceChars: number;
  proposalAttempts: number;
}

interface ProposalMeta {
  synthesis: string;
  layer: number;
  proposer: ResolvedProposer<string>;
  prompt: string;
  maxReferenceChars: number;
}

interface AggregateMeta {
  synthesis: string;
  role: 'aggregate';
  config: SynthesizeConfig;
}

/**
 * Builds the task input of a Mixture-of-Agents `synthesize` task, checking
 * the configuration (and each model spec) now rather than when it runs.
 */
export function synthesizeTask(input: SynthesizeInput): TaskInput {
  if (typeof input.prompt !== 'string' || input.prompt.trim() === '') {
    throw new ValidationError('a synthesize task needs a non-empty prompt');
  }
  const proposers = resolveProposers(input.proposers);
  for (const p of proposers) if (p.model !== undefined) checkModelSpec(p.model);
  if (input.aggregator?.model !== undefined) checkModelSpec(input.aggregator.model);
  const settings = checkMoaSettings(input, proposers.length);
  const proposalAttempts = input.proposalAttempts ?? 2;
  const config: SynthesizeConfig = {
    prompt: input.prompt,
    proposers,
    aggregator: input.aggregator ?? {},
    ...settings,
    proposalAttempts,
  };
  const firstLine = input.prompt.trim().split('\n')[0] ?? '';
  return {
    description: input.description ?? `Synthesize (Mixture-of-Agents, ${proposers.length} proposers): ${firstLine.slice(0, 120)}`,
    type: 'synthesize',
    ...(input.id !== undefined ? { id: input.id } : {}),
    ...(input.dependencies ? { dependencies: input.dependencies } : {}),
    ...(input.priority !== undefined ? { priority: input.priority } : {}),
    ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}),
    metadata: { moa: config },
  };
}

function readConfig(task: TaskRecord): SynthesizeConfig {
  const moa = task.metadata.moa as Partial<SynthesizeConfig> | undefined;
  if (!moa || typeof moa.prompt !== 'string' || !Array.isArray(moa.proposers)) {
    throw new ValidationError(`task "${task.id}" is a synthesize task without a valid metadata.moa; create it with synthesizeTask()`);
  }
  const proposers = resolveProposers(moa.proposers);
  return {
    prompt: moa.prompt,
    proposers: proposers.map((p, i) => ({ ...p, index: moa.proposers?.[i]?.index ?? i })),
    aggregator: moa.aggregator ?? {},
    ...checkMoaSettings(moa, proposers.length),
    proposalAttempts: moa.proposalAttempts ?? 2,
  };
}

/** Ids of the tasks a synthesize task expands into; short enough whatever the parent id. */
export function expansionIds(synthesisId: string, config: Pick<SynthesizeConfig, 'layers' | 'proposers'>): {
  proposals: string[][];
  aggregate: string;
} {
  const base = synthesisId.length <= 80 ? synthesisId : `moa-${createHash('sha256').update(synthesisId).digest('hex').slice(0, 16)}`;
  const proposals = Array.from({ length: config.layers }, (_, k) => config.proposers.map((p) => `${base}.l${k + 1}.${p.id}`));
  return { proposals, aggregate: `${base}.aggregate` };
}

/**
 * The lead's side of a synthesize task. First run: add one `propose` task per
 * proposer and layer, and the `aggregate` task over the last layer (all with
 * `allowFailed`), then defer until the aggregate is final. Second run: its
 * result is the answer.
 */
export async function runSynthesize(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
  const config = readConfig(task);
  const ids = expansionIds(task.id, config);
  if (task.dependencies.includes(ids.aggregate)) {
    const aggregate = ctx.dependencies.find((d) => d.id === ids.aggregate);
    if (aggregate?.status === 'completed') return aggregate.result;
    throw new MixtureError(`the aggregation of "${task.id}" ${aggregate?.status ?? 'is missing'}: ${aggregate?.reason ?? 'no reason recorded'}`);
  }
  const inputs: TaskInput[] = [];
  for (let layer = 1; layer <= config.layers; layer++) {
    config.proposers.forEach((proposer, i) => {
      const meta: ProposalMeta = { synthesis: task.id, layer, proposer, prompt: config.prompt, maxReferenceChars: config.maxReferenceChars };
      inputs.push({
        id: ids.proposals[layer - 1]![i]!,
        type: 'propose',
        description: `Proposal ${proposer.id}, layer ${layer} of ${config.layers}, for "${task.id}"`,
        dependencies: layer > 1 ? ids.proposals[layer - 2]! : [],
        allowFailed: true,
        priority: task.priority,
        maxAttempts: config.proposalAttempts,
        idempotencyKey: `moa:${task.id}:${layer}:${proposer.id}`,
        metadata: { moa: meta },
      });
    });
  }
  const aggregateMeta: AggregateMeta = { synthesis: task.id, role: 'aggregate', config };
  inputs.push({
    id: ids.aggregate,
    type: 'aggregate',
    description: `Aggregate (${config.mode}) the proposals for "${task.id}"`,
    dependencies: ids.proposals[config.layers - 1]!,
    allowFailed: true,
    priority: task.priority,
    idempotencyKey: `moa:${task.id}:aggregate`,
    metadata: { moa: aggregateMeta },
  });
  await ctx.addTasks(inputs);
  return ctx.defer([ids.aggregate]);
}

/** A worker's side: answer the prompt as this proposer, seeing the previous layer's answers. */
export async function runProposal(agent: Agent, task: TaskRecord, ctx: TaskContext): Promise<ProposalOutcome> {
  const meta = task.metadata.moa as ProposalMeta | undefined;
  if (!meta || typeof meta.prompt !== 'string' || !meta.proposer) {
    // A plain propose task (not from a synthesize expansion): answer it like any task, as a proposal.
    const response = await ctx.model.generate({
      purpose: 'propose',
      system: agent.systemPrompt(),
      messages: [{ role: 'user', content: task.description }],
      signal: ctx.signal,
    });
    return { proposer: agent.id, layer: 1, model: agent.model.id, text: response.text, inputTokens: response.usage.inputTokens, outputTokens: response.usage.outputTokens, durationMs: 0 };
  }
  const proposer = meta.proposer;
  const base = proposer.model ? resolveModel(proposer.model) : agent.model;
  const model = ctx.track(base, { layer: meta.layer, proposer: proposer.id });
  let references: string[] = [];
  if (meta.layer > 1) {
    const done = ctx.dependencies.filter((d) => d.status === 'completed');
    if (done.length === 0) {
      throw new MixtureError(`no proposal of layer ${meta.layer - 1} succeeded: ${ctx.dependencies.map((d) => `${d.id}: ${d.reason ?? d.status}`).join('; ')}`);
    }
    references = seededShuffle(done.map((d) => (d.result as ProposalOutcome).text ?? ''), `${meta.synthesis}:${meta.layer - 1}`);
  }
  const began = Date.now();
  const response = await model.generate({
    purpose: 'propose',
    system: proposer.system ?? DEFAULT_PROPOSER_SYSTEM,
    messages: proposalMessages(meta.prompt, references, meta.maxReferenceChars),
    seed: proposer.index + 1,
    signal: ctx.signal,
    ...(proposer.temperature !== undefined ? { temperature: proposer.temperature } : {}),
  });
  return {
    proposer: proposer.id,
    layer: meta.layer,
    model: base.id,
    text: response.text,
    inputTokens: response.usage.inputTokens,
    outputTokens: response.usage.outputTokens,
    durationMs: Date.now() - began,
  };
}

/** True for the aggregate task of a synthesize expansion. */
export function isMoaAggregate(task: TaskRecord): boolean {
  const moa = task.metadata.moa as { role?: string } | undefined;
  return task.type === 'aggregate' && moa?.role === 'aggregate';
}

/** The lead's side of the aggregate task: check minSuccessful, then vote, select or synthesize. */
export async function runMoaAggregate(agent: Agent, task: TaskRecord, ctx: TaskContext, onDelta?: (text: string) => void): Promise<MoaResult> {
  const meta = task.metadata.moa as AggregateMeta;
  const config = meta.config;
  const ids = expansionIds(meta.synthesis, config);
  const lastLayer = ctx.dependencies;
  const ok = lastLayer.filter((d) => d.status === 'completed');
  const failedHere = lastLayer
    .filter((d) => d.status !== 'completed')
    .map((d) => ({ proposer: d.id.slice(d.id.lastIndexOf('.') + 1), layer: config.layers, error: d.reason ?? d.status }));
  // The whole picture for the report: every layer's proposals.
  const proposals: ProposalOutcome[] = [];
  const failures: MoaResult['failures'] = [];
  for (let layer = 1; layer < config.layers; layer++) {
    for (const [i, id] of ids.proposals[layer - 1]!.entries()) {
      const record = await ctx.get(id);
      const proposer = config.proposers[i]!.id;
      if (record?.status === 'completed') proposals.push(record.result as ProposalOutcome);
      else failures.push({ proposer, layer, error: record?.reason ?? record?.status ?? 'missing' });
    }
  }
  proposals.push(...ok.map((d) => d.result as ProposalOutcome));
  failures.push(...failedHere);
  if (ok.length < config.minSuccessful) {
    throw new MixtureError(moaFailureMessage(ok.length, lastLayer.length, config.minSuccessful, config.layers, failedHere), failures);
  }
  const candidates = seededShuffle(
    ok.map((d) => (d.result as ProposalOutcome).text ?? ''),
    `${meta.synthesis}:${config.layers}`,
  );
  const base = config.aggregator.model ? resolveModel(config.aggregator.model) : agent.model;
  const final = await aggregateStep({
    mode: config.mode,
    prompt: config.prompt,
    candidates,
    model: ctx.track(base, { proposer: 'aggregator' }),
    aggregator: config.aggregator,
    maxReferenceChars: config.maxReferenceChars,
    failures,
    signal: ctx.signal,
    ...(onDelta ? { onDelta } : {}),
  });
  const usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0, calls: 0 };
  for (const p of proposals) {
    usage.inputTokens += p.inputTokens;
    usage.outputTokens += p.outputTokens;
    usage.calls += 1;
  }
  if (final.usage) {
    usage.inputTokens += final.usage.usage.inputTokens;
    usage.outputTokens += final.usage.usage.outputTokens;
    usage.calls += final.calls;
  }
  usage.totalTokens = usage.inputTokens + usage.outputTokens;
  return {
    answer: final.answer,
    mode: config.mode,
    layers: config.layers,
    proposals,
    failures,
    aggregator: final.info,
    ...(final.choice !== undefined ? { choice: final.choice } : {}),
    ...(final.votes !== undefined ? { votes: final.votes } : {}),
    usage,
  };
}

import { EventEmitter } from 'node:events';
import { ValidationError } from '@agent-team/core';
import { BudgetExceededError } from './errors.js';
import type { Attribution, GenerateRequest, GenerateResponse, LanguageModel, StreamEvent, Usage } from './types.js';

/** One model call, as recorded. */
export interface UsageRecord {
  /** The model's id ('anthropic:claude-sonnet-4-6'). */
  modelId: string;
  provider: string;
  /** The model name the provider reported. */
  model: string;
  purpose: string | undefined;
  attribution: Attribution;
  usage: Usage;
  costUsd: number | null;
  /** What prompt caching saved on this call in USD; absent or 0 when nothing was cached or the model is unpriced. */
  cacheSavingsUsd?: number;
  durationMs: number;
  /** Epoch ms when the call finished. */
  at: number;
  /** The answer was replayed from a recording ({@link withCache}): its usage was not spent again. */
  cached: boolean;
}

export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Sum over priced calls. */
  costUsd: number;
  /** Calls whose model has no price: their cost is not in `costUsd`. */
  unpricedCalls: number;
  /** Of `inputTokens`: read from the providers' prompt caches. */
  cacheReadTokens: number;
  /** Of `inputTokens`: written to the providers' prompt caches. */
  cacheWriteTokens: number;
  /** What prompt caching saved, in USD, over priced calls (see {@link GenerateResponse.cacheSavingsUsd}). */
  cacheSavingsUsd: number;
}

/** Keeps only records whose attribution has every given field. */
export type UsageFilter = Attribution & { modelId?: string; purpose?: string };

export interface BudgetLimits {
  /** Input plus output tokens. */
  maxTokens?: number;
  maxUsd?: number;
}

function emptyTotals(): UsageTotals {
  return { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cacheSavingsUsd: 0 };
}

function add(totals: UsageTotals, record: UsageRecord): void {
  totals.calls++;
  totals.inputTokens += record.usage.inputTokens;
  totals.outputTokens += record.usage.outputTokens;
  totals.totalTokens += record.usage.inputTokens + record.usage.outputTokens;
  if (record.costUsd === null) totals.unpricedCalls++;
  else totals.costUsd = Math.round((totals.costUsd + record.costUsd) * 1e9) / 1e9;
  totals.cacheReadTokens += record.usage.cacheReadTokens ?? 0;
  totals.cacheWriteTokens += record.usage.cacheWriteTokens ?? 0;
  if (record.cacheSavingsUsd) totals.cacheSavingsUsd = Math.round((totals.cacheSavingsUsd + record.cacheSavingsUsd) * 1e9) / 1e9;
}

/**
 * A spending limit over some usage. The team checks `exceeded()` before each
 * claim and stops taking new work once it is true.
 */
export class Budget {
  constructor(
    readonly limits: BudgetLimits,
    private readonly totals: () => UsageTotals,
  ) {
    for (const [name, value] of Object.entries(limits) as Array<[string, unknown]>) {
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
        throw new ValidationError(`budget ${name} must be a non-negative number, got ${JSON.stringify(value) ?? typeof value}`);
      }
    }
  }

  exceeded(): boolean {
    return this.reason() !== undefined;
  }

  /** Why the budget is exhausted, in a sentence, or undefined while it is not. */
  reason(): string | undefined {
    const used = this.totals();
    const { maxTokens, maxUsd } = this.limits;
    if (maxTokens !== undefined && used.totalTokens >= maxTokens) {
      return (
        `token budget reached: ${used.totalTokens} of ${maxTokens} tokens used ` +
        `(${used.inputTokens} input + ${used.outputTokens} output over ${used.calls} calls)`
      );
    }
    if (maxUsd !== undefined && used.costUsd >= maxUsd) {
      const unpriced = used.unpricedCalls > 0 ? `; ${used.unpricedCalls} calls to unpriced models not counted` : '';
      return `cost budget reached: $${used.costUsd.toFixed(4)} of $${maxUsd.toFixed(4)} spent over ${used.calls} calls${unpriced}`;
    }
    return undefined;
  }

  /** What is left of each limit (never negative); absent limits are absent. */
  remaining(): { tokens?: number; usd?: number } {
    const used = this.totals();
    return {
      ...(this.limits.maxTokens === undefined ? {} : { tokens: Math.max(0, this.limits.maxTokens - used.totalTokens) }),
      ...(this.limits.maxUsd === undefined ? {} : { usd: Math.max(0, this.limits.maxUsd - used.costUsd) }),
    };
  }
}

export interface UsageTrackerOptions {
  /** A budget over everything this tracker records; see {@link UsageTracker.budget}. */
  budget?: BudgetLimits;
}

interface UsageTrackerEvents {
  /** Every recorded call. */
  record: [UsageRecord];
  /** The tracker's own budget was reached (emitted once). */
  'budget-exceeded': [string];
}

/**
 * Records every model call with its attribution and answers totals per task,
 * agent, team, model and MoA (layer, proposer). Feed it through {@link withUsage}.
 */
export class UsageTracker extends EventEmitter<UsageTrackerEvents> {
  /** The budget from the options, or undefined. */
  readonly budget: Budget | undefined;
  private readonly all: UsageRecord[] = [];
  private readonly grand = emptyTotals();
  private readonly indexes = {
    task: new Map<string, UsageTotals>(),
    agent: new Map<string, UsageTotals>(),
    team: new Map<string, UsageTotals>(),
    model: new Map<string, UsageTotals>(),
    layerProposer: new Map<string, UsageTotals>(),
  };
  private budgetAnnounced = false;

  constructor(options: UsageTrackerOptions = {}) {
    super();
    this.budget = options.budget ? new Budget(options.budget, () => this.total()) : undefined;
  }

  record(record: UsageRecord): void {
    this.all.push(record);
    add(this.grand, record);
    const { taskId, agentId, teamId, layer, proposer } = record.attribution;
    if (taskId !== undefined) bump(this.indexes.task, taskId, record);
    if (agentId !== undefined) bump(this.indexes.agent, agentId, record);
    if (teamId !== undefined) bump(this.indexes.team, teamId, record);
    bump(this.indexes.model, record.modelId, record);
    if (layer !== undefined || proposer !== undefined) {
      bump(this.indexes.layerProposer, layerProposerKey(layer, proposer), record);
    }
    this.emit('record', record);
    if (this.budget && !this.budgetAnnounced) {
      const reason = this.budget.reason();
      if (reason) {
        this.budgetAnnounced = true;
        this.emit('budget-exceeded', reason);
      }
    }
  }

  /** Recorded calls, oldest first. */
  records(filter?: UsageFilter): readonly UsageRecord[] {
    return filter ? this.all.filter((record) => matches(record, filter)) : [...this.all];
  }

  /** Totals over every call, or over the calls matching `filter`. */
  total(filter?: UsageFilter): UsageTotals {
    if (!filter || Object.values(filter).every((value) => value === undefined)) return { ...this.grand };
    const totals = emptyTotals();
    for (const record of this.all) if (matches(record, filter)) add(totals, record);
    return totals;
  }

  byTask(): Map<string, UsageTotals> {
    return copy(this.indexes.task);
  }

  byAgent(): Map<string, UsageTotals> {
    return copy(this.indexes.agent);
  }

  byTeam(): Map<string, UsageTotals> {
    return copy(this.indexes.team);
  }

  byModel(): Map<string, UsageTotals> {
    return copy(this.indexes.model);
  }

  /** Keyed by `layerProposerKey(layer, proposer)`, e.g. "1:proposer-a". */
  byLayerProposer(): Map<string, UsageTotals> {
    return copy(this.indexes.layerProposer);
  }

  /** A budget over the calls matching `filter` (all calls when omitted), e.g. one team's. */
  createBudget(limits: BudgetLimits, filter?: UsageFilter): Budget {
    return new Budget(limits, () => this.total(filter));
  }
}

/** The key {@link UsageTracker.byLayerProposer} uses: "<layer>:<proposer>", with "-" for a missing part. */
export function layerProposerKey(layer: number | undefined, proposer: string | undefined): string {
  return `${layer ?? '-'}:${proposer ?? '-'}`;
}

function bump(map: Map<string, UsageTotals>, key: string, record: UsageRecord): void {
  let totals = map.get(key);
  if (!totals) {
    totals = emptyTotals();
    map.set(key, totals);
  }
  add(totals, record);
}

function copy(map: Map<string, UsageTotals>): Map<string, UsageTotals> {
  return new Map([...map].map(([key, totals]) => [key, { ...totals }]));
}

function matches(record: UsageRecord, filter: UsageFilter): boolean {
  const a = record.attribution;
  return (
    (filter.taskId === undefined || a.taskId === filter.taskId) &&
    (filter.agentId === undefined || a.agentId === filter.agentId) &&
    (filter.teamId === undefined || a.teamId === filter.teamId) &&
    (filter.layer === undefined || a.layer === filter.layer) &&
    (filter.proposer === undefined || a.proposer === filter.proposer) &&
    (filter.modelId === undefined || record.modelId === filter.modelId) &&
    (filter.purpose === undefined || record.purpose === filter.purpose)
  );
}

export interface WithUsageOptions {
  /** Merged under each request's own attribution (e.g. the agent and team of the model's owner). */
  attribution?: Attribution;
  /**
   * Refuse calls with {@link BudgetExceededError} once this budget (or, with
   * `true`, the tracker's own budget) is exhausted.
   * @default false
   */
  enforceBudget?: boolean | Budget;
}

/**
 * A model that records every successful call (usage, cost, attribution,
 * duration) in `tracker`; streams are recorded when their `done` event passes.
 */
export function withUsage(model: LanguageModel, tracker: UsageTracker, options: WithUsageOptions = {}): LanguageModel {
  const budget = options.enforceBudget === true ? tracker.budget : options.enforceBudget || undefined;
  const prepare = (request: GenerateRequest): { request: GenerateRequest; attribution: Attribution } => {
    const reason = budget?.reason();
    if (reason) throw new BudgetExceededError({ provider: model.provider, modelId: model.id, reason });
    const attribution = { ...options.attribution, ...request.attribution };
    return { request: { ...request, attribution }, attribution };
  };
  const note = (request: GenerateRequest, attribution: Attribution, response: GenerateResponse, started: number): void => {
    tracker.record({
      modelId: model.id,
      provider: response.provider,
      model: response.model,
      purpose: request.purpose,
      attribution,
      usage: { ...response.usage },
      costUsd: response.costUsd,
      ...(response.cacheSavingsUsd === undefined ? {} : { cacheSavingsUsd: response.cacheSavingsUsd }),
      durationMs: Date.now() - started,
      at: Date.now(),
      cached: response.cached === true,
    });
  };
  return {
    id: model.id,
    provider: model.provider,
    async generate(request) {
      const prepared = prepare(request);
      const started = Date.now();
      const response = await model.generate(prepared.request);
      note(prepared.request, prepared.attribution, response, started);
      return response;
    },
    async *stream(request): AsyncGenerator<StreamEvent> {
      const prepared = prepare(request);
      const started = Date.now();
      for await (const event of model.stream(prepared.request)) {
        if (event.type === 'done') note(prepared.request, prepared.attribution, event.response, started);
        yield event;
      }
    },
  };
}

import { ValidationError } from '@agent-team/core';
import { describe, expect, it, vi } from 'vitest';
import { BudgetExceededError } from '../../src/models/errors.js';
import { fromFunction } from '../../src/models/function-model.js';
import { offlineModel } from '../../src/models/offline-model.js';
import { costOf, defaultPriceTable, PriceTable } from '../../src/models/pricing.js';
import { layerProposerKey, UsageTracker, withUsage } from '../../src/models/usage-tracker.js';

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

describe('prices', () => {
  it('prices current models per million tokens, by id, bare name or dated snapshot', () => {
    const million = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
    expect(costOf('anthropic:claude-sonnet-4-6', million)).toBe(18);
    expect(costOf('claude-opus-4-8', { inputTokens: 2_000_000, outputTokens: 0 })).toBe(10);
    expect(costOf('openai:gpt-4.1-mini-2025-04-14', million)).toBe(2);
    expect(costOf('gpt-5.4', { inputTokens: 1000, outputTokens: 500 })).toBeCloseTo(0.0025 + 0.0075, 12);
    expect(costOf('my-local-llama', million)).toBeNull();
  });

  it('can be overridden and extended, per table or globally', () => {
    const table = new PriceTable({ 'claude-sonnet-4-6': { inputPerMTok: 1, outputPerMTok: 1 }, 'my-local-llama': { inputPerMTok: 0, outputPerMTok: 0 } });
    expect(table.costOf('anthropic:claude-sonnet-4-6', { inputTokens: 1e6, outputTokens: 1e6 })).toBe(2);
    expect(table.costOf('my-local-llama', { inputTokens: 5, outputTokens: 5 })).toBe(0);
    const only = new PriceTable({ 'x-model': { inputPerMTok: 2, outputPerMTok: 4 } }, { includeDefaults: false });
    expect(only.entries()).toEqual([['x-model', { inputPerMTok: 2, outputPerMTok: 4 }]]);
    expect(() => table.set('bad', { inputPerMTok: -1, outputPerMTok: 1 })).toThrow(/non-negative/);

    defaultPriceTable.set('test-global-model', { inputPerMTok: 3, outputPerMTok: 3 });
    try {
      expect(costOf('test-global-model', { inputTokens: 1e6, outputTokens: 0 })).toBe(3);
    } finally {
      defaultPriceTable.delete('test-global-model');
    }
    expect(costOf('test-global-model', { inputTokens: 1e6, outputTokens: 0 })).toBeNull();
  });
});

describe('usage tracking', () => {
  it('records every call with its attribution and totals per task, agent, team and (layer, proposer)', async () => {
    const tracker = new UsageTracker();
    const priced = withUsage(offlineModel({ seed: 1, price: { inputPerMTok: 2, outputPerMTok: 8 } }), tracker, { attribution: { teamId: 'red' } });
    const unpriced = withUsage(fromFunction(() => 'plain answer', { id: 'function:mine' }), tracker, { attribution: { teamId: 'blue' } });

    await priced.generate({ ...ask('plan the launch'), purpose: 'plan', attribution: { taskId: 't1', agentId: 'lead' } });
    await priced.generate({ ...ask('propose a launch date'), purpose: 'propose', attribution: { taskId: 't2', agentId: 'w1', layer: 1, proposer: 'a' } });
    await priced.generate({ ...ask('propose a venue'), purpose: 'propose', attribution: { taskId: 't2', agentId: 'w2', layer: 1, proposer: 'b' } });
    await unpriced.generate({ ...ask('write the summary'), attribution: { taskId: 't3', agentId: 'w1' } });
    for await (const _event of priced.stream({ ...ask('aggregate it'), purpose: 'aggregate', attribution: { taskId: 't2', agentId: 'lead', layer: 2 } })) {
      // consume
    }

    const records = tracker.records();
    expect(records).toHaveLength(5);
    const sum = (pick: (r: (typeof records)[number]) => number) => records.reduce((s, r) => s + pick(r), 0);
    const total = tracker.total();
    expect(total.calls).toBe(5);
    expect(total.inputTokens).toBe(sum((r) => r.usage.inputTokens));
    expect(total.outputTokens).toBe(sum((r) => r.usage.outputTokens));
    expect(total.totalTokens).toBe(total.inputTokens + total.outputTokens);
    expect(total.unpricedCalls).toBe(1);
    expect(total.costUsd).toBeCloseTo(sum((r) => r.costUsd ?? 0), 9);
    expect(total.costUsd).toBeGreaterThan(0);

    const t2 = records.filter((r) => r.attribution.taskId === 't2');
    expect(tracker.byTask().get('t2')).toMatchObject({ calls: 3, inputTokens: t2.reduce((s, r) => s + r.usage.inputTokens, 0) });
    expect(tracker.byAgent().get('w1')?.calls).toBe(2);
    expect(tracker.byAgent().get('lead')?.calls).toBe(2);
    expect(tracker.byTeam().get('red')?.calls).toBe(4);
    expect(tracker.byTeam().get('blue')).toMatchObject({ calls: 1, costUsd: 0, unpricedCalls: 1 });
    expect([...tracker.byLayerProposer().keys()].sort()).toEqual(['1:a', '1:b', '2:-']);
    expect(tracker.byLayerProposer().get(layerProposerKey(1, 'a'))?.calls).toBe(1);
    expect(tracker.byModel().get('offline:1')?.calls).toBe(4);
    expect(tracker.total({ layer: 1 }).calls).toBe(2);
    expect(tracker.total({ purpose: 'propose', agentId: 'w2' }).calls).toBe(1);
    expect(records[0]).toMatchObject({ modelId: 'offline:1', provider: 'offline', purpose: 'plan', attribution: { teamId: 'red', taskId: 't1', agentId: 'lead' } });
  });

  it('tells when a token or cost budget is reached, with the reason', async () => {
    const tracker = new UsageTracker({ budget: { maxTokens: 300 } });
    const model = withUsage(offlineModel(), tracker);
    const announced = vi.fn();
    tracker.on('budget-exceeded', announced);
    expect(tracker.budget?.exceeded()).toBe(false);
    expect(tracker.budget?.remaining()).toEqual({ tokens: 300 });
    while (!tracker.budget?.exceeded()) await model.generate(ask('Describe the weather in a long sentence please'));
    const reason = tracker.budget.reason()!;
    expect(reason).toMatch(/^token budget reached: \d+ of 300 tokens used \(\d+ input \+ \d+ output over \d+ calls\)$/);
    expect(tracker.budget.remaining()).toEqual({ tokens: 0 });
    await model.generate(ask('one more'));
    expect(announced).toHaveBeenCalledTimes(1);

    const cost = new UsageTracker();
    const pricey = withUsage(offlineModel({ price: { inputPerMTok: 1000, outputPerMTok: 1000 } }), cost);
    const budget = cost.createBudget({ maxUsd: 0.05 }, { teamId: 'x' });
    await pricey.generate({ ...ask('spend'), attribution: { teamId: 'y' } });
    expect(budget.exceeded()).toBe(false); // another team's spending
    while (!budget.exceeded()) await pricey.generate({ ...ask('spend more money here'), attribution: { teamId: 'x' } });
    expect(budget.reason()).toMatch(/^cost budget reached: \$0\.\d{4} of \$0\.0500 spent over \d+ calls$/);
  });

  it('refuses calls once the budget is exhausted when asked to enforce it', async () => {
    const tracker = new UsageTracker({ budget: { maxTokens: 1 } });
    const inner = offlineModel();
    const generate = vi.spyOn(inner, 'generate');
    const model = withUsage(inner, tracker, { enforceBudget: true });
    await model.generate(ask('first call goes through'));
    const error = await model.generate(ask('second is refused')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect((error as BudgetExceededError).message).toContain('token budget reached');
    expect(generate).toHaveBeenCalledTimes(1);
  });

  it('rejects a nonsensical budget', () => {
    expect(() => new UsageTracker({ budget: { maxTokens: -5 } })).toThrow(ValidationError);
  });
});

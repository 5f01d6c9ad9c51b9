import { AbortError } from '@agent-team/core';
import { describe, expect, it, vi } from 'vitest';
import { ModelServerError, ModelTimeoutError } from '../../src/models/errors.js';
import { generateObject } from '../../src/models/generate-object.js';
import { validateJsonSchema, type JsonSchema } from '../../src/models/json-schema.js';
import { offlineModel } from '../../src/models/offline-model.js';
import { runTools } from '../../src/models/run-tools.js';
import type { GenerateRequest, ToolDefinition } from '../../src/models/types.js';
import { hasCycle, planProblems, type PlanTask } from './helpers/plan-check.js';

const ask = (content: string, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  messages: [{ role: 'user', content }],
  ...extra,
});

const GOALS = [
  'Build a REST API for a todo app with authentication and document it',
  'Write an essay comparing solar and wind power for a small town',
  'Goal: Plan the company offsite for 40 people in spring\n\nAnswer with JSON only.',
  'Goal:\n- set up continuous integration\n- add linting to the repository\n- write the security policy\n- speed up the test suite',
  'Improve the latency of the search service and make it scale to 10x traffic',
  'Investigate why customers churn after the first month',
];

async function plan(seed: number, goal: string, extra: Partial<GenerateRequest> = {}): Promise<{ tasks: PlanTask[] }> {
  const response = await offlineModel({ seed }).generate(ask(goal, { purpose: 'plan', ...extra }));
  return JSON.parse(response.text) as { tasks: PlanTask[] };
}

describe('offline model: determinism', () => {
  it('gives the same output for the same seed and request, and a different one for another seed', async () => {
    const request = ask('How should a small team adopt code review for a Python data pipeline?', { purpose: 'propose' });
    const a = await offlineModel({ seed: 3 }).generate(request);
    const b = await offlineModel({ seed: 3 }).generate(request);
    const c = await offlineModel({ seed: 4 }).generate(request);
    expect(b).toEqual(a);
    expect(c.text).not.toBe(a.text);
  });

  it('varies proposals by temperature and proposer', async () => {
    const model = offlineModel({ seed: 1 });
    const base = ask('Design a caching layer for a read-heavy product catalogue', { purpose: 'propose' });
    const texts = new Set([
      (await model.generate(base)).text,
      (await model.generate({ ...base, temperature: 1.2 })).text,
      (await model.generate({ ...base, attribution: { proposer: 'p2', layer: 1 } })).text,
    ]);
    expect(texts.size).toBe(3);
  });

  it('never calls Math.random', async () => {
    const spy = vi.spyOn(Math, 'random');
    try {
      const model = offlineModel({ seed: 9, latencyMs: [1, 3], failureRate: 0.2, maxRetries: 5 });
      for (const goal of GOALS) await model.generate(ask(goal, { purpose: 'plan' }));
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('offline model: plans', () => {
  it('plans a valid task DAG for every goal and seed', async () => {
    for (const goal of GOALS) {
      for (let seed = 0; seed < 12; seed++) {
        const result = await plan(seed, goal);
        expect(planProblems(result), `${goal} (seed ${seed}): ${JSON.stringify(result)}`).toEqual([]);
      }
    }
  });

  it('derives the tasks from the goal: its list items, its subject and its specialties', async () => {
    const listed = await plan(0, GOALS[3]!);
    const descriptions = listed.tasks.map((t) => t.description.toLowerCase());
    expect(descriptions.slice(0, 4)).toEqual([
      'set up continuous integration',
      'add linting to the repository',
      'write the security policy',
      'speed up the test suite',
    ]);
    expect(listed.tasks.find((t) => t.description.includes('security'))?.requires).toBe('security');

    const api = await plan(0, GOALS[0]!);
    expect(api.tasks.some((t) => t.id.includes('rest-api'))).toBe(true);
    expect(api.tasks.some((t) => t.requires === 'security')).toBe(true);
    expect(api.tasks.some((t) => t.requires === 'docs')).toBe(true);
    expect(api.tasks.some((t) => t.review === true)).toBe(true);

    const perf = await plan(0, GOALS[4]!);
    expect(perf.tasks.some((t) => t.requires === 'performance')).toBe(true);
  });

  it("keeps a lead prompt's instructions out of the tasks", async () => {
    const prompts = [
      'You are the lead. Break the goal below into tasks.\n- Use 3 to 7 tasks\n- ids must be kebab-case\n- dependencies only on earlier tasks\n- Answer in JSON\n\nGoal: Migrate the billing service to PostgreSQL',
      'Plan the migration of the billing service to PostgreSQL.\nRules:\n- each task needs an id and a description\n- respond with JSON only',
    ];
    for (const prompt of prompts) {
      const result = await plan(0, prompt);
      expect(planProblems(result)).toEqual([]);
      const text = JSON.stringify(result).toLowerCase();
      expect(text).toContain('billing');
      expect(text).not.toMatch(/kebab|respond with json|each task needs/);
    }
  });

  it("fits the caller's schema when one is given", async () => {
    const schema: JsonSchema = {
      type: 'object',
      required: ['tasks', 'rationale'],
      additionalProperties: false,
      properties: {
        rationale: { type: 'string', minLength: 10 },
        tasks: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'description', 'dependencies', 'priority'],
            properties: {
              id: { type: 'string', pattern: '^[a-z0-9-]+$' },
              description: { type: 'string' },
              dependencies: { type: 'array', items: { type: 'string' } },
              priority: { type: 'integer', minimum: 1, maximum: 3 },
              requires: { type: 'string', enum: ['security', 'performance', 'docs'] },
            },
          },
        },
      },
    };
    for (let seed = 0; seed < 6; seed++) {
      const response = await offlineModel({ seed }).generate(ask(GOALS[0]!, { purpose: 'plan', responseFormat: { type: 'json', schema } }));
      const value = JSON.parse(response.text) as { tasks: PlanTask[] };
      expect(validateJsonSchema(value, schema)).toEqual([]);
      // Conforming kept the plan itself: still a DAG ending in the summary.
      expect(planProblems(value)).toEqual([]);
    }
  });

  it('injects one plan fault per plan call, then plans normally', async () => {
    const model = offlineModel({ planFaults: ['cycle', 'unknown-dependency', 'empty', 'invalid-json'] });
    const request = ask(GOALS[1]!, { purpose: 'plan' });

    const cycle = JSON.parse((await model.generate(request)).text) as { tasks: PlanTask[] };
    expect(hasCycle(cycle.tasks)).toBe(true);

    const unknown = JSON.parse((await model.generate(request)).text) as { tasks: PlanTask[] };
    expect(unknown.tasks.some((t) => t.dependencies.includes('missing-step'))).toBe(true);

    expect(JSON.parse((await model.generate(request)).text)).toEqual({ tasks: [] });
    const broken = (await model.generate(request)).text;
    expect(() => JSON.parse(broken) as unknown).toThrow();

    expect(planProblems(JSON.parse((await model.generate(request)).text) as { tasks: PlanTask[] })).toEqual([]);
  });

  it("lets a lead's re-ask repair a faulty plan through generateObject", async () => {
    const model = offlineModel({ planFaults: ['cycle'] });
    const generate = vi.spyOn(model, 'generate');
    const result = await generateObject<{ tasks: PlanTask[] }>(model, {
      ...ask(`Goal: ${GOALS[0]}`),
      purpose: 'plan',
      schema: { type: 'object', required: ['tasks'], properties: { tasks: { type: 'array', minItems: 1 } } },
      validate: (value) => (hasCycle(value.tasks) ? ['the dependencies form a cycle'] : planProblems(value)),
    });
    expect(result.attempts).toBe(2);
    expect(planProblems(result.object)).toEqual([]);
    expect(generate.mock.calls[1]?.[0]).toMatchObject({ purpose: 'repair', repairOf: 'plan' });
  });
});

describe('offline model: other kinds of work', () => {
  it('reviews with a verdict, asking for changes on the first reviews of each task when told to', async () => {
    const model = offlineModel({ reviewChangesFirst: 2 });
    const review = async (taskId: string) =>
      JSON.parse((await model.generate(ask('Review the result of the caching task: it adds an LRU cache in front of the catalogue API.', { purpose: 'review', attribution: { taskId } }))).text) as {
        verdict: string;
        feedback: string;
        issues: string[];
      };
    const first = await review('t-1');
    expect(first.verdict).toBe('changes');
    expect(first.issues.length).toBeGreaterThan(0);
    expect(first.feedback).toMatch(/cache|catalogue|lru/i);
    expect((await review('t-1')).verdict).toBe('changes');
    const third = await review('t-1');
    expect(third).toMatchObject({ verdict: 'approve', issues: [] });
    // Counted per task.
    expect((await review('t-2')).verdict).toBe('changes');
    // Default: approve at once.
    expect(JSON.parse((await offlineModel().generate(ask('Review this', { purpose: 'review' }))).text)).toMatchObject({ verdict: 'approve' });
  });

  it('proposes a substantive answer built on the words of the prompt', async () => {
    const text = (await offlineModel().generate(ask('How can a hospital reduce waiting times in its emergency department?', { purpose: 'propose' }))).text;
    expect(text.split('\n').filter((line) => line.startsWith('- ')).length).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/hospital|waiting|emergency|department/);
    expect(text.length).toBeGreaterThan(200);
  });

  it('aggregates by drawing on the numbered references, citing which ones agree', async () => {
    const prompt = [
      'Question: How to speed up a slow web page?',
      '',
      '[1] Compress images and serve them in modern formats. Cache static assets at the CDN edge. Defer non-critical JavaScript.',
      '[2] Use a CDN to cache static assets close to users. Lazy-load images below the fold. Measure with Lighthouse before changing anything.',
      '[3] Defer JavaScript that is not critical for first paint. Compress and resize images. Reduce the number of third-party scripts.',
      '',
      'Synthesize the references into one answer.',
    ].join('\n');
    const text = (await offlineModel().generate(ask(prompt, { purpose: 'aggregate' }))).text;
    expect(text).toContain('Synthesis of 3 references');
    expect(text).toMatch(/Compress images.*\[1\]\[3\]/);
    expect(text).toMatch(/static assets.*\[1\]\[2\]/);
    expect(text).toMatch(/Lighthouse.*\[2\]/);
    // Different references, different synthesis: it is not a canned string.
    const other = (await offlineModel().generate(ask(prompt.replace('Lighthouse', 'WebPageTest'), { purpose: 'aggregate' }))).text;
    expect(other).toContain('WebPageTest');
  });

  it('finds labelled references in the system prompt, as the MoA aggregate prompt puts them', async () => {
    const system = [
      'You have been provided with a set of responses from various models to the latest user query. Synthesize them into a single, high-quality response.',
      'Responses from models:',
      'Response 1: Water the tomatoes deeply twice a week. Steps:\n1. Mulch the soil to keep moisture in.\n2. Water early in the morning.',
      'Response 2: Mulch the soil so it keeps its moisture. Feed the plants with compost every month.',
      'Response 3: Water the tomatoes deeply, about twice a week, at the roots.',
    ].join('\n');
    const text = (await offlineModel().generate({ system, ...ask('How do I grow tomatoes?', { purpose: 'aggregate' }) })).text;
    expect(text).toContain('Synthesis of 3 references');
    expect(text).toMatch(/Water the tomatoes deeply.*\[1\]\[3\]/);
    expect(text).toMatch(/Mulch the soil.*\[1\]\[2\]/);
  });

  it('selects or votes for the consensus candidate, as JSON', async () => {
    const prompt = [
      'Pick the best answer to: how do I keep my API keys safe?',
      'Candidate 1: Paint the office walls blue to improve morale.',
      'Candidate 2: Keep API keys in environment variables or a secret manager, never in the repository, and rotate them.',
      'Candidate 3: Store API keys in a secret manager and rotate the keys regularly.',
      'Answer with JSON {"choice": n, "reason": "..."}.',
    ].join('\n');
    for (const purpose of ['select', 'vote']) {
      const answer = JSON.parse((await offlineModel().generate(ask(prompt, { purpose }))).text) as { choice: number; reason: string };
      expect([2, 3]).toContain(answer.choice);
      expect(answer.reason).toMatch(/Candidate [23]/);
    }
  });

  it('reports on a task, referring to its description', async () => {
    const text = (await offlineModel().generate(ask('Migrate the billing database to PostgreSQL 16', { purpose: 'task' }))).text;
    expect(text).toContain('Migrate the billing database to PostgreSQL 16');
    expect(text).toMatch(/billing|database|postgresql/i);
  });

  it('answers in JSON when asked, fitting a schema for any purpose', async () => {
    const schema: JsonSchema = {
      type: 'object',
      required: ['summary', 'confidence', 'tags'],
      properties: { summary: { type: 'string' }, confidence: { type: 'number', minimum: 0, maximum: 1 }, tags: { type: 'array', items: { type: 'string' }, minItems: 2 } },
    };
    const response = await offlineModel().generate(ask('Summarise the quarterly sales figures', { purpose: 'task', responseFormat: { type: 'json', schema } }));
    expect(validateJsonSchema(JSON.parse(response.text), schema)).toEqual([]);
  });
});

describe('offline model: tools', () => {
  const tools: ToolDefinition[] = [
    {
      name: 'search_flights',
      description: 'Search flights between two airports',
      parameters: {
        type: 'object',
        required: ['from', 'to', 'passengers', 'cabin'],
        properties: {
          from: { type: 'string', minLength: 3, maxLength: 3 },
          to: { type: 'string', minLength: 3, maxLength: 3 },
          passengers: { type: 'integer', minimum: 1, maximum: 9 },
          cabin: { type: 'string', enum: ['economy', 'business'] },
          flexible: { type: 'boolean' },
          options: { type: 'object', required: ['maxStops'], properties: { maxStops: { type: 'integer', minimum: 0, maximum: 2 } } },
          airlines: { type: 'array', minItems: 1, items: { type: 'string' } },
        },
      },
    },
    { name: 'get_time', description: 'Current time in a timezone', parameters: { type: 'object', required: ['timezone'], properties: { timezone: { type: 'string' } } } },
  ];

  it('calls the best-fitting tool with arguments valid against its schema', async () => {
    for (let seed = 0; seed < 10; seed++) {
      const response = await offlineModel({ seed }).generate(ask('Search flights from Oslo to Rome for two passengers', { tools }));
      expect(response.finishReason).toBe('tool_calls');
      expect(response.toolCalls).toHaveLength(1);
      const call = response.toolCalls[0]!;
      expect(call.name).toBe('search_flights');
      expect(validateJsonSchema(call.arguments, tools[0]!.parameters)).toEqual([]);
    }
  });

  it("honours toolChoice: 'none' and a named tool", async () => {
    const model = offlineModel();
    expect((await model.generate(ask('Search flights', { tools, toolChoice: 'none' }))).toolCalls).toEqual([]);
    const named = await model.generate(ask('Search flights', { tools, toolChoice: { name: 'get_time' } }));
    expect(named.toolCalls[0]?.name).toBe('get_time');
  });

  it('answers with the tool results once they come back (runTools end to end)', async () => {
    const result = await runTools(offlineModel(), ask('What time is it in Tokyo?', { purpose: 'task' }), [
      { ...tools[1]!, execute: () => '14:05 JST' },
    ]);
    expect(result.steps).toBe(2);
    expect(result.response.toolCalls).toEqual([]);
    expect(result.response.text).toContain('14:05 JST');
  });
});

describe('offline model: latency, failures, usage, streaming', () => {
  it('waits the simulated latency, and aborts or times out during it', async () => {
    const started = performance.now();
    await offlineModel({ latencyMs: 120 }).generate(ask('hi'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);

    const ranged = performance.now();
    await offlineModel({ latencyMs: [30, 60] }).generate(ask('hi'));
    const took = performance.now() - ranged;
    expect(took).toBeGreaterThanOrEqual(25);
    expect(took).toBeLessThan(400);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(offlineModel({ latencyMs: 5000 }).generate(ask('hi', { signal: controller.signal }))).rejects.toBeInstanceOf(AbortError);
    await expect(offlineModel({ latencyMs: 5000 }).generate(ask('hi', { timeoutMs: 50 }))).rejects.toBeInstanceOf(ModelTimeoutError);
  });

  it('fails deterministically per request and attempt with a retryable error', async () => {
    const outcomes = async () => {
      const model = offlineModel({ seed: 5, failureRate: 0.5 });
      const result: boolean[] = [];
      for (let i = 0; i < 40; i++) {
        result.push(await model.generate(ask(`question ${i}`)).then(() => true, () => false));
      }
      return result;
    };
    const first = await outcomes();
    expect(await outcomes()).toEqual(first);
    const failures = first.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(8);
    expect(failures).toBeLessThan(32);

    const model = offlineModel({ seed: 5, failureRate: 0.5 });
    const failing = first.indexOf(false);
    const error = await model.generate(ask(`question ${failing}`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelServerError);
    expect(error).toMatchObject({ status: 503, isRetryable: true, provider: 'offline' });
    // Retrying the same request rolls again: with retries it gets through.
    const sturdy = offlineModel({ seed: 5, failureRate: 0.5, maxRetries: 10 });
    await expect(sturdy.generate(ask(`question ${failing}`))).resolves.toMatchObject({ provider: 'offline' });
  });

  it('estimates usage at ~4 characters a token and prices it when configured', async () => {
    const prompt = 'x'.repeat(400);
    const free = await offlineModel().generate(ask(prompt));
    expect(free.usage.inputTokens).toBe(Math.ceil((400 + 4) / 4));
    expect(free.usage.outputTokens).toBe(Math.ceil(free.text.length / 4));
    expect(free.costUsd).toBe(0);
    const priced = await offlineModel({ price: { inputPerMTok: 1, outputPerMTok: 2 } }).generate(ask(prompt));
    expect(priced.costUsd).toBeCloseTo((priced.usage.inputTokens * 1 + priced.usage.outputTokens * 2) / 1e6, 12);
  });

  it('sends JSON compact when pretty JSON would not fit maxTokens', async () => {
    const pretty = await offlineModel().generate(ask(GOALS[2]!, { purpose: 'plan' }));
    expect(pretty.text).toContain('\n  ');
    // maxTokens is part of the request, so each budget plans afresh; some land between compact and pretty size.
    let compacted = 0;
    for (let budget = 150; budget <= 400; budget += 10) {
      const response = await offlineModel().generate(ask(GOALS[2]!, { purpose: 'plan', maxTokens: budget }));
      if (response.finishReason !== 'stop') continue;
      expect(planProblems(JSON.parse(response.text) as { tasks: PlanTask[] })).toEqual([]);
      if (!response.text.includes('\n')) compacted++;
    }
    expect(compacted).toBeGreaterThan(0);
  });

  it('cuts an answer off at maxTokens, like a real model', async () => {
    const response = await offlineModel().generate(ask(GOALS[0]!, { purpose: 'plan', maxTokens: 20 }));
    expect(response.finishReason).toBe('length');
    expect(response.text.length).toBe(80);
  });

  it('streams the same answer in chunks, then done', async () => {
    const request = ask('Explain vector clocks to a new engineer', { purpose: 'propose' });
    const whole = await offlineModel({ seed: 2 }).generate(request);
    const deltas: string[] = [];
    let done;
    for await (const event of offlineModel({ seed: 2 }).stream(request)) {
      if (event.type === 'text') deltas.push(event.delta);
      else done = event.response;
    }
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(whole.text);
    expect(done).toEqual(whole);
  });
});

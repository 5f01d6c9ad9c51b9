/**
 * Prompt caching through the real SDK clients against a fake provider on
 * 127.0.0.1: the breakpoints and cache keys on the wire, cache usage kept
 * apart and priced, and an agent's requests sharing a byte-identical prefix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentRole, AgentTeam, formatSummary } from '../../src/index.js';
import { cacheLine } from '../../src/cli/commands/export.js';
import {
  anthropic,
  cacheSavings,
  costOf,
  defaultPriceTable,
  type GenerateRequest,
  type ToolDefinition,
  openai,
  priceUsage,
  UsageTracker,
  withUsage,
} from '../../src/models/index.js';
import { tempDir } from '../helpers.js';
import { FakeServer, type RecordedRequest } from './helpers/fake-server.js';
import { anthropicKit, openaiKit, SECRET } from './helpers/provider-kits.js';

const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
type Json = Record<string, unknown>;

let server: FakeServer;
let dir: string;
beforeEach(async () => {
  server = await FakeServer.start();
  dir = tempDir('prompt-cache-');
});
afterEach(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every object in the body that carries cache_control, as JSON paths. */
function breakpoints(body: unknown, at = '$'): string[] {
  if (Array.isArray(body)) return body.flatMap((item, i) => breakpoints(item, `${at}[${i}]`));
  if (body === null || typeof body !== 'object') return [];
  const own = 'cache_control' in body ? [at] : [];
  return [...own, ...Object.entries(body).flatMap(([key, value]) => (key === 'cache_control' ? [] : breakpoints(value, `${at}.${key}`)))];
}

const tool: ToolDefinition = { name: 'read_file', description: 'Read a file.', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } };

/** A tool loop two steps in: user turn, tool call, result, tool call, result. */
function loopRequest(extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    system: 'You are a worker.',
    tools: [tool],
    messages: [
      { role: 'user', content: 'Task: t1\n\nRead a.ts and b.ts' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'read_file', arguments: { path: 'a.ts' } }] },
      { role: 'tool', toolCallId: 'c1', toolName: 'read_file', content: 'export const a = 1;' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c2', name: 'read_file', arguments: { path: 'b.ts' } }] },
      { role: 'tool', toolCallId: 'c2', toolName: 'read_file', content: 'export const b = 2;' },
    ],
    ...extra,
  };
}

describe('anthropic prompt caching', () => {
  it('marks the system prompt and the tool loop so far, within four breakpoints', async () => {
    server.reply(anthropicKit.text('done'));
    await anthropicKit.model(server, { logger: quiet }).generate(loopRequest());
    const body = server.requests[0]!.body;
    expect(breakpoints(body)).toEqual(['$.system[0]', '$.messages[2].content[0]', '$.messages[4].content[0]']);
    expect(body['system']).toEqual([{ type: 'text', text: 'You are a worker.', cache_control: { type: 'ephemeral' } }]);
    expect((body['messages'] as Json[])[4]).toMatchObject({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c2' }] });
  });

  it('marks the last tool when there is no system prompt, and not the conversation of a call without tools', async () => {
    server.reply(anthropicKit.text('a'), anthropicKit.text('b'));
    const model = anthropicKit.model(server, { logger: quiet });
    const { system: _none, ...noSystem } = loopRequest();
    await model.generate(noSystem);
    await model.generate({ system: 'Be brief.', messages: [{ role: 'user', content: 'hi' }] });
    expect(breakpoints(server.requests[0]!.body)).toEqual(['$.tools[0]', '$.messages[2].content[0]', '$.messages[4].content[0]']);
    expect(breakpoints(server.requests[1]!.body)).toEqual(['$.system[0]']);
  });

  it('sends no breakpoints with cache: false on the request or promptCaching: false on the model', async () => {
    server.reply(anthropicKit.text('a'), anthropicKit.text('b'));
    await anthropicKit.model(server, { logger: quiet }).generate(loopRequest({ cache: false }));
    await anthropicKit.model(server, { logger: quiet, promptCaching: false }).generate(loopRequest());
    for (const request of server.requests) {
      expect(breakpoints(request.body)).toEqual([]);
      expect(request.body['system']).toBe('You are a worker.');
    }
  });

  it('keeps cache reads, cache writes and uncached input apart and prices each', async () => {
    server.reply(anthropicKit.text('cached', { input: 100, output: 50, cacheRead: 8000, cacheWrite: 2000 }));
    const tracker = new UsageTracker();
    const response = await withUsage(anthropicKit.model(server, { logger: quiet }), tracker).generate(loopRequest());
    expect(response.usage).toEqual({ inputTokens: 10_100, outputTokens: 50, cacheReadTokens: 8000, cacheWriteTokens: 2000 });
    // claude-sonnet-4-6: $3 input, $0.30 cache read, $3.75 cache write, $15 output per million.
    const cost = (100 * 3 + 8000 * 0.3 + 2000 * 3.75 + 50 * 15) / 1e6;
    expect(response.costUsd).toBeCloseTo(cost, 12);
    expect(response.cacheSavingsUsd).toBeCloseTo((10_100 * 3 + 50 * 15) / 1e6 - cost, 12);
    expect(tracker.total()).toMatchObject({ inputTokens: 10_100, cacheReadTokens: 8000, cacheWriteTokens: 2000 });
    expect(tracker.total().cacheSavingsUsd).toBeCloseTo(response.cacheSavingsUsd!, 9);
  });

  it('reads cache usage from a stream', async () => {
    server.reply(anthropicKit.stream(['hel', 'lo'], { input: 5, output: 3, cacheRead: 4000 }));
    let done: unknown;
    for await (const event of anthropicKit.model(server, { logger: quiet }).stream(loopRequest())) if (event.type === 'done') done = event.response.usage;
    expect(done).toMatchObject({ inputTokens: 4005, cacheReadTokens: 4000 });
  });
});

describe('openai prompt caching', () => {
  it('sends the request cache key as prompt_cache_key, unless turned off', async () => {
    server.reply(openaiKit.text('a'), openaiKit.text('b'), openaiKit.text('c'), openaiKit.text('d'));
    const model = openaiKit.model(server, { logger: quiet });
    await model.generate(loopRequest({ cacheKey: 'team:worker' }));
    await model.generate(loopRequest({ cacheKey: 'team:worker', cache: false }));
    await openaiKit.model(server, { logger: quiet, promptCacheKey: false }).generate(loopRequest({ cacheKey: 'team:worker' }));
    await model.generate(loopRequest());
    expect(server.requests.map((r) => r.body['prompt_cache_key'])).toEqual(['team:worker', undefined, undefined, undefined]);
  });

  it('counts prompt_tokens_details.cached_tokens as cache reads at the cached-input price', async () => {
    server.reply(openaiKit.text('ok', { input: 5000, output: 100, cacheRead: 4096 }));
    const response = await openaiKit.model(server, { logger: quiet }).generate(loopRequest());
    expect(response.usage).toEqual({ inputTokens: 5000, outputTokens: 100, cacheReadTokens: 4096 });
    // gpt-4.1-mini: $0.40 input, $0.10 cached input, $1.60 output per million.
    expect(response.costUsd).toBeCloseTo((904 * 0.4 + 4096 * 0.1 + 100 * 1.6) / 1e6, 12);
  });
});

describe('cache prices', () => {
  it('prices cache reads and writes per model, and falls back to the input price where none is known', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 0, cacheReadTokens: 600_000, cacheWriteTokens: 400_000 };
    expect(costOf('claude-opus-4-8', usage)).toBeCloseTo(0.6 * 0.5 + 0.4 * 6.25, 9);
    expect(costOf('gpt-5', { inputTokens: 1_000_000, outputTokens: 0, cacheReadTokens: 1_000_000 })).toBeCloseTo(0.125, 9);
    expect(costOf('gpt-4o', { inputTokens: 1_000_000, outputTokens: 0, cacheReadTokens: 1_000_000 })).toBeCloseTo(1.25, 9);
    expect(priceUsage({ inputPerMTok: 2, outputPerMTok: 4 }, usage)).toBe(2);
    expect(cacheSavings(defaultPriceTable.get('claude-sonnet-4-6')!, usage)).toBeCloseTo(3 - (0.6 * 0.3 + 0.4 * 3.75), 9);
  });
});

/** The bytes two requests share from the start. */
function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

describe('prefix-stable agent prompts', () => {
  async function runTeam(makeModel: () => ReturnType<typeof anthropic> | ReturnType<typeof openai>, options: { cache?: boolean } = {}, agents = 1) {
    const code = path.join(dir, 'code');
    fs.mkdirSync(code, { recursive: true });
    fs.writeFileSync(path.join(code, 'a.ts'), 'export const a = 1;\n');
    const team = new AgentTeam({ workspace: path.join(dir, 'ws'), teamId: 'cachet', watch: false });
    team.addAgent('worker-1', AgentRole.WORKER, makeModel(), { codebase: { root: code }, ...options });
    if (agents > 1) team.addAgent('worker-2', AgentRole.WORKER, makeModel(), { codebase: { root: code }, ...options });
    await team.addTask('Summarise a.ts in one line.', { id: 'first' });
    await team.addTask('Say what a.ts exports, at 10:42 on attempt 1.', { id: 'second' });
    const summary = await team.run({ timeoutMs: 20_000 });
    await team.close();
    expect(summary.status).toBe('completed');
    return summary;
  }

  it('sends an Anthropic request whose tools and system prompt are a byte-identical prefix across tasks', async () => {
    server.setFallback(() => anthropicKit.text('done', { input: 20, output: 5, cacheRead: 1500 }));
    const summary = await runTeam(() => anthropic('claude-sonnet-4-6', { apiKey: SECRET, baseURL: server.url, env: {}, logger: quiet }));
    const [a, b] = server.requests as [RecordedRequest, RecordedRequest];
    expect(server.requests).toHaveLength(2);
    expect(anthropicKit.userTexts(a.body)[0]).not.toBe(anthropicKit.userTexts(b.body)[0]);
    const shared = commonPrefix(a.text, b.text);
    const messagesAt = a.text.indexOf('"messages":');
    // Everything before the conversation (model, limits, tools, system with its breakpoint) is the same bytes.
    expect(shared.length).toBeGreaterThan(messagesAt);
    expect(shared).toContain('"tools":[');
    expect(shared).toContain('"name":"read_file"');
    expect(shared).toContain('"system":[{"type":"text","text":"You are a worker');
    expect(shared).toContain('"cache_control":{"type":"ephemeral"}');
    expect(summary.usage.total).toMatchObject({ calls: 2, cacheReadTokens: 3000, inputTokens: 3040 });
    expect(summary.usage.total.cacheSavingsUsd).toBeGreaterThan(0);
    // The run summary and the export say what caching saved.
    expect(formatSummary(summary, { color: false })).toMatch(/prompt cache +3000 input tokens read from cache \(99%\), 0 written; saved \$0\.0081/);
    expect(cacheLine({ inputTokens: 3040, cacheReadTokens: 3000, cacheWriteTokens: 0, cacheSavingsUsd: 0.0081 })).toBe(
      'Prompt caching: 3000 of 3040 input tokens read from cache (99%), 0 written; saved $0.0081',
    );
  });

  it('sends OpenAI requests with one cache key per team and role and a shared system-and-tools prefix', async () => {
    server.setFallback(() => openaiKit.text('done'));
    const summary = await runTeam(() => openai('gpt-4.1-mini', { apiKey: SECRET, baseURL: server.url, env: {}, logger: quiet }), {}, 2);
    // Both agents of the role worked, and sent the same key.
    expect(Object.keys(summary.usage.byAgent).sort()).toEqual(['worker-1', 'worker-2']);
    const [a, b] = server.requests as [RecordedRequest, RecordedRequest];
    expect([a.body['prompt_cache_key'], b.body['prompt_cache_key']]).toEqual(['cachet:worker', 'cachet:worker']);
    const shared = commonPrefix(a.text, b.text);
    const systemEnd = a.text.indexOf('{"role":"user"');
    expect(systemEnd).toBeGreaterThan(0);
    expect(shared.length).toBeGreaterThanOrEqual(systemEnd);
    expect(shared).toContain('"tools":[');
    expect(shared).toContain('{"role":"system","content":"You are a worker');
  });

  it('turns caching off for an agent with cache: false', async () => {
    server.setFallback(() => anthropicKit.text('done'));
    await runTeam(() => anthropic('claude-sonnet-4-6', { apiKey: SECRET, baseURL: server.url, env: {}, logger: quiet }), { cache: false });
    for (const request of server.requests) expect(breakpoints(request.body)).toEqual([]);
  });
});

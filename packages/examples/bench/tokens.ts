/**
 * pnpm bench:tokens: what prompt caching saves on a team's tool loops.
 *
 * The demo team's workers and security specialist work a fixed set of tasks
 * on a real codebase (packages/core/src) with their file tools, each task a
 * scripted tool loop of eight model calls (list, search, five reads, answer).
 * The models are the real Anthropic and OpenAI adapters and SDK clients,
 * talking to a fake provider on 127.0.0.1 that counts tokens (4 characters a
 * token) and reports cache usage the way the provider does: Anthropic caches
 * the prefix up to each cache_control breakpoint (from 1,024 tokens, looking
 * back 20 blocks for an earlier entry), OpenAI caches any prefix from 1,024
 * tokens in steps of 128, per prompt_cache_key. Costs are at list prices
 * (claude-sonnet-4-6, gpt-4.1-mini), with and without caching in the same run.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AgentRole, AgentTeam, anthropic, type LanguageModel, openai, type UsageTotals } from '@agent-team/agents';

type Json = Record<string, unknown>;
const tokens = (value: unknown): number => Math.ceil(JSON.stringify(value).length / 4);
const strip = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(strip);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'cache_control').map(([k, v]) => [k, strip(v)]));
};

/** The request as the provider reads it for caching: one entry per block, in order. */
function blocksOf(body: Json, provider: 'anthropic' | 'openai'): Array<{ value: unknown; marked: boolean }> {
  const out: Array<{ value: unknown; marked: boolean }> = [{ value: body['model'], marked: false }];
  for (const tool of (body['tools'] as Json[] | undefined) ?? []) out.push({ value: tool, marked: 'cache_control' in tool });
  if (provider === 'anthropic') {
    const system = body['system'];
    if (typeof system === 'string') out.push({ value: system, marked: false });
    else for (const block of (system as Json[] | undefined) ?? []) out.push({ value: block, marked: 'cache_control' in block });
  }
  for (const message of body['messages'] as Json[]) {
    const content = message['content'];
    if (Array.isArray(content)) for (const block of content as Json[]) out.push({ value: [message['role'], block], marked: 'cache_control' in block });
    else out.push({ value: message, marked: false });
  }
  return out;
}

const MIN_CACHEABLE = 1024;

/** A provider's prompt cache: prefix hashes it has stored. */
class PromptCache {
  private readonly stored = new Set<string>();

  /** Cache reads and writes for one request. */
  use(body: Json, provider: 'anthropic' | 'openai'): { total: number; read: number; write: number } {
    const blocks = blocksOf(body, provider);
    const key = body['prompt_cache_key'];
    const namespace = provider === 'openai' && typeof key === 'string' ? key : '';
    const hashes: string[] = [];
    const cumulative: number[] = [];
    let hash = createHash('sha256').update(namespace).digest('hex');
    let sum = 0;
    for (const block of blocks) {
      const plain = strip(block.value);
      hash = createHash('sha256').update(hash).update(JSON.stringify(plain)).digest('hex');
      sum += tokens(plain);
      hashes.push(hash);
      cumulative.push(sum);
    }
    const total = sum;
    if (provider === 'openai') {
      // Automatic: the longest stored prefix, in 128-token steps from 1,024.
      let read = 0;
      for (let i = 0; i < hashes.length; i++) if (this.stored.has(hashes[i]!)) read = cumulative[i]!;
      read = read >= MIN_CACHEABLE ? Math.floor(read / 128) * 128 : 0;
      for (let i = 0; i < hashes.length; i++) if (cumulative[i]! >= MIN_CACHEABLE) this.stored.add(hashes[i]!);
      return { total, read, write: 0 };
    }
    const marks = blocks.flatMap((block, i) => (block.marked ? [i] : []));
    let read = 0;
    for (const mark of marks) {
      for (let i = mark; i >= Math.max(0, mark - 20); i--) {
        if (this.stored.has(hashes[i]!)) {
          read = Math.max(read, cumulative[i]!);
          break;
        }
      }
    }
    let written = read;
    for (const mark of marks) {
      if (cumulative[mark]! < MIN_CACHEABLE) continue;
      if (!this.stored.has(hashes[mark]!)) this.stored.add(hashes[mark]!);
      written = Math.max(written, cumulative[mark]!);
    }
    return { total, read, write: written - read };
  }
}

/** The scripted agent: what it does at each step of a task's tool loop. */
const FILES = ['queue/task-queue.ts', 'queue/dag.ts', 'queue/spec.ts', 'queue/backoff.ts', 'queue/types.ts', 'queue/task-store.ts'];
function nextStep(body: Json): { tool?: { name: string; input: Json }; text?: string } {
  const messages = body['messages'] as Json[];
  const step = messages.filter((m) => m['role'] === 'assistant').length;
  const first = JSON.stringify(messages[0]);
  const seed = Number.parseInt(createHash('sha256').update(first).digest('hex').slice(0, 6), 16);
  const file = (k: number) => FILES[(seed + k) % FILES.length]!;
  switch (step) {
    case 0:
      return { tool: { name: 'list_files', input: { path: 'queue' } } };
    case 1:
      return { tool: { name: 'search_code', input: { pattern: 'export (async )?function', limit: 40 } } };
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
      return { tool: { name: 'read_file', input: { path: file(step), limit: 150 } } };
    default:
      return { text: `Findings for this task: the queue's claim path reads ${file(2)} and ${file(3)}; details follow in three short points.` };
  }
}

async function fakeProvider(provider: 'anthropic' | 'openai'): Promise<{ url: string; close: () => Promise<void> }> {
  const cache = new PromptCache();
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      const usage = cache.use(body, provider);
      const step = nextStep(body);
      const output = tokens(step.tool ?? step.text);
      n++;
      let reply: Json;
      if (provider === 'anthropic') {
        reply = {
          id: `msg_${n}`,
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-6',
          content: step.tool ? [{ type: 'tool_use', id: `toolu_${n}`, name: step.tool.name, input: step.tool.input }] : [{ type: 'text', text: step.text }],
          stop_reason: step.tool ? 'tool_use' : 'end_turn',
          stop_sequence: null,
          usage: {
            input_tokens: usage.total - usage.read - usage.write,
            cache_read_input_tokens: usage.read,
            cache_creation_input_tokens: usage.write,
            output_tokens: output,
          },
        };
      } else {
        const message = step.tool
          ? { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: `call_${n}`, type: 'function', function: { name: step.tool.name, arguments: JSON.stringify(step.tool.input) } }] }
          : { role: 'assistant', content: step.text, refusal: null };
        reply = {
          id: `chatcmpl-${n}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model: 'gpt-4.1-mini',
          choices: [{ index: 0, message, finish_reason: step.tool ? 'tool_calls' : 'stop', logprobs: null }],
          usage: { prompt_tokens: usage.total, completion_tokens: output, total_tokens: usage.total + output, prompt_tokens_details: { cached_tokens: usage.read } },
        };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const TASKS: Array<{ id: string; description: string; requires?: string }> = [
  { id: 'research', description: 'Research how the task queue claims work, and which rate-limiting options fit it.' },
  { id: 'design', description: 'Design a token-bucket rate limiter for the public HTTP API on top of the queue.' },
  { id: 'implement', description: 'Implement the rate limiter next to the queue code, following its conventions.' },
  { id: 'test', description: 'Write tests for the rate limiter: bursts, refill, clock skew, many clients.' },
  { id: 'docs', description: 'Document the rate limiter: options, defaults, examples and failure modes.' },
  { id: 'security', description: 'Review the rate limiter and the queue code it touches for security problems.', requires: 'security' },
];

async function run(label: string, provider: 'anthropic' | 'openai', cache: boolean): Promise<{ label: string; total: UsageTotals }> {
  const fake = await fakeProvider(provider);
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'bench-tokens-'));
  const root = path.resolve(import.meta.dirname, '../../core/src');
  const model = (): LanguageModel =>
    provider === 'anthropic'
      ? anthropic('claude-sonnet-4-6', { apiKey: 'bench-key', baseURL: fake.url, env: {} })
      : openai('gpt-4.1-mini', { apiKey: 'bench-key', baseURL: fake.url, env: {} });
  try {
    const team = new AgentTeam({ workspace: dir, teamId: 'demo', watch: false });
    const options = { codebase: { root }, cache };
    team.addAgent('worker-1', AgentRole.WORKER, model(), options);
    team.addAgent('worker-2', AgentRole.WORKER, model(), options);
    team.addAgent('worker-3', AgentRole.WORKER, model(), options);
    team.addAgent('security', AgentRole.SPECIALIST, model(), { ...options, specialty: 'security' });
    for (const task of TASKS) await team.addTask(task.description, { id: task.id, ...(task.requires ? { requires: task.requires } : {}) });
    const summary = await team.run({ timeoutMs: 120_000 });
    await team.close();
    if (summary.status !== 'completed') throw new Error(`${label}: run ended ${summary.status}`);
    return { label, total: summary.usage.total };
  } finally {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const results = [
  await run('anthropic, caching on', 'anthropic', true),
  await run('anthropic, cache: false', 'anthropic', false),
  await run('openai, prompt_cache_key', 'openai', true),
];

const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-');
console.log(`bench:tokens — ${TASKS.length} tasks, 4 agents, 8 model calls a task, through the real SDK clients`);
console.log('run                          calls  input tok  cache read  cache write  cached share  cost USD');
for (const { label, total } of results) {
  console.log(
    `${label.padEnd(28)} ${String(total.calls).padStart(5)} ${String(total.inputTokens).padStart(10)} ${String(total.cacheReadTokens).padStart(11)} ${String(total.cacheWriteTokens).padStart(12)} ${pct(total.cacheReadTokens, total.inputTokens).padStart(13)}  ${total.costUsd.toFixed(4)}`,
  );
}
const [aOn, aOff, oOn] = results.map((r) => r.total) as [UsageTotals, UsageTotals, UsageTotals];
// OpenAI caches whether asked or not: its cost without caching is the same usage at the plain input price.
const oOff = oOn.costUsd + oOn.cacheSavingsUsd;
const share = aOn.cacheReadTokens / aOn.inputTokens;
const ratio = aOn.costUsd / aOff.costUsd;
console.log(
  JSON.stringify({
    anthropic: { cachedShare: Number(share.toFixed(3)), costWithCache: aOn.costUsd, costWithout: aOff.costUsd, costRatio: Number(ratio.toFixed(3)), savedUsd: aOn.cacheSavingsUsd },
    openai: {
      cachedShare: Number((oOn.cacheReadTokens / oOn.inputTokens).toFixed(3)),
      costWithCache: oOn.costUsd,
      costWithout: Number(oOff.toFixed(6)),
      costRatio: Number((oOn.costUsd / oOff).toFixed(3)),
    },
    targets: { cachedShareAtLeast: 0.5, costRatioBelow: 0.6, met: share >= 0.5 && ratio < 0.6 },
  }),
);

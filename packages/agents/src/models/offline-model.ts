import { errorMessage, sleep, InvalidOptionError, MAX_TIMER_MS, checkNumber } from '@agent-team/core';
import { runCall, streamCall, type AttemptContext, type CallPolicy } from './call-runner.js';
import { ModelConfigError, ModelError, ModelServerError } from './errors.js';
import type { JsonSchema } from './json-schema.js';
import {
  composeAggregate,
  composePlan,
  composeProposal,
  composeReport,
  composeReview,
  composeSelection,
  composeToolCalls,
  pendingToolResults,
  toolNotes,
  type Plan,
} from './offline-answers.js';
import { digest, SeededRandom, unitFrom } from './offline-random.js';
import { clip, keywords, numberedItems } from './offline-text.js';
import { priceUsage, type ModelPrice } from './pricing.js';
import { estimateRequestTokens, estimateTokens, lastUserText } from './prompt-format.js';
import { canonicalRequest, chunkText } from './response-cache.js';
import { conformToSchema, sampleFromSchema } from './schema-sample.js';
import {
  DEFAULT_MAX_TOKENS,
  type FinishReason,
  type GenerateRequest,
  type GenerateResponse,
  type LanguageModel,
  type StreamEvent,
  type ToolCall,
} from './types.js';

/** Faults the offline planner can inject, one per plan call, to test a lead's re-ask. */
export type PlanFault = 'cycle' | 'unknown-dependency' | 'empty' | 'invalid-json';

export interface OfflineModelOptions {
  /**
   * Seed of every choice; the same seed and request give the same answer.
   * @default 0
   */
  seed?: number;
  /**
   * Simulated latency per call in ms: fixed, or a [min, max] range drawn
   * deterministically from the request. Honours abort and timeout.
   * @default 0
   */
  latencyMs?: number | [number, number];
  /**
   * Share of calls that fail with a retryable {@link ModelServerError} (503),
   * decided by the request's hash and its attempt number, so a retry of the
   * same request can succeed.
   * @default 0
   */
  failureRate?: number;
  /** Faults for successive plan calls (consumed one per call); later calls plan normally. @default [] */
  planFaults?: PlanFault[];
  /**
   * How many of the first reviews of each task answer `changes` before reviews
   * approve. Reviews are counted per `attribution.taskId` (else per the
   * prompt's "Task:" line or first line).
   * @default 0
   */
  reviewChangesFirst?: number;
  /** Price for `costUsd`, to exercise cost budgets. @default none: costUsd is 0 */
  price?: ModelPrice;
  /**
   * Deadline of one call.
   * @default 120000
   */
  timeoutMs?: number;
  /**
   * Retries of simulated failures inside `generate` (the HTTP adapters' policy, for chaos tests of it).
   * @default 0
   */
  maxRetries?: number;
  /** Model id. @default 'offline', or 'offline:<seed>' when a seed is given */
  id?: string;
}

/**
 * A deterministic model that needs no key and no network: it answers each
 * purpose (plan, review, propose, aggregate, select/vote, task) with
 * well-formed, prompt-specific output, calls tools when offered, and can
 * simulate latency and failures.
 *
 * @example
 * const model = offlineModel({ seed: 7, latencyMs: [20, 80] });
 */
export function offlineModel(options: OfflineModelOptions = {}): OfflineModel {
  return new OfflineModel(options);
}

export class OfflineModel implements LanguageModel {
  readonly provider = 'offline';
  readonly id: string;
  private readonly seed: number;
  private readonly policy: CallPolicy;
  private readonly attempts = new Map<string, number>();
  private readonly reviewCounts = new Map<string, number>();
  private readonly planFaults: PlanFault[];
  private planCalls = 0;

  constructor(private readonly options: OfflineModelOptions = {}) {
    this.seed = options.seed ?? 0;
    this.id = options.id ?? (options.seed === undefined ? 'offline' : `offline:${options.seed}`);
    const where = `offline model ${this.id}`;
    if (options.failureRate !== undefined) checkNumber('failureRate', options.failureRate, { min: 0, max: 1 });
    const latency = options.latencyMs ?? 0;
    const [low, high] = Array.isArray(latency) ? latency : [latency, latency];
    // Bounded by the longest timer Node runs: a longer latency would fire at once.
    if (!(low >= 0 && high >= low && high <= MAX_TIMER_MS)) {
      throw new InvalidOptionError('latencyMs', latency, `ms from 0 to ${MAX_TIMER_MS}, or [min, max] with 0 <= min <= max`, where);
    }
    this.planFaults = [...(options.planFaults ?? [])];
    this.policy = {
      provider: 'offline',
      modelId: this.id,
      timeoutMs: options.timeoutMs ?? 120_000,
      // Fixed jitter, so even retry timing repeats.
      retry: { maxRetries: options.maxRetries ?? 0, initialDelayMs: 10, random: () => 0.5 },
      toModelError: (error) =>
        new ModelError(`offline model failed: ${errorMessage(error)}`, { provider: 'offline', modelId: this.id, cause: error }),
    };
  }

  generate(request: GenerateRequest): Promise<GenerateResponse> {
    return runCall(this.policy, request, (context) => this.attempt(request, context));
  }

  stream(request: GenerateRequest): AsyncIterable<StreamEvent> {
    return streamCall(this.policy, request, (context) => this.streamAttempt(request, context));
  }

  private async *streamAttempt(request: GenerateRequest, context: AttemptContext): AsyncGenerator<StreamEvent> {
    const response = await this.attempt(request, context);
    for (const delta of chunkText(response.text)) yield { type: 'text', delta };
    yield { type: 'done', response };
  }

  /** The request's identity for every seeded choice: seed, what decides the answer, and who proposes. */
  private requestDigest(request: GenerateRequest): string {
    return digest(this.seed, canonicalRequest('offline', request), request.attribution?.proposer ?? null, request.attribution?.layer ?? null);
  }

  private async attempt(request: GenerateRequest, context: AttemptContext): Promise<GenerateResponse> {
    const hash = this.requestDigest(request);
    const attempt = (this.attempts.get(hash) ?? 0) + 1;
    this.attempts.set(hash, attempt);

    const latency = this.options.latencyMs ?? 0;
    const delay = Array.isArray(latency) ? latency[0] + unitFrom(hash, attempt, 'latency') * (latency[1] - latency[0]) : latency;
    if (delay > 0) await sleep(Math.round(delay), context.signal);

    const rate = this.options.failureRate ?? 0;
    if (rate > 0 && unitFrom(this.seed, hash, attempt, 'failure') < rate) {
      throw new ModelServerError(
        `offline model: simulated failure of request ${hash.slice(0, 12)} (attempt ${attempt}, failureRate ${rate}); ` +
          'it is retryable, or set failureRate: 0',
        { provider: 'offline', modelId: this.id, status: 503, isRetryable: true },
      );
    }

    const rng = new SeededRandom(hash);
    const { text, toolCalls } = this.answer(request, rng, hash);
    return this.finish(request, text, toolCalls);
  }

  private answer(request: GenerateRequest, rng: SeededRandom, hash: string): { text: string; toolCalls: ToolCall[] } {
    // A repair re-asks the original question: look at the conversation before the rejected answer.
    const isRepair = request.purpose === 'repair';
    const messages = isRepair ? beforeLastAssistant(request.messages) : request.messages;
    const prompt = lastUserText(messages) || request.system || '';
    const schema = request.responseFormat?.type === 'json' ? request.responseFormat.schema : undefined;
    const purpose = (isRepair ? request.repairOf : request.purpose) ?? inferPurpose(schema);

    const results = pendingToolResults(request.messages);
    const tools = request.tools ?? [];
    if (tools.length > 0 && request.toolChoice !== 'none' && results.length === 0 && !isRepair) {
      const toolCalls = composeToolCalls(tools, request.toolChoice, prompt, rng, hash);
      if (toolCalls.length > 0) return { text: '', toolCalls };
    }
    const notes = toolNotes(results);
    const hints = { words: keywords(prompt, 8), text: clip(prompt, 120), items: numberedItems(prompt) };
    const asJson = (value: unknown): string => JSON.stringify(schema ? conformToSchema(value, schema, rng, hints) : value, null, 2);

    switch (purpose) {
      case 'plan':
        return { text: this.planText(prompt, rng, schema, hints), toolCalls: [] };
      case 'review': {
        const key = request.attribution?.taskId ?? reviewKey(prompt);
        const seen = (this.reviewCounts.get(key) ?? 0) + 1;
        this.reviewCounts.set(key, seen);
        const changes = seen <= (this.options.reviewChangesFirst ?? 0);
        return { text: asJson(composeReview(prompt, changes, rng)), toolCalls: [] };
      }
      case 'select':
      case 'vote':
        return { text: asJson(composeSelection(withReferences(prompt, request.system), rng)), toolCalls: [] };
      default: {
        const text =
          purpose === 'propose'
            ? withNotes(composeProposal(prompt, rng, request.temperature), notes)
            : purpose === 'aggregate'
              ? withNotes(composeAggregate(withReferences(prompt, request.system), rng), notes)
              : composeReport(prompt, rng, notes);
        if (request.responseFormat?.type !== 'json') return { text, toolCalls: [] };
        const value = schema ? conformToSchema(sampleFromSchema(schema, rng, { ...hints, text }), schema, rng, hints) : { answer: text };
        return { text: JSON.stringify(value, null, 2), toolCalls: [] };
      }
    }
  }

  private planText(prompt: string, rng: SeededRandom, schema: JsonSchema | undefined, hints: { words: string[]; text: string }): string {
    const fault = this.planFaults[this.planCalls];
    this.planCalls++;
    const plan: Plan = composePlan(prompt, rng);
    if (fault === undefined) {
      return JSON.stringify(schema ? conformToSchema(plan, schema, rng, hints) : plan, null, 2);
    }
    // Injected faults bypass schema conformance on purpose: they must reach the caller's checks.
    const tasks = plan.tasks;
    switch (fault) {
      case 'empty':
        return JSON.stringify({ tasks: [] }, null, 2);
      case 'cycle': {
        const first = tasks[0];
        const last = tasks[tasks.length - 1];
        if (first && last) first.dependencies = [...first.dependencies, last.id];
        return JSON.stringify(plan, null, 2);
      }
      case 'unknown-dependency': {
        const target = tasks[1] ?? tasks[0];
        if (target) target.dependencies = [...target.dependencies, 'missing-step'];
        return JSON.stringify(plan, null, 2);
      }
      case 'invalid-json': {
        const full = JSON.stringify(plan, null, 2);
        return full.slice(0, Math.floor(full.length / 2));
      }
      default:
        throw new ModelConfigError(`unknown offline plan fault ${JSON.stringify(fault)}: use cycle, unknown-dependency, empty or invalid-json`, {
          provider: 'offline',
          modelId: this.id,
        });
    }
  }

  private finish(request: GenerateRequest, fullText: string, toolCalls: ToolCall[]): GenerateResponse {
    const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS;
    let text = fullText;
    let finishReason: FinishReason = toolCalls.length > 0 ? 'tool_calls' : 'stop';
    // Pretty JSON that does not fit is sent compact first, as a model would rather than break it.
    if (estimateTokens(text) > maxTokens && /^[[{]/.test(text)) {
      try {
        text = JSON.stringify(JSON.parse(text));
      } catch {
        // not JSON after all (an injected fault): cut below like any text
      }
    }
    // Like a real model, an answer longer than maxTokens is cut off.
    if (estimateTokens(text) > maxTokens) {
      text = text.slice(0, maxTokens * 4);
      finishReason = 'length';
    }
    const usage = {
      inputTokens: estimateRequestTokens(request),
      outputTokens: estimateTokens(text) + (toolCalls.length > 0 ? estimateTokens(JSON.stringify(toolCalls)) : 0),
    };
    return {
      text,
      toolCalls,
      usage,
      model: this.id,
      provider: 'offline',
      finishReason,
      costUsd: this.options.price ? priceUsage(this.options.price, usage) : 0,
    };
  }
}

function beforeLastAssistant(messages: GenerateRequest['messages']): GenerateRequest['messages'] {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'assistant') return messages.slice(0, i);
  }
  return messages;
}

/** Without a purpose, the shape asked for says what kind of answer is wanted. */
function inferPurpose(schema: JsonSchema | undefined): string {
  const properties = schema?.properties ?? {};
  if ('tasks' in properties) return 'plan';
  if ('verdict' in properties) return 'review';
  if ('choice' in properties) return 'select';
  return 'task';
}

function reviewKey(prompt: string): string {
  const task = /^[ \t]*(?:\*\*)?task(?:[ \t]+id)?(?:\*\*)?[ \t]*[:#][ \t]*(.+)$/im.exec(prompt)?.[1];
  const first = prompt.split('\n').find((line) => line.trim() !== '');
  return (task ?? first ?? prompt).trim();
}

/**
 * Where the numbered references are: in the user turn, or (as in the MoA
 * paper's aggregate-and-synthesize prompt) in the system prompt, with the
 * user turn holding only the original question.
 */
function withReferences(prompt: string, system: string | undefined): string {
  if (numberedItems(prompt).length >= 2 || !system) return prompt;
  return `${prompt}\n\n${system}`;
}

function withNotes(text: string, notes: string[]): string {
  return notes.length > 0 ? `${text}\nFrom the tools: ${notes.join('; ')}.` : text;
}

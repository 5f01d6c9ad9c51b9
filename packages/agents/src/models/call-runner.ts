import { AbortError, InvalidOptionError, ValidationError, checkDuration, checkInt, checkNumber, sleep } from '@agent-team/core';
import { CallScope } from './call-scope.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import { ModelConnectionError, ModelError } from './errors.js';
import { decideRetry, type RetryOptions } from './retry-policy.js';
import type { GenerateRequest, GenerateResponse, StreamEvent } from './types.js';

/** Everything the runner needs to know about one model to run its calls. */
export interface CallPolicy {
  provider: string;
  modelId: string;
  /** Default deadline of a call when the request sets none. */
  timeoutMs: number;
  retry: RetryOptions;
  limiter?: ConcurrencyLimiter;
  /** Turns whatever an attempt threw into a {@link ModelError} with a redacted message. */
  toModelError(error: unknown): ModelError;
  /** Added to timeout messages, e.g. which server did not answer. */
  hint?: string;
  /** Called before each backoff sleep, for logging and tests. */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  modelId: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  delayMs: number;
  error: ModelError;
}

export interface AttemptContext {
  /** Aborts on the caller's signal and on the call's deadline. */
  signal: AbortSignal;
  /** Time left before the deadline; pass it to the SDK so its own timer never fires first. */
  remainingMs: number;
  /** From 1. */
  attempt: number;
}

/**
 * Runs one model call under the policy: a deadline covering all attempts, the
 * caller's abort signal, a concurrency slot per attempt (released during
 * backoff, so a waiting retry does not block others), and retries with
 * backoff for retryable errors.
 */
export async function runCall<T>(
  policy: CallPolicy,
  request: GenerateRequest,
  attemptFn: (context: AttemptContext) => Promise<T>,
): Promise<T> {
  checkRequest(request, policy.modelId);
  const scope = openScope(policy, request);
  try {
    for (let attempt = 1; ; attempt++) {
      let release: (() => void) | undefined;
      try {
        scope.throwIfDone();
        release = policy.limiter ? await policy.limiter.acquire(scope.signal) : undefined;
        return await attemptFn({ signal: scope.signal, remainingMs: scope.remainingMs(), attempt });
      } catch (error) {
        release?.();
        await backoffOrThrow(policy, scope, classify(policy, scope, error), attempt);
      } finally {
        release?.();
      }
    }
  } finally {
    scope.dispose();
  }
}

/**
 * Streams one model call under the same policy. An attempt that fails before
 * any text reached the consumer is retried; once text was yielded, a failure
 * is thrown (the consumer cannot un-see it). The concurrency slot is held
 * until the stream ends or the consumer stops reading.
 */
export async function* streamCall(
  policy: CallPolicy,
  request: GenerateRequest,
  open: (context: AttemptContext) => AsyncIterable<StreamEvent>,
): AsyncGenerator<StreamEvent, void, undefined> {
  checkRequest(request, policy.modelId);
  const scope = openScope(policy, request);
  try {
    for (let attempt = 1; ; attempt++) {
      let release: (() => void) | undefined;
      let yielded = false;
      try {
        scope.throwIfDone();
        release = policy.limiter ? await policy.limiter.acquire(scope.signal) : undefined;
        let final: GenerateResponse | undefined;
        for await (const event of open({ signal: scope.signal, remainingMs: scope.remainingMs(), attempt })) {
          if (scope.done) break;
          if (event.type === 'done') {
            final = event.response;
          } else if (event.delta !== '') {
            yielded = true;
            yield event;
          }
        }
        // Some SDK streams end quietly when their signal aborts; say why instead of returning half an answer.
        scope.throwIfDone();
        if (!final) {
          throw new ModelConnectionError(`the stream from ${policy.modelId} ended before its final message`, {
            provider: policy.provider,
            modelId: policy.modelId,
            isRetryable: true,
          });
        }
        release?.();
        yield { type: 'done', response: final };
        return;
      } catch (error) {
        release?.();
        const modelError = classify(policy, scope, error);
        if (yielded) throw finalError(modelError, attempt);
        await backoffOrThrow(policy, scope, modelError, attempt);
      } finally {
        release?.();
      }
    }
  } finally {
    // Tears down the HTTP request if the consumer stopped reading early.
    scope.cancel();
    scope.dispose();
  }
}

/** Refuses a malformed request before anything is sent, naming the offending value. */
export function checkRequest(request: GenerateRequest, modelId: string): void {
  const fail = (what: string) => {
    throw new ValidationError(`invalid request to ${modelId}: ${what}`);
  };
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    fail('messages must be a non-empty array of { role, content }');
  }
  request.messages.forEach((message, i) => {
    if (!['user', 'assistant', 'tool'].includes(message.role)) fail(`messages[${i}].role is ${JSON.stringify(message.role)}; use "user", "assistant" or "tool"`);
    if (typeof message.content !== 'string') fail(`messages[${i}].content must be a string, got ${typeof message.content}`);
    if (message.role === 'tool' && !message.toolCallId) fail(`messages[${i}] is a tool result without toolCallId`);
  });
  // The numbers by core's option rules, with this call named as where they came from.
  const where = `invalid request to ${modelId}`;
  const check = (option: string, value: unknown, rule: (o: string, v: unknown) => unknown) => {
    if (value === undefined) return;
    try {
      rule(option, value);
    } catch (err) {
      if (err instanceof InvalidOptionError) throw new InvalidOptionError(err.option, err.value, err.expected, where);
      throw err;
    }
  };
  check('maxTokens', request.maxTokens, (o, v) => checkInt(o, v, { min: 1 }));
  check('temperature', request.temperature, (o, v) => checkNumber(o, v, { min: 0 }));
  check('timeoutMs', request.timeoutMs, (o, v) => checkDuration(o, v));
}

function openScope(policy: CallPolicy, request: GenerateRequest): CallScope {
  const timeoutMs = request.timeoutMs ?? policy.timeoutMs;
  return new CallScope(request.signal, timeoutMs, {
    provider: policy.provider,
    modelId: policy.modelId,
    ...(policy.hint === undefined ? {} : { hint: policy.hint }),
  });
}

function classify(policy: CallPolicy, scope: CallScope, error: unknown): ModelError | AbortError {
  const ended = scope.endError();
  if (ended) return ended;
  if (error instanceof ModelError || error instanceof AbortError) return error;
  return policy.toModelError(error);
}

async function backoffOrThrow(
  policy: CallPolicy,
  scope: CallScope,
  error: ModelError | AbortError,
  attempt: number,
): Promise<void> {
  // A deadline or abort ends the call; it is not a failure to retry.
  if (!(error instanceof ModelError) || scope.done) throw error;
  const decision = decideRetry(error, attempt, policy.retry);
  if (!decision.retry) throw finalError(error, attempt, decision.reason);
  if (decision.delayMs >= scope.remainingMs()) {
    throw finalError(error, attempt, `the next retry (in ${decision.delayMs} ms) would pass the call's deadline (timeoutMs ${scope.timeoutMs})`);
  }
  policy.onRetry?.({ modelId: policy.modelId, attempt, delayMs: decision.delayMs, error });
  try {
    await sleep(decision.delayMs, scope.signal);
  } catch (sleepError) {
    throw scope.endError() ?? sleepError;
  }
}

function finalError(error: ModelError | AbortError, attempt: number, reason?: string): ModelError | AbortError {
  if (!(error instanceof ModelError)) return error;
  error.attempts = attempt;
  if (reason) error.message = `${error.message} (${reason})`;
  else if (attempt > 1) error.message = `${error.message} (after ${attempt} attempts)`;
  return error;
}

import { AgentTeamError } from '@agent-team/core';
import type { ModelMessage } from './types.js';

export interface ModelErrorOptions {
  /** 'anthropic' | 'openai' | 'offline' | ... */
  provider: string;
  /** The model id, e.g. 'anthropic:claude-sonnet-4-6'. */
  modelId?: string;
  /** HTTP status when the provider answered with one. */
  status?: number;
  /** True when the same request may succeed later (408, 409, 429, 5xx, connection errors). */
  isRetryable?: boolean;
  /** What the provider asked us to wait before retrying (Retry-After), in ms. */
  retryAfterMs?: number;
  /** The provider's request id, for support tickets. */
  requestId?: string;
  /** How many attempts were made before giving up. */
  attempts?: number;
  cause?: unknown;
}

/**
 * Base class of every error from the model layer. Messages are written for a
 * person: what failed, for which model, and what to do. They never contain an
 * API key (see `redactSecrets`).
 */
export class ModelError extends AgentTeamError {
  readonly provider: string;
  readonly modelId: string | undefined;
  readonly status: number | undefined;
  readonly isRetryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;
  /** Attempts made before this error was thrown; set by the retry loop. */
  attempts: number | undefined;

  constructor(message: string, options: ModelErrorOptions) {
    super(message, { cause: options.cause });
    this.provider = options.provider;
    this.modelId = options.modelId;
    this.status = options.status;
    this.isRetryable = options.isRetryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.requestId = options.requestId;
    this.attempts = options.attempts;
  }
}

/** The provider rejected the credentials (401) or refused access (403). Never retried. */
export class ModelAuthError extends ModelError {}

/** 429: too many requests or tokens. Retried with backoff, honouring Retry-After. */
export class ModelRateLimitError extends ModelError {}

/**
 * The call did not finish within its `timeoutMs`. Retryable in the sense that
 * a later attempt may succeed (a task can be retried); the call itself is over.
 */
export class ModelTimeoutError extends ModelError {
  readonly timeoutMs: number;

  constructor(message: string, options: ModelErrorOptions & { timeoutMs: number }) {
    super(message, { isRetryable: true, ...options });
    this.timeoutMs = options.timeoutMs;
  }
}

/** The server could not be reached, or the connection broke before an answer. */
export class ModelConnectionError extends ModelError {}

/** The provider failed on its side (5xx, overloaded). */
export class ModelServerError extends ModelError {}

/** The provider refused the request as malformed or unknown (400, 404, 413, 422). Never retried. */
export class ModelRequestError extends ModelError {}

/** The model cannot be used as configured: a missing key, a bad option. Raised before any request. */
export class ModelConfigError extends ModelError {}

/** {@link generateObject} ran out of repairs: the model's last answer still had these problems. */
export class StructuredOutputError extends ModelError {
  readonly problems: string[];
  /** The model's last answer, shortened. */
  readonly lastText: string;

  constructor(options: { provider: string; modelId: string; problems: string[]; lastText: string; attempts: number }) {
    const shown = options.problems.slice(0, 10);
    const more = options.problems.length > shown.length ? `\n  - ... and ${options.problems.length - shown.length} more` : '';
    super(
      `${options.modelId} did not produce valid structured output after ${options.attempts} attempt${options.attempts === 1 ? '' : 's'}; ` +
        `the last answer had these problems:\n${shown.map((p) => `  - ${p}`).join('\n')}${more}\n` +
        'Raise maxRepairs, simplify the schema, or use a stronger model.',
      { provider: options.provider, modelId: options.modelId, attempts: options.attempts },
    );
    this.problems = options.problems;
    this.lastText = options.lastText.length > 2000 ? `${options.lastText.slice(0, 2000)}...` : options.lastText;
  }
}

/** {@link runTools} reached `maxSteps` while the model still asked for tools. Carries the transcript to resume from. */
export class MaxStepsExceededError extends ModelError {
  readonly maxSteps: number;
  readonly messages: ModelMessage[];

  constructor(options: { provider: string; modelId: string; maxSteps: number; messages: ModelMessage[]; lastTools: string[] }) {
    super(
      `${options.modelId} was still calling tools (${options.lastTools.join(', ')}) after ${options.maxSteps} steps; ` +
        'raise maxSteps, or give the model a clearer stopping condition',
      { provider: options.provider, modelId: options.modelId },
    );
    this.maxSteps = options.maxSteps;
    this.messages = options.messages;
  }
}

/** A replay-mode cache had no recording for a request. */
export class ReplayMissError extends ModelError {
  readonly hash: string;
  readonly dir: string;

  constructor(options: { provider: string; modelId: string; hash: string; dir: string; promptPreview: string }) {
    super(
      `replay miss for ${options.modelId}: no recording of request ${options.hash.slice(0, 12)} ` +
        `("${options.promptPreview}") in ${options.dir}. Record it first: run once with cache mode "record" ` +
        '(or "auto") against a real model, then replay.',
      { provider: options.provider, modelId: options.modelId },
    );
    this.hash = options.hash;
    this.dir = options.dir;
  }
}

/** A usage budget was reached; no new calls are made through a budget-enforcing model. */
export class BudgetExceededError extends ModelError {
  readonly reason: string;

  constructor(options: { provider: string; modelId: string; reason: string }) {
    super(`budget exceeded, call to ${options.modelId} not made: ${options.reason}`, {
      provider: options.provider,
      modelId: options.modelId,
    });
    this.reason = options.reason;
  }
}

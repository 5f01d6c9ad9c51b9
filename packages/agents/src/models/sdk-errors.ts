import { errorMessage } from '@agent-team/core';
import {
  ModelAuthError,
  ModelConnectionError,
  ModelError,
  ModelRateLimitError,
  ModelRequestError,
  ModelServerError,
} from './errors.js';
import { isRetryableStatus, parseRetryAfter } from './retry-policy.js';
import { redactSecrets } from './secrets.js';

export interface SdkErrorContext {
  provider: string;
  modelId: string;
  /** The model name sent to the API. */
  model: string;
  /** The variable that holds the key, named in auth errors. */
  keyEnvVar: string;
  baseURL: string;
}

interface SdkErrorShape {
  status?: unknown;
  headers?: unknown;
  error?: unknown;
  message?: unknown;
  requestID?: unknown;
  cause?: unknown;
  name?: unknown;
  constructor?: { name?: string };
}

/**
 * Turns an error from the Anthropic or OpenAI SDK (both share the Stainless
 * error shape) into a {@link ModelError}. The SDK error is not kept as
 * `cause`: its message, body and headers may echo credentials; what a caller
 * needs (status, retryability, Retry-After, request id, the API's own
 * explanation) is copied over, redacted.
 */
export function fromSdkError(error: unknown, context: SdkErrorContext): ModelError {
  const { provider, modelId } = context;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const className = shape.constructor?.name ?? '';
  const status = typeof shape.status === 'number' ? shape.status : undefined;
  const headers = shape.headers instanceof Headers ? shape.headers : undefined;
  const requestId = typeof shape.requestID === 'string' ? shape.requestID : undefined;
  const apiMessage = redactSecrets(extractApiMessage(shape) ?? errorMessage(error));
  const base = { provider, modelId, ...(requestId ? { requestId } : {}), ...(status === undefined ? {} : { status }) };
  const requestNote = requestId ? ` [request id ${requestId}]` : '';

  if (status === undefined) {
    const apiType = extractApiType(shape);
    if (apiType !== undefined && /overloaded|api_error|server_error|timeout/.test(apiType)) {
      return new ModelServerError(`${modelId} failed mid-answer: ${apiMessage}${requestNote}`, { ...base, isRetryable: true });
    }
    if (apiType !== undefined && /rate_limit/.test(apiType)) {
      return new ModelRateLimitError(`${modelId} is rate limited: ${apiMessage}${requestNote}`, { ...base, isRetryable: true });
    }
    if (apiType !== undefined) {
      return new ModelRequestError(`${modelId} failed: ${apiMessage}${requestNote}`, { ...base, isRetryable: false });
    }
    if (/Connection|Timeout/.test(className) || looksLikeNetworkError(error)) {
      const cause = shape.cause === undefined ? '' : `: ${redactSecrets(errorMessage(shape.cause))}`;
      return new ModelConnectionError(
        redactSecrets(`could not reach ${provider} at ${context.baseURL} for ${modelId} (${errorMessage(error)}${cause}); check the network and the base URL`),
        { ...base, isRetryable: true },
      );
    }
    return new ModelError(`${modelId} call failed: ${redactSecrets(errorMessage(error))}`, { ...base, isRetryable: false });
  }

  // x-should-retry is the provider's own verdict and overrides the status code, as in the SDKs.
  const shouldRetry = headers?.get('x-should-retry');
  const retryable = shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : isRetryableStatus(status);
  const retryAfterMs = parseRetryAfter(headers);
  const withRetry = { ...base, isRetryable: retryable, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };

  if (status === 401) {
    return new ModelAuthError(
      `${provider} rejected the API key (401 ${apiMessage})${requestNote}: set ${context.keyEnvVar} (or pass apiKey) to a valid, active key for ${context.baseURL}`,
      { ...base, isRetryable: false },
    );
  }
  if (status === 403) {
    return new ModelAuthError(
      `${provider} refused access to ${context.model} (403 ${apiMessage})${requestNote}: the key in ${context.keyEnvVar} is valid but lacks permission for this model or organisation`,
      { ...base, isRetryable: false },
    );
  }
  if (status === 404) {
    return new ModelRequestError(
      `${provider} has no model or endpoint for "${context.model}" at ${context.baseURL} (404 ${apiMessage})${requestNote}: check the model name and the base URL`,
      { ...base, isRetryable: false },
    );
  }
  if (status === 429) {
    return new ModelRateLimitError(`${modelId} is rate limited (429 ${apiMessage})${requestNote}`, withRetry);
  }
  if (status >= 500 || status === 408 || status === 409) {
    return new ModelServerError(`${provider} failed to answer for ${modelId} (${status} ${apiMessage})${requestNote}`, withRetry);
  }
  return new ModelRequestError(
    `${provider} rejected the request to ${modelId} (${status} ${apiMessage})${requestNote}: fix the request; it is not retried`,
    withRetry,
  );
}

function extractApiMessage(shape: SdkErrorShape): string | undefined {
  const body = shape.error as { message?: unknown; error?: { message?: unknown } } | undefined;
  if (body && typeof body === 'object') {
    if (body.error && typeof body.error.message === 'string') return body.error.message;
    if (typeof body.message === 'string') return body.message;
  }
  if (typeof shape.message === 'string') {
    // The SDK message starts with the status ("401 {...}"): keep only the text after it.
    return shape.message.replace(/^\d{3}\s+/, '');
  }
  return undefined;
}

function extractApiType(shape: SdkErrorShape): string | undefined {
  const body = shape.error as { type?: unknown; error?: { type?: unknown } } | undefined;
  if (!body || typeof body !== 'object') return undefined;
  if (body.error && typeof body.error.type === 'string') return body.error.type;
  if (typeof body.type === 'string' && body.type !== 'error') return body.type;
  return undefined;
}

function looksLikeNetworkError(error: unknown): boolean {
  const text = `${errorMessage(error)} ${typeof error === 'object' && error !== null && 'cause' in error ? errorMessage(error.cause) : ''}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|socket hang up|fetch failed|terminated|other side closed/i.test(text);
}

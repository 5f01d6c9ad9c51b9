/**
 * Keeping API keys out of messages, logs and files (design contract 10).
 *
 * SDK errors can echo request headers or a proxy's error body, and a fetch
 * error for a malformed header quotes the header value. So every text the
 * model layer lets out (error messages, SDK log lines, cache files) goes
 * through {@link redactSecrets}: the keys adapters were given are replaced by
 * name, and anything shaped like a key is masked too.
 */

const known = new Set<string>();

/** Shorter values would mask ordinary words; real keys are far longer. */
const MIN_SECRET_LENGTH = 8;

/** Remembers a key so it is masked wherever it later appears. Kept in memory only. */
export function registerSecret(secret: string | undefined | null): void {
  if (typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH) known.add(secret);
}

const REDACTED = '[redacted]';

// Shapes of credentials that must never be shown even when they were not registered:
// provider keys (sk-..., sk-ant-..., sk-proj-...), bearer tokens and key headers.
const PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{6,}/g,
  /\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b(x-api-key|api-key|authorization)(["']?\s*[:=]\s*["']?)(?!Bearer\b|\[redacted\])[^\s"',}]{6,}/gi,
];

export function redactSecrets(text: string): string {
  let out = text;
  // Longest first, so a key that contains another is masked whole.
  for (const secret of [...known].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  out = out.replace(PATTERNS[0] as RegExp, REDACTED);
  out = out.replace(PATTERNS[1] as RegExp, `$1 ${REDACTED}`);
  out = out.replace(PATTERNS[2] as RegExp, `$1$2${REDACTED}`);
  return out;
}

/** Masks a key for display: keeps only its length, never characters of it. */
export function describeSecret(secret: string): string {
  return `[a ${secret.length}-character key]`;
}

export interface SdkLogger {
  error(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  debug(message: string, ...rest: unknown[]): void;
}

/**
 * A logger for the SDK clients that redacts every line before it reaches the
 * real sink. The SDKs already hide auth headers in their debug logs; this also
 * covers error bodies and values they print verbatim.
 */
export function redactingLogger(sink: SdkLogger = console): SdkLogger {
  const clean = (args: unknown[]): unknown[] => args.map((arg) => redactValue(arg));
  return {
    error: (message, ...rest) => sink.error(redactSecrets(String(message)), ...clean(rest)),
    warn: (message, ...rest) => sink.warn(redactSecrets(String(message)), ...clean(rest)),
    info: (message, ...rest) => sink.info(redactSecrets(String(message)), ...clean(rest)),
    debug: (message, ...rest) => sink.debug(redactSecrets(String(message)), ...clean(rest)),
  };
}

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (value instanceof Error) return redactSecrets(value.stack ?? value.message);
  if (value === null || typeof value !== 'object') return value;
  try {
    return JSON.parse(redactSecrets(JSON.stringify(value))) as unknown;
  } catch {
    return '[unserialisable value]';
  }
}

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
/** Each known secret in the forms it may be written in: as is, URL-encoded, JSON-escaped, base64 (at each alignment). */
const forms = new Set<string>();

/** Shorter values would mask ordinary words; real keys are far longer. */
const MIN_SECRET_LENGTH = 8;

/** Remembers a key so it is masked wherever it later appears. Kept in memory only. */
export function registerSecret(secret: string | undefined | null): void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || known.has(secret)) return;
  known.add(secret);
  for (const form of encodedForms(secret)) if (form.length >= MIN_SECRET_LENGTH) forms.add(form);
}

/**
 * The ways a secret shows up in text that was encoded on its way out: in a
 * URL (`encodeURIComponent`), inside JSON (escaped), and in base64 (an
 * `Authorization: Basic` header, a token blob), where it may start at any of
 * three byte alignments: for each, the base64 characters that depend only on
 * the secret's bytes.
 */
function encodedForms(secret: string): string[] {
  const out = [secret, encodeURIComponent(secret), encodeURI(secret), JSON.stringify(secret).slice(1, -1)];
  const bytes = Buffer.from(secret, 'utf8');
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
    const start = Math.ceil((pad * 8) / 6);
    const end = Math.floor(((pad + bytes.length) * 8 - 6) / 6) + 1;
    const core = b64.slice(start, end);
    out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...new Set(out)];
}

/** Registers the password of a URL (`https://user:password@host/`), so it is masked wherever it appears. */
export function registerUrlSecrets(url: string | undefined): void {
  if (!url) return;
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      registerSecret(decodeURIComponent(parsed.password));
      registerSecret(parsed.password);
    }
  } catch {
    // not a URL: nothing to register
  }
}

const REDACTED = '[redacted]';

// Shapes of credentials that must never be shown even when they were not registered:
// provider keys (sk-..., sk-ant-..., sk-proj-...), bearer tokens and key headers.
const PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{6,}/g,
  /\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b(x-api-key|api-key|authorization)(["']?\s*[:=]\s*["']?)(?!Bearer\b|Basic\b|\[redacted\])[^\s"',}]{6,}/gi,
  // A password in a URL: scheme://user:password@host
  /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s/@]+@/gi,
  // Basic credentials: base64 of user:password
  /\b(Basic)\s+[A-Za-z0-9+/=]{8,}/gi,
];

export function redactSecrets(text: string): string {
  let out = text;
  // Longest first, so a key that contains another is masked whole.
  for (const secret of [...forms].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  out = out.replace(PATTERNS[0] as RegExp, REDACTED);
  out = out.replace(PATTERNS[1] as RegExp, `$1 ${REDACTED}`);
  out = out.replace(PATTERNS[2] as RegExp, `$1$2${REDACTED}`);
  out = out.replace(PATTERNS[3] as RegExp, `$1:${REDACTED}@`);
  out = out.replace(PATTERNS[4] as RegExp, `$1 ${REDACTED}`);
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

import { ValidationError, describeValue, errorMessage } from '@agent-team/core';
import { RE2JS } from 're2js';

/**
 * Patterns a model supplies (search regexes, globs) run on a linear-time
 * engine, RE2JS (a JavaScript port of RE2): matching takes time proportional to
 * pattern size times text size, whatever the pattern, so `(a|a)*$` cannot
 * freeze the event loop the way it does in a backtracking engine (V8's RegExp
 * took 8.9 s on a 26-character line). What RE2 gives up for that guarantee,
 * backreferences and lookaround, is refused with a message saying so.
 *
 * Why not the alternatives: the native `re2` binding needs Node >= 22.22
 * (this project supports 20.19) and a node-gyp build on every machine (its
 * prebuilt binary comes from a host we cannot reach); a worker thread with a
 * time budget would bound the damage but still burn a core per bad pattern.
 */
export interface LinearRegex {
  /** The pattern as the model gave it. */
  readonly source: string;
  /** True when the pattern matches somewhere in `text`. */
  test(text: string): boolean;
}

/** Longest pattern accepted: the matching cost grows with pattern size too. */
export const MAX_PATTERN_LENGTH = 1000;

/**
 * Compiles a regular expression written in JavaScript syntax for the linear
 * engine. `what` names the pattern in errors ("regular expression", "glob").
 *
 * @throws ValidationError for an empty, oversized or invalid pattern, or one
 * using what a linear engine cannot do (backreferences, lookaround).
 */
export function compileLinear(pattern: unknown, options: { ignoreCase?: boolean; what?: string; shown?: string } = {}): LinearRegex {
  const what = options.what ?? 'regular expression';
  const shown = options.shown ?? pattern;
  if (typeof pattern !== 'string' || pattern === '') {
    throw new ValidationError(`${what} must be a non-empty string, got ${describeValue(pattern)}`);
  }
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new ValidationError(`${what} ${describeValue(shown)} is ${pattern.length} characters long; keep it under ${MAX_PATTERN_LENGTH}`);
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(pattern), options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    const message = errorMessage(err);
    const hint = /\(\?[=!<]|\\[1-9]|invalid escape sequence: `\\[1-9]/.test(message) || /\(\?<?[=!]/.test(pattern)
      ? ': lookaround ((?=, (?!, (?<=, (?<!) and backreferences (\\1) are not supported, because patterns run on a linear-time engine; rewrite it without them'
      : '';
    throw new ValidationError(`invalid ${what} ${describeValue(shown)}: ${message}${hint}`);
  }
  return { source: pattern, test: (text) => compiled.test(text) };
}

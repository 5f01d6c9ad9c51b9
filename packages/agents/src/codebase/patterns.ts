import { ValidationError, describeValue, errorMessage } from '@agent-team/core';
import { RE2JS } from 're2js';

/**
 * A compiled pattern that a model (or anyone) supplied, tested in time linear
 * in the input: RE2's automaton (the `re2js` port, pure JavaScript), never
 * V8's backtracking engine, so no pattern can freeze the event loop (and
 * with it the heartbeats that keep an agent's leases). RE2 has no lookaround
 * and no backreferences; a pattern using them is refused with a message
 * saying so.
 */
export interface LinearPattern {
  readonly source: string;
  /** True when the pattern matches somewhere in `text`. */
  test(text: string): boolean;
}

export function linearPattern(source: string, options: { ignoreCase?: boolean; what?: string } = {}): LinearPattern {
  const what = options.what ?? 'regular expression';
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source, options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    throw new ValidationError(
      `invalid ${what} ${describeValue(source)}: ${errorMessage(err)} ` +
        '(patterns run on a linear-time engine, RE2: no lookahead, lookbehind or backreferences)',
    );
  }
  return { source, test: (text) => compiled.matcher(text).find() };
}

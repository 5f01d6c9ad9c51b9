import { ValidationError, describeValue } from '@agent-team/core';
import { linearPattern } from './patterns.js';

/**
 * A compiled file-name pattern, matched in linear time (see patterns.ts): `*` (any characters but `/`), `**` (any
 * folders), `?` (one character), `[abc]` / `[!abc]` and `{a,b}`. A pattern
 * without `/` matches the file name at any depth (`*.ts`); one with `/` matches
 * the whole path relative to the codebase root (`src/**\/*.test.ts`).
 */
export interface GlobMatcher {
  readonly pattern: string;
  matches(relativePath: string): boolean;
}

export function compileGlob(pattern: unknown): GlobMatcher {
  if (typeof pattern !== 'string' || pattern.trim() === '') {
    throw new ValidationError(`glob must be a non-empty string such as "*.ts" or "src/**/*.ts", got ${describeValue(pattern)}`);
  }
  if (pattern.length > 500 || pattern.includes('\0')) {
    throw new ValidationError(`glob ${describeValue(pattern)} is not usable: keep it under 500 characters, without NUL bytes`);
  }
  const cleaned = pattern.replace(/^\.\//, '');
  // Run on the linear-time engine: a glob like "*a*a*a*a*a*b" compiles to a
  // regular expression that backtracks polynomially on a long near-miss name.
  const regex = linearPattern(`^${translate(cleaned, pattern)}$`, { what: `glob ${describeValue(pattern)}, compiled to the expression` });
  const byName = !cleaned.includes('/');
  return {
    pattern,
    matches: (relativePath) => regex.test(byName ? relativePath.slice(relativePath.lastIndexOf('/') + 1) : relativePath),
  };
}

function translate(glob: string, original: string): string {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slashAfter = glob[i + 2] === '/';
        const atSegmentStart = i === 0 || glob[i - 1] === '/';
        if (atSegmentStart && slashAfter) {
          out += '(?:[^/]+/)*';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      out += `[${negated ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/\]/g, '\\]')}]`;
      i = end;
    } else if (c === '{') {
      braces += 1;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces -= 1;
      out += ')';
    } else if (c === ',' && braces > 0) {
      out += '|';
    } else {
      out += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
    }
  }
  if (braces > 0) throw new ValidationError(`glob ${describeValue(original)} has an unclosed "{"`);
  return out;
}

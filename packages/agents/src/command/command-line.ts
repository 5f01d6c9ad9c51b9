import { ValidationError } from '@agent-team/core';

/**
 * Characters a shell would act on. Without a shell they would reach the
 * program as plain text, which is never what the writer of `a | b` meant, so
 * an unquoted one is refused instead.
 */
const SHELL_OPERATORS = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`']);
const GLOB_CHARACTERS = new Set(['*', '?', '[']);

/**
 * Splits a command line into its words the way a POSIX shell would, without
 * running one: whitespace separates words, single quotes keep everything,
 * double quotes keep everything but `\"`, `\\`, `\$` and `` \` ``, and a
 * backslash outside quotes escapes the next character. What only a shell can
 * do (pipes, redirection, `$VAR`, `~`, globs, `VAR=value` prefixes) is refused
 * with a message that says to quote it or set `shell: true`.
 *
 * @example splitCommandLine(`claude -p --append-system-prompt "Be brief"`)
 * // ['claude', '-p', '--append-system-prompt', 'Be brief']
 */
export function splitCommandLine(line: string, what = 'command'): string[] {
  if (typeof line !== 'string') throw new ValidationError(`${what} must be a string or a list of strings, got ${typeof line}`);
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quotedWord = false;
  const refuse = (problem: string): never => {
    throw new ValidationError(`${what} ${JSON.stringify(line)} ${problem}: it runs without a shell; quote the character, or set shell: true`);
  };
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      quotedWord = false;
      continue;
    }
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ValidationError(`${what} ${JSON.stringify(line)} has an unterminated single quote`);
      word += line.slice(i + 1, end);
      i = end;
      inWord = true;
      quotedWord = true;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        const c = line[j] as string;
        if (c === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1] as string)) {
          word += line[j + 1];
          j++;
        } else if (c === '$' || c === '`') {
          refuse(`expands ${c} inside double quotes`);
        } else {
          word += c;
        }
      }
      if (j >= line.length) throw new ValidationError(`${what} ${JSON.stringify(line)} has an unterminated double quote`);
      i = j;
      inWord = true;
      quotedWord = true;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= line.length) throw new ValidationError(`${what} ${JSON.stringify(line)} ends with a lone backslash`);
      word += line[i + 1];
      i++;
      inWord = true;
      continue;
    }
    if (SHELL_OPERATORS.has(ch)) refuse(`uses the shell operator ${JSON.stringify(ch)}`);
    if (GLOB_CHARACTERS.has(ch)) refuse(`uses the glob character ${JSON.stringify(ch)}`);
    if (ch === '~' && !inWord) refuse('starts a word with "~", which only a shell expands to the home folder');
    if (ch === '=' && words.length === 0 && !quotedWord && /^[A-Za-z_][A-Za-z0-9_]*$/.test(word)) {
      refuse(`sets the variable ${word} before the program (put it under env: instead)`);
    }
    word += ch;
    inWord = true;
  }
  if (inWord) words.push(word);
  if (words.length === 0 || words[0] === '') throw new ValidationError(`${what} is empty: give the program to run, e.g. "claude -p"`);
  return words;
}

/** A command line for messages: words with spaces or quotes are shown quoted. */
export function formatCommandLine(argv: readonly string[]): string {
  return argv.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

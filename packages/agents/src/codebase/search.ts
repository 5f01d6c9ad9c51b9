import type { Dirent } from 'node:fs';
import { type ConfinedPath, ValidationError, describeValue } from '@agent-team/core';
import { type GlobMatcher, compileGlob } from './glob.js';
import { positiveInteger } from './errors.js';
import { linearPattern } from './patterns.js';

const MAX_SEARCH_LIMIT = 1000;
/** Search stops after this many files, so one call on a huge tree stays bounded. */
const MAX_FILES_SEARCHED = 20_000;
/** Regular expressions are tested on at most this much of a line. */
const MAX_REGEX_LINE = 2000;
const MATCH_TEXT = 300;

/** What a search needs of the codebase it walks: confined folders, their entries, and file text. */
export interface SearchTree {
  confineFolder(dir: string, action: string): ConfinedPath;
  readFolder(relative: string): Promise<Dirent[]>;
  isSkipped(name: string, relative: string): boolean;
  /** The text of a file, or undefined when it is binary, too large or unreadable. */
  readText(relative: string): Promise<string | undefined>;
}

export interface SearchOptions {
  /**
   * Treat the pattern as a regular expression in RE2 syntax (JavaScript's, less
   * lookaround and backreferences), matched in linear time. @default false (plain text)
   */
  regex?: boolean;
  /** Ignore case. @default false */
  ignoreCase?: boolean;
  /** Only files matching this glob: `*.ts` (any depth) or `src/**\/*.ts` (from the root). */
  glob?: string;
  /** The folder to search in, relative to the root. @default the root */
  path?: string;
  /** The most matches to return. @default 100 */
  limit?: number;
}

export interface SearchMatch {
  path: string;
  /** Line number, from 1. */
  line: number;
  /** The line, cut to 300 characters. */
  text: string;
}

export interface SearchResult {
  matches: SearchMatch[];
  /** The match limit or the file budget cut the search short. */
  truncated: boolean;
  filesSearched: number;
  /** Files skipped as binary or too large. */
  filesSkipped: number;
}

/**
 * Searches the text files under a folder for a plain string or a regular
 * expression (RE2, linear time), breadth first, skipping links and what the
 * tree skips, bounded by `limit` matches and 20,000 files.
 */
export async function searchFiles(tree: SearchTree, pattern: string, options: SearchOptions = {}): Promise<SearchResult> {
  const test = lineMatcher(pattern, options);
  const glob: GlobMatcher | undefined = options.glob === undefined ? undefined : compileGlob(options.glob);
  const limit = Math.min(positiveInteger('limit', options.limit, 100), MAX_SEARCH_LIMIT);
  const start = tree.confineFolder(options.path ?? '.', 'search');
  const result: SearchResult = { matches: [], truncated: false, filesSearched: 0, filesSkipped: 0 };
  const queue: string[] = [start.relative];
  while (queue.length > 0) {
    const relative = queue.shift() as string;
    for (const dirent of await tree.readFolder(relative)) {
      const childPath = relative === '' ? dirent.name : `${relative}/${dirent.name}`;
      if (tree.isSkipped(dirent.name, childPath) || dirent.isSymbolicLink()) continue;
      if (dirent.isDirectory()) {
        queue.push(childPath);
        continue;
      }
      if (!dirent.isFile() || (glob && !glob.matches(childPath))) continue;
      if (result.filesSearched >= MAX_FILES_SEARCHED) {
        result.truncated = true;
        return result;
      }
      const text = await tree.readText(childPath);
      if (text === undefined) {
        result.filesSkipped += 1;
        continue;
      }
      result.filesSearched += 1;
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop(); // the newline that ends the last line starts no line
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] as string;
        if (!test(line)) continue;
        if (result.matches.length >= limit) {
          result.truncated = true;
          return result;
        }
        const shown = line.replace(/\r$/, '');
        result.matches.push({ path: childPath, line: i + 1, text: shown.length > MATCH_TEXT ? `${shown.slice(0, MATCH_TEXT)}...` : shown });
      }
    }
  }
  return result;
}

function lineMatcher(pattern: unknown, options: SearchOptions): (line: string) => boolean {
  if (typeof pattern !== 'string' || pattern === '') {
    throw new ValidationError(`search pattern must be a non-empty string, got ${describeValue(pattern)}`);
  }
  if (!options.regex) {
    if (!options.ignoreCase) return (line) => line.includes(pattern);
    const lower = pattern.toLowerCase();
    return (line) => line.toLowerCase().includes(lower);
  }
  // RE2's linear-time automaton: no pattern can backtrack for seconds and starve the heartbeats.
  const regex = linearPattern(pattern, { ignoreCase: options.ignoreCase === true });
  return (line) => regex.test(line.length > MAX_REGEX_LINE ? line.slice(0, MAX_REGEX_LINE) : line);
}

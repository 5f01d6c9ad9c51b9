import fs from 'node:fs';
import path from 'node:path';
import { ValidationError } from '@agent-team/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Codebase, codebaseTools, compileGlob, compileLinear } from '../src/codebase/index.js';
import { tempDir } from './helpers.js';

/**
 * F12 / issue 17.3: a pattern a model supplies must not freeze the event loop.
 * V8's backtracking RegExp takes seconds on `(a|a)*b` against 26 characters and
 * hours against 2000; these tests would hang (and time out) on it.
 */
describe('patterns from a model run in linear time and leave the event loop free', () => {
  let root: string;

  beforeEach(() => {
    root = tempDir('codebase-patterns-');
    // Lines built to make a backtracking engine explode: long runs of "a" that never end in "b".
    const evil = `${'a'.repeat(1990)}!`;
    fs.mkdirSync(path.join(root, 'src'));
    fs.writeFileSync(path.join(root, 'src', 'evil.txt'), `${Array.from({ length: 300 }, () => evil).join('\n')}\nthe end ab\n`);
    fs.writeFileSync(path.join(root, 'src', `${'a'.repeat(200)}.ts`), 'export const x = 1;\n');
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Runs `work` with a 1 ms interval counting how often the event loop got to run timers meanwhile. */
  async function counting<T>(work: () => Promise<T>): Promise<{ value: T; ticks: number }> {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 1);
    try {
      const value = await work();
      return { value, ticks };
    } finally {
      clearInterval(timer);
    }
  }

  it.each(['(a|a)*b', '(a|a)*$', '(a+)+b', '(?:a|aa)*c', '(.*a){12}b'])('search_code %j over long lines finishes while timers keep firing', async (pattern) => {
    const codebase = new Codebase(root);
    const { value: result, ticks } = await counting(() => codebase.search(pattern, { regex: true, glob: '*.txt' }));
    expect(result.filesSearched).toBe(1);
    expect(result.stoppedBy).not.toBe('time');
    if (pattern === '(a|a)*b' || pattern === '(a+)+b') expect(result.matches.map((m) => m.line)).toEqual([301]);
    expect(ticks).toBeGreaterThan(0);
  });

  it('a long search yields to the event loop between lines, and stops at its time budget', async () => {
    // Ten files of adversarial lines: long enough that timers fire many times during one search.
    for (let i = 0; i < 10; i++) fs.copyFileSync(path.join(root, 'src', 'evil.txt'), path.join(root, 'src', `evil-${i}.txt`));
    const codebase = new Codebase(root);
    const { value: full, ticks } = await counting(() => codebase.search('(a|a)*b', { regex: true, ignoreCase: true }));
    expect(full.filesSearched).toBe(12);
    expect(full.matches).toHaveLength(11);
    // Without the yields the whole scan of a file is one turn of the loop: at most a handful of ticks from the reads.
    expect(ticks).toBeGreaterThanOrEqual(20);

    const hurried = new Codebase(root, { maxSearchMs: 1 });
    const cut = await hurried.search('(a|a)*b', { regex: true });
    expect(cut).toMatchObject({ truncated: true, stoppedBy: 'time' });
    const tool = codebaseTools(hurried).find((t) => t.name === 'search_code');
    const text = await tool?.execute({ pattern: '(a|a)*b', regex: true }, { signal: new AbortController().signal, toolCallId: 't1', messages: [] });
    expect(text).toMatch(/time budget/);
  });

  it('globs run on the same engine: a many-star glob against a long file name finishes', async () => {
    const glob = `${'*a'.repeat(30)}*b`;
    const codebase = new Codebase(root);
    const { value: result, ticks } = await counting(() => codebase.search('export', { glob }));
    expect(result.matches).toEqual([]);
    expect(compileGlob(glob).matches(`${'a'.repeat(200)}.ts`)).toBe(false);
    expect(compileGlob(`${'*a'.repeat(30)}*.ts`).matches(`src/${'a'.repeat(200)}.ts`)).toBe(true);
    expect(ticks).toBeGreaterThanOrEqual(0);
  });

  it('refuses what a linear engine cannot do, and oversized patterns, with what to do instead', () => {
    expect(() => compileLinear('(a)\\1')).toThrow(ValidationError);
    expect(() => compileLinear('(a)\\1')).toThrow(/backreferences .* not supported.*rewrite it/);
    expect(() => compileLinear('(?<!x)y')).toThrow(/lookaround/);
    expect(() => compileLinear('x'.repeat(1001))).toThrow(/1001 characters long; keep it under 1000/);
    expect(() => compileLinear('')).toThrow(/non-empty string/);
    // What models write in JavaScript syntax still works.
    expect(compileLinear('^export (?<kind>const|function) \\w+\\/?').test('export const a')).toBe(true);
    expect(compileLinear('\\u0041\\d{2}', { ignoreCase: true }).test('x a42')).toBe(true);
  });
});

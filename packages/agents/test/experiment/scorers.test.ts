import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaseSpec, ScorerSpec } from '../../src/experiment/matrix.js';
import { type ScoreContext, type ScoredView, jsonOf, scoreCase } from '../../src/experiment/scorers.js';
import { offlineModel } from '../../src/models/index.js';
import { tempDir } from '../helpers.js';

function view(result: string, extra: Partial<ScoredView> = {}): ScoredView {
  return { result, json: jsonOf(result), status: 'completed', tasks: { case: result }, ...extra };
}

function ctx(c: Partial<CaseSpec> = {}, cwd = process.cwd()): ScoreContext {
  return { case: { id: 'c1', task: 'Say hi', ...c }, cellId: 'cell-a', cwd, judgeModel: () => offlineModel() };
}

type ScorerInput = { [K in ScorerSpec['kind']]: Omit<Extract<ScorerSpec, { kind: K }>, 'id'> }[ScorerSpec['kind']];

async function one(scorer: ScorerInput, v: ScoredView, context = ctx()) {
  const [r] = await scoreCase([{ id: scorer.kind, ...scorer }], v, context);
  return r as NonNullable<typeof r>;
}

describe('experiment scorers', () => {
  it('exact compares trimmed text, optionally ignoring case, and JSON values structurally', async () => {
    expect((await one({ kind: 'exact' }, view('  Hello \n'), ctx({ expected: 'Hello' }))).pass).toBe(true);
    expect((await one({ kind: 'exact' }, view('hello'), ctx({ expected: 'Hello' }))).pass).toBe(false);
    expect((await one({ kind: 'exact', ignoreCase: true }, view('hello'), ctx({ expected: 'Hello' }))).pass).toBe(true);
    expect((await one({ kind: 'exact', expected: 'x', trim: false }, view(' x'))).pass).toBe(false);
    const json = view('Here: ```json\n{"a": 1, "b": [2, 3]}\n```');
    expect((await one({ kind: 'exact', field: 'json', expected: { b: [2, 3], a: 1 } }, json)).pass).toBe(true);
    const wrong = await one({ kind: 'exact', field: 'json', expected: { a: 2 } }, json);
    expect(wrong).toMatchObject({ pass: false, detail: 'expected {"a":2}, got {"a":1,"b":[2,3]}' });
    expect((await one({ kind: 'exact', field: 'status', expected: 'completed' }, json)).pass).toBe(true);
    expect((await one({ kind: 'exact', field: 'tasks.case', expected: 'hi' }, view('hi'))).pass).toBe(true);
  });

  it('contains needs every expected string; regex and json-schema', async () => {
    expect((await one({ kind: 'contains' }, view('Leases and FENCING'), ctx({ expected: ['lease', 'fencing'] }))).detail).toBe('missing "lease", "fencing"');
    expect((await one({ kind: 'contains', ignoreCase: true }, view('Leases and FENCING'), ctx({ expected: ['lease', 'fencing'] }))).pass).toBe(true);
    expect((await one({ kind: 'regex', pattern: '^\\d{3}$' }, view('123'))).pass).toBe(true);
    expect((await one({ kind: 'regex', pattern: '^ok$', flags: 'im' }, view('x\nOK\ny'))).pass).toBe(true);
    const schema = { type: 'object', properties: { verdict: { enum: ['approve', 'changes'] } }, required: ['verdict'] };
    expect((await one({ kind: 'json-schema', schema }, view('{"verdict":"approve"}'))).pass).toBe(true);
    const bad = await one({ kind: 'json-schema', schema }, view('{"verdict":"maybe"}'));
    expect(bad.pass).toBe(false);
    expect(bad.detail).toMatch(/verdict/);
    expect((await one({ kind: 'json-schema', schema }, view('no json here'))).detail).toBe('not JSON');
  });

  it('command runs a real program: the outcome on stdin, the case in its environment, no keys; exit 0 passes', async () => {
    const dir = tempDir('exp-score-');
    try {
      const script = path.join(dir, 'check.mjs');
      fs.writeFileSync(
        script,
        `let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const o = JSON.parse(input);
  const leaked = Object.keys(process.env).filter((k) => /KEY/.test(k));
  if (leaked.length) { console.error('leaked ' + leaked.join(',')); process.exit(3); }
  if (process.env.EXPERIMENT_CASE_ID !== o.case.id || process.env.EXPERIMENT_CELL_ID !== 'cell-a') process.exit(4);
  if (!o.result.includes('42')) { console.error('no 42 in the answer'); process.exit(1); }
});
`,
      );
      process.env.SOME_API_KEY = 'sk-should-not-pass';
      const ok = await one({ kind: 'command', command: [process.execPath, script] }, view('The answer is 42'), ctx({}, dir));
      expect(ok).toMatchObject({ pass: true, detail: 'exit 0' });
      const no = await one({ kind: 'command', command: `${process.execPath} check.mjs` }, view('The answer is 41'), ctx({}, dir));
      expect(no).toMatchObject({ pass: false, detail: 'exit 1: no 42 in the answer' });
      const missing = await one({ kind: 'command', command: ['/no/such/program'] }, view('x'), ctx({}, dir));
      expect(missing.pass).toBe(false);
      expect(missing.detail).toMatch(/cannot run \/no\/such\/program/);
      const slow = await one({ kind: 'command', command: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'], timeout: 300 }, view('x'), ctx({}, dir));
      expect(slow).toMatchObject({ pass: false, detail: 'timed out' });
    } finally {
      delete process.env.SOME_API_KEY;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a scorer that throws fails its case with the reason, and the others still run', async () => {
    const broken: ScoreContext = {
      ...ctx(),
      judgeModel: () => {
        throw new Error('no such judge');
      },
    };
    const results = await scoreCase(
      [
        { id: 'judge', kind: 'judge', model: 'x', rubric: 'r' },
        { id: 'regex', kind: 'regex', pattern: 'hi' },
      ],
      view('hi'),
      broken,
    );
    expect(results).toEqual([
      { id: 'judge', kind: 'judge', pass: false, detail: 'the scorer failed: no such judge' },
      { id: 'regex', kind: 'regex', pass: true, detail: 'matches /hi/' },
    ]);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerModel, unregisterModel } from '../../src/agent/model-registry.js';
import { MatrixError, pairedDifferenceInterval, runExperiment, wilsonInterval, type ExperimentSummary } from '../../src/index.js';
import { loadMatrix } from '../../src/experiment/matrix.js';
import { formatPlan, planExperiment } from '../../src/experiment/dry-run.js';
import { fromFunction } from '../../src/models/index.js';
import { tempDir } from '../helpers.js';

/**
 * Scripted models with known answers: "good" answers questions 1-4 of 5
 * right at temperature 0 and 1-3 at temperature 1; "bad" 1-2 and 1. So the
 * four cells of model x temperature pass 4, 3, 2 and 1 of 5 cases.
 */
const calls = { good: 0, bad: 0, judge: 0 };
function scripted(name: 'good' | 'bad') {
  return fromFunction(
    (prompt, request) => {
      calls[name] += 1;
      const n = Number(/Q(\d+)/.exec(prompt)?.[1] ?? 0);
      const right = (name === 'good' ? 4 : 2) - (request.temperature === 1 ? 1 : 0);
      return { text: n <= right ? `A${n}` : `wrong ${n}`, usage: { inputTokens: 100, outputTokens: 10 } };
    },
    { id: `scripted:${name}`, price: { inputPerMTok: 1000, outputPerMTok: 1000 } },
  );
}

function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

const SPEC = `version: 1
agents:
  - { id: worker-1, role: worker, model: scripted:good }
tasks:
  - { description: placeholder }
`;
const CASES = [1, 2, 3, 4, 5].map((n) => JSON.stringify({ id: `q${n}`, task: `Q${n}: answer question ${n}`, expected: `A${n}` })).join('\n');

function matrix(extra = ''): string {
  return `version: 1
spec: ./team.yaml
cases: ./cases.jsonl
matrix:
  model: [scripted:good, scripted:bad]
  agents.temperature: [0, 1]
score:
  - { kind: exact }
concurrency: 2
${extra}`;
}

beforeAll(() => {
  registerModel('scripted:good', scripted('good'));
  registerModel('scripted:bad', scripted('bad'));
});
const dirs: string[] = [];
function newDir(): string {
  const dir = tempDir('exp-');
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
afterAll(() => {
  for (const n of ['scripted:good', 'scripted:bad', 'scripted:judge']) unregisterModel(n);
});

describe('runExperiment', () => {
  it('runs a 2 x 2 matrix with the exact pass rates, intervals and paired tests', async () => {
    const dir = newDir();
    write(dir, { 'team.yaml': SPEC, 'cases.jsonl': CASES, 'm.yaml': matrix('cache: { mode: record, dir: ./cache }\n') });
    const { summary, outcomes, resultsDir } = await runExperiment(path.join(dir, 'm.yaml'));
    expect(summary.status).toBe('complete');
    expect(summary.cells.map((c) => [c.id, c.passed, c.cases])).toEqual([
      ['model-scripted-good_temperature-0', 4, 5],
      ['model-scripted-good_temperature-1', 3, 5],
      ['model-scripted-bad_temperature-0', 2, 5],
      ['model-scripted-bad_temperature-1', 1, 5],
    ]);
    expect(summary.cells.map((c) => c.passRate)).toEqual([0.8, 0.6, 0.4, 0.2]);
    const [lo, hi] = wilsonInterval(4, 5);
    expect(summary.cells[0]?.ci95).toEqual([Math.round(lo * 1e6) / 1e6, Math.round(hi * 1e6) / 1e6]);
    expect(summary.cells[0]?.ci95?.[0]).toBeCloseTo(0.3755, 4);
    expect(summary.cells[0]?.ci95?.[1]).toBeCloseTo(0.9638, 4);
    // One call per case of 110 tokens at $1000/M tokens each way.
    expect(summary.cells[0]).toMatchObject({ tokens: 550, calls: 5, costUsd: 0.55, failures: { wrong: 1 }, scorers: { exact: 4 } });
    expect(summary.cells[0]?.settings).toEqual({ model: 'scripted:good', 'agents.temperature': 0 });
    // good@0 against bad@1: it alone passes q2, q3, q4; no case the other way: p = 2 / 2^3.
    const c = summary.comparisons.find((p) => p.a === 'model-scripted-good_temperature-0' && p.b === 'model-scripted-bad_temperature-1');
    expect(c).toMatchObject({ shared: 5, onlyA: 3, onlyB: 0, difference: 0.6, test: 'mcnemar-exact', pValue: 0.25 });
    expect(summary.comparisons).toHaveLength(6);
    // Newcombe's paired interval from the four counts: q1 both, q2-q4 only good@0, q5 neither.
    const [dlo, dhi] = pairedDifferenceInterval(1, 3, 0, 1);
    expect(c?.ci95).toEqual([Math.round(dlo * 1e6) / 1e6, Math.round(dhi * 1e6) / 1e6]);
    // The results folder.
    const lines = fs.readFileSync(path.join(resultsDir, 'outcomes.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(20);
    expect(outcomes.map((o) => `${o.cell}/${o.case}`)).toEqual(lines.map((l) => { const o = JSON.parse(l) as { cell: string; case: string }; return `${o.cell}/${o.case}`; }));
    expect(JSON.parse(fs.readFileSync(path.join(resultsDir, 'summary.json'), 'utf8'))).toEqual(summary);
    const report = fs.readFileSync(path.join(resultsDir, 'report.md'), 'utf8');
    expect(report).toContain('| model-scripted-good_temperature-0 | model=scripted:good, agents.temperature=0 | 4/5 | 80.0% |');
    expect(report).toContain('<svg');
    // The case grid: q4 passes in the good cell at temperature 0 only.
    expect(report).toContain('| q4 | ✓ | wrong | wrong | wrong | 1/4 |');
    expect(fs.readFileSync(path.join(resultsDir, 'plot.svg'), 'utf8')).toMatch(/^<svg[\s\S]*pass rate[\s\S]*<\/svg>\n$/);

    // Replay: no model is called, and the summary is the same, byte for byte.
    const before = { ...calls };
    const replayed = await runExperiment(path.join(dir, 'm.yaml'), { replay: true });
    expect(calls).toEqual(before);
    expect(fs.readFileSync(path.join(replayed.resultsDir, 'summary.json'), 'utf8')).toBe(fs.readFileSync(path.join(resultsDir, 'summary.json'), 'utf8'));
    expect(replayed.workspace).not.toBe(path.join(dir, 'experiments', 'm'));

    // A second run on the same workspace resumes: every case is done, nothing runs again.
    const again = await runExperiment(path.join(dir, 'm.yaml'));
    expect(calls).toEqual(before);
    expect(again.summary).toEqual(summary);

    // Edit one case: a resumed run runs that case again in every cell, and only it.
    write(dir, { 'cases.jsonl': CASES.replace('"expected":"A5"', '"expected":"wrong 5"') });
    const edited = await runExperiment(path.join(dir, 'm.yaml'));
    expect(calls.good + calls.bad - before.good - before.bad).toBe(4);
    expect(edited.summary.cells.map((c) => c.passed)).toEqual([5, 4, 3, 2]);
  });

  it('a judge scorer asks a scripted model with the rubric and the answer', async () => {
    const prompts: string[] = [];
    registerModel(
      'scripted:judge',
      fromFunction((prompt) => {
        calls.judge += 1;
        prompts.push(prompt);
        const answer = /Answer to judge:\n(.*)/.exec(prompt)?.[1] ?? '';
        const pass = /^A\d/.test(answer);
        return JSON.stringify({ pass, score: pass ? 1 : 0, reason: pass ? 'names the answer' : 'no answer' });
      }, { id: 'scripted:judge' }),
    );
    const dir = newDir();
    write(dir, {
      'team.yaml': SPEC,
      'cases.jsonl': CASES,
      'm.yaml': `version: 1
spec: ./team.yaml
cases: ./cases.jsonl
matrix:
  model: [scripted:good, scripted:bad]
score:
  - { kind: judge, model: scripted:judge, rubric: "Pass when the answer starts with A and the question's number." }
`,
    });
    const { summary, outcomes } = await runExperiment(path.join(dir, 'm.yaml'));
    expect(summary.cells.map((c) => c.passed)).toEqual([4, 2]);
    expect(prompts).toHaveLength(10);
    expect(prompts[0]).toContain("Pass when the answer starts with A and the question's number.");
    expect(prompts[0]).toContain('Reference answer:');
    expect(summary.cells[0]?.judge.calls).toBe(5);
    expect(outcomes.find((o) => o.case === 'q5')?.scores[0]).toMatchObject({ kind: 'judge', pass: false, detail: 'judge: no answer', score: 0 });
  });

  it('a budget stops the run and the cells so far are reported as partial', async () => {
    const dir = newDir();
    write(dir, {
      'team.yaml': SPEC,
      'cases.jsonl': CASES,
      // 110 tokens a case: the third case crosses 300 and nothing more is claimed.
      'm.yaml': `version: 1
spec: ./team.yaml
cases: ./cases.jsonl
matrix:
  model: [scripted:good, scripted:bad]
score:
  - { kind: exact }
concurrency: 1
budget: { maxTokens: 300 }
`,
    });
    const { summary, outcomes, resultsDir } = await runExperiment(path.join(dir, 'm.yaml'));
    expect(summary.status).toBe('partial');
    expect(summary.stoppedBy).toMatch(/budget|token/i);
    expect(outcomes.map((o) => `${o.cell}/${o.case}`)).toEqual(['model-scripted-good/q1', 'model-scripted-good/q2', 'model-scripted-bad/q1']);
    expect(summary.cells.map((c) => [c.cases, c.planned, c.partial])).toEqual([[2, 5, true], [1, 5, true]]);
    expect(fs.readFileSync(path.join(resultsDir, 'report.md'), 'utf8')).toContain('**Partial**');
  });

  it('a dry run counts the calls and prices them from the price table, without a key', () => {
    const dir = newDir();
    write(dir, {
      'team.yaml': 'version: 1\nagents:\n  - { id: lead, role: lead, model: offline }\n  - { id: worker-1, role: worker, model: offline, maxTokens: 300 }\ntasks:\n  - { description: x }\nmoa:\n  - { prompt: x, proposers: { samples: 3 } }\n',
      // 40 characters each: 10 tokens of prompt.
      'cases.jsonl': `${JSON.stringify({ id: 't', task: 'x'.repeat(40) })}\n${JSON.stringify({ id: 'm', moa: 'y'.repeat(40) })}`,
      'm.yaml': 'version: 1\nspec: ./team.yaml\ncases: ./cases.jsonl\nmatrix:\n  model: [anthropic:claude-haiku-4-5, anthropic:claude-opus-5]\nscore:\n  - { kind: regex, pattern: . }\n',
    });
    const plan = planExperiment(loadMatrix(path.join(dir, 'm.yaml')));
    // Task case: one worker call. MoA case: 3 proposals and an aggregation.
    expect(plan.cells.map((c) => c.calls)).toEqual([5, 5]);
    const haiku = plan.cells[0];
    // Inputs: 410 (task) + 3 x 410 (proposals) + 410 + 3 x 500 (aggregation); outputs: 300 + 3 x 500 + 500.
    expect(haiku).toMatchObject({ inputTokens: 410 + 3 * 410 + 410 + 1500, outputTokens: 300 + 1500 + 500 });
    expect(haiku?.costUsd).toBeCloseTo(((410 + 3 * 410 + 410 + 1500) * 1 + (300 + 1500 + 500) * 5) / 1e6, 6);
    // No published price for claude-opus-5: said so, not guessed.
    expect(plan.cells[1]).toMatchObject({ costUsd: null, unpriced: ['anthropic:claude-opus-5'] });
    expect(plan.unpriced).toEqual(['anthropic:claude-opus-5']);
    expect(formatPlan(plan)).toMatch(/Total: 10 model calls/);
  });

  it('refuses bad matrix files, naming the field', () => {
    const dir = newDir();
    write(dir, { 'team.yaml': SPEC, 'cases.jsonl': CASES });
    const problems = (text: string, cases = CASES): string => {
      write(dir, { 'bad.yaml': text, 'cases.jsonl': cases });
      try {
        loadMatrix(path.join(dir, 'bad.yaml'));
      } catch (err) {
        expect(err).toBeInstanceOf(MatrixError);
        return (err as Error).message;
      }
      throw new Error('accepted a bad matrix');
    };
    const base = 'version: 1\nspec: ./team.yaml\ncases: ./cases.jsonl\nscore: [{ kind: exact }]\n';
    expect(problems(`${base}matrix:\n  agents.temprature: [0, 1]\n`)).toMatch(/matrix\.agents\.temprature: unknown override path/);
    expect(problems(`${base}matrix:\n  moa.proposers.samples: [1, 3]\n`)).toMatch(/matrix\.moa\.proposers\.samples: unknown override path: the spec has no moa/);
    expect(problems(`${base}matrix:\n  model: []\n`)).toMatch(/matrix\.model: an axis needs at least one value/);
    expect(problems(`${base}matrix:\n  agents.temperature: [5]\n`)).toMatch(/matrix\.agents\.temperature = 5: .*agents\[0\]\.temperature/);
    expect(problems(base, `${CASES}\n${JSON.stringify({ id: 'q2', task: 'again' })}`)).toMatch(/cases\.jsonl:6\.id: "q2" is used twice \(first at cases\.jsonl:2\)/);
    expect(problems(base, JSON.stringify({ id: 'x', task: 'no expected' }))).toMatch(/score\[0\]\.expected: exact needs an expected value/);
    expect(problems(`${base}colour: red\n`)).toMatch(/unknown field "colour"/);
    expect(problems(`${base}matrix:\n  workspace: [a]\n`)).toMatch(/matrix\.workspace: the experiment decides workspace/);
  });
});

export type { ExperimentSummary };

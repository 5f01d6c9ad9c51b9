import { errorMessage } from '@agent-team/core';
import { durationMs } from '../cli/spec.js';
import { splitCommandLine } from '../command/command-line.js';
import { minimalEnv } from '../command/env.js';
import { runProcess } from '../command/process-runner.js';
import { extractJson, generateObject, type JsonSchema, type LanguageModel, validateJsonSchema } from '../models/index.js';
import { deepEqual } from '../models/json-schema.js';
import type { CaseSpec, ScorerSpec } from './matrix.js';

/** What a scorer looks at: the case's final answer and how the run went. */
export interface ScoredView {
  /** The final answer as text (the synthesis, the MoA answer, or the last task's result). */
  result: string;
  /** The answer parsed as JSON when it is JSON (or holds a JSON block), else null. */
  json: unknown;
  /** How the case's team run ended: completed, failed, stalled, timeout, budget_exceeded, aborted. */
  status: string;
  /** Every task's result as text, by task id. */
  tasks: Record<string, string>;
}

export interface ScoreResult {
  id: string;
  kind: ScorerSpec['kind'];
  pass: boolean;
  /** Why it passed or failed, in a line. */
  detail: string;
  /** The judge's score in [0, 1], when it gave one. */
  score?: number;
}

export interface ScoreContext {
  case: CaseSpec;
  cellId: string;
  /** Where command scorers run (the matrix file's folder). */
  cwd: string;
  signal?: AbortSignal;
  /** The judge's model for a model spec (cached and usage-counted by the runner). */
  judgeModel: (spec: string) => LanguageModel;
}

/** The value a scorer's `field` names: result (default), json, status or tasks.<id>. */
export function fieldValue(view: ScoredView, field = 'result'): unknown {
  if (field === 'result') return view.result;
  if (field === 'json') return view.json;
  if (field === 'status') return view.status;
  if (field.startsWith('tasks.')) return view.tasks[field.slice('tasks.'.length)];
  return undefined;
}

/** Runs every scorer on one case's outcome; the case passes when all pass. */
export async function scoreCase(scorers: readonly ScorerSpec[], view: ScoredView, ctx: ScoreContext): Promise<ScoreResult[]> {
  const results: ScoreResult[] = [];
  for (const scorer of scorers) {
    try {
      results.push({ id: scorer.id, kind: scorer.kind, ...(await scoreOne(scorer, view, ctx)) });
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      results.push({ id: scorer.id, kind: scorer.kind, pass: false, detail: `the scorer failed: ${errorMessage(err)}` });
    }
  }
  return results;
}

async function scoreOne(scorer: ScorerSpec, view: ScoredView, ctx: ScoreContext): Promise<Omit<ScoreResult, 'id' | 'kind'>> {
  switch (scorer.kind) {
    case 'exact': {
      const expected = scorer.expected !== undefined ? scorer.expected : ctx.case.expected;
      const actual = fieldValue(view, scorer.field);
      if (typeof expected !== 'string') {
        const pass = deepEqual(actual, expected);
        return { pass, detail: pass ? 'equal' : `expected ${clip(JSON.stringify(expected))}, got ${clip(JSON.stringify(actual) ?? 'nothing')}` };
      }
      const norm = (s: string) => {
        let t = scorer.trim === false ? s : s.trim();
        if (scorer.ignoreCase) t = t.toLowerCase();
        return t;
      };
      const text = asString(actual);
      const pass = text !== null && norm(text) === norm(expected);
      return { pass, detail: pass ? 'equal' : `expected ${clip(JSON.stringify(expected))}, got ${clip(JSON.stringify(text ?? actual) ?? 'nothing')}` };
    }
    case 'contains': {
      const expected = scorer.expected ?? (ctx.case.expected as string | string[]);
      const needles = Array.isArray(expected) ? expected : [expected];
      const text = asString(fieldValue(view, scorer.field)) ?? '';
      const hay = scorer.ignoreCase ? text.toLowerCase() : text;
      const missing = needles.filter((n) => !hay.includes(scorer.ignoreCase ? n.toLowerCase() : n));
      return { pass: missing.length === 0, detail: missing.length === 0 ? `contains all ${needles.length}` : `missing ${missing.map((m) => JSON.stringify(m)).join(', ')}` };
    }
    case 'regex': {
      const text = asString(fieldValue(view, scorer.field)) ?? '';
      const pass = new RegExp(scorer.pattern, scorer.flags).test(text);
      return { pass, detail: pass ? `matches /${scorer.pattern}/` : `does not match /${scorer.pattern}/` };
    }
    case 'json-schema': {
      const field = scorer.field ?? 'json';
      const raw = fieldValue(view, field);
      const value = typeof raw === 'string' ? parseJson(raw) : raw;
      // The json field is null when the answer holds no JSON.
      if (value === undefined || (field === 'json' && value === null)) return { pass: false, detail: 'not JSON' };
      const problems = validateJsonSchema(value, scorer.schema, { maxProblems: 3 });
      return { pass: problems.length === 0, detail: problems.length === 0 ? 'valid' : problems.join('; ') };
    }
    case 'command':
      return runCommandScorer(scorer, view, ctx);
    case 'judge':
      return runJudge(scorer, view, ctx);
  }
}

async function runCommandScorer(scorer: Extract<ScorerSpec, { kind: 'command' }>, view: ScoredView, ctx: ScoreContext) {
  const argv = Array.isArray(scorer.command) ? scorer.command : splitCommandLine(scorer.command, `score ${scorer.id} command`);
  const [file, ...args] = argv as [string, ...string[]];
  const outcome = await runProcess({
    file,
    args,
    cwd: ctx.cwd,
    // No keys: a scorer gets the basic environment and the case's identity.
    env: { ...minimalEnv(), EXPERIMENT_CASE_ID: ctx.case.id, EXPERIMENT_CELL_ID: ctx.cellId },
    stdin: `${JSON.stringify({ case: ctx.case, result: view.result, json: view.json, status: view.status, tasks: view.tasks })}\n`,
    timeoutMs: scorer.timeout === undefined ? 60_000 : durationMs(scorer.timeout),
    killGraceMs: 1000,
    maxStdoutBytes: 64 * 1024,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (outcome.spawnError) return { pass: false, detail: `cannot run ${file}: ${outcome.spawnError.message}` };
  if (outcome.timedOut) return { pass: false, detail: 'timed out' };
  const pass = outcome.exitCode === 0;
  const said = (outcome.stderrTail || outcome.stdout).trim().split('\n').pop() ?? '';
  return { pass, detail: `exit ${outcome.exitCode ?? outcome.signal}${said ? `: ${clip(said)}` : ''}` };
}

/** The judge's answer. */
export const JUDGE_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    pass: { type: 'boolean', description: 'true when the answer meets the rubric' },
    score: { type: 'number', minimum: 0, maximum: 1, description: 'how well it meets the rubric, 0 to 1' },
    reason: { type: 'string', description: 'one or two sentences: why' },
  },
  required: ['pass', 'reason'],
  additionalProperties: false,
};

const JUDGE_SYSTEM =
  'You are a strict, fair evaluator. You judge one answer against a rubric and answer only with JSON: ' +
  '{"pass": true|false, "score": 0..1, "reason": "..."}. Judge the answer, not its length or style, unless the rubric asks.';

async function runJudge(scorer: Extract<ScorerSpec, { kind: 'judge' }>, view: ScoredView, ctx: ScoreContext) {
  const answer = asString(fieldValue(view, scorer.field)) ?? '';
  const input = ctx.case.goal ?? ctx.case.task ?? ctx.case.moa ?? JSON.stringify(ctx.case.tasks);
  const parts = [
    `Rubric:\n${scorer.rubric}`,
    `Question or task:\n${input}`,
    ...(ctx.case.expected !== undefined ? [`Reference answer:\n${typeof ctx.case.expected === 'string' ? ctx.case.expected : JSON.stringify(ctx.case.expected)}`] : []),
    `Answer to judge:\n${answer}`,
  ];
  const { object } = await generateObject<{ pass: boolean; score?: number; reason: string }>(ctx.judgeModel(scorer.model), {
    system: JUDGE_SYSTEM,
    messages: [{ role: 'user', content: parts.join('\n\n') }],
    schema: JUDGE_SCHEMA,
    purpose: 'judge',
    temperature: 0,
    maxTokens: scorer.maxTokens ?? 512,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  return { pass: object.pass === true, detail: `judge: ${clip(object.reason)}`, ...(typeof object.score === 'number' ? { score: object.score } : {}) };
}

function asString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return null;
  return JSON.stringify(value) ?? '';
}

function parseJson(text: string): unknown {
  const found = extractJson(text);
  return found.ok ? found.value : undefined;
}

/** The answer parsed as JSON when it is JSON (or holds a JSON block), else null. */
export function jsonOf(text: string): unknown {
  const value = parseJson(text);
  return value === undefined ? null : value;
}

function clip(text: string, max = 160): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

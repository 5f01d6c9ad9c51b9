import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileBackend, type TaskRecord, errnoCode, errorMessage } from '@agent-team/core';
import { registerModel, resolveModel } from '../agent/model-registry.js';
import { buildModels, specTasks, teamFromSpec } from '../cli/build-team.js';
import { type TeamSpec, validateSpec } from '../cli/spec.js';
import { ModelError, ReplayMissError } from '../models/errors.js';
import {
  type GenerateRequest,
  type LanguageModel,
  type UsageRecord,
  UsageTracker,
  type UsageTotals,
  parseModelSpec,
  withCache,
  withUsage,
} from '../models/index.js';
import { asText } from '../agent/prompts.js';
import type { RunSummary } from '../team/summary.js';
import { specForCase } from './case-input.js';
import type { AxisValue, CaseSpec, ScorerSpec } from './matrix.js';
import { type ScoreResult, type ScoredView, jsonOf, scoreCase } from './scorers.js';

/** Everything a process needs to run one case of one cell: carried in the case task's metadata. */
export interface CaseTaskMeta {
  experiment: string;
  cellId: string;
  cellIndex: number;
  settings: Record<string, AxisValue>;
  caseIndex: number;
  case: CaseSpec;
  /** The cell's spec (overrides applied); the case's input goes in when it runs. */
  spec: TeamSpec;
  specDir: string;
  /** The matrix file's folder: command scorers run here. */
  baseDir: string;
  scorers: ScorerSpec[];
  seed?: number;
  /** The cell's recordings folder and mode. */
  cache: { mode: 'record' | 'replay' | 'auto'; dir: string } | null;
  /** The case's own workspace. */
  runDir: string;
}

/**
 * - `wrong`: the team finished but a scorer said no
 * - `run-failed`: tasks failed, were blocked, or the run stalled
 * - `timeout`: the spec's timeout ended the case
 * - `budget`: the spec's own (per-case) budget stopped it
 * - `replay-miss`: replaying, a model call had no recording
 * - `error`: something else went wrong (a model error, a bad key...)
 */
export type FailureKind = 'wrong' | 'run-failed' | 'timeout' | 'budget' | 'replay-miss' | 'error';

export interface CaseOutcome {
  cell: string;
  case: string;
  pass: boolean;
  failure: FailureKind | null;
  scores: ScoreResult[];
  /** How the case's team run ended. */
  status: string;
  reason: string;
  /** The final answer (clipped to 20,000 characters). */
  result: string;
  calls: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  unpricedCalls: number;
  /** The judge's calls, counted apart from the team's. */
  judge: { calls: number; tokens: number; costUsd: number };
  reviewRounds: number;
  /** Wall time of the case; when replaying, the time measured when it was recorded. */
  wallMs: number;
  error?: string;
  /** Replaying: fields whose value differs from the recorded outcome. */
  replayDiff?: string[];
}

export interface RunCaseOptions {
  signal?: AbortSignal;
  /** Every model call (team and judge) is forwarded here, e.g. for the experiment's budget. */
  usage?: UsageTracker;
}

const RESULT_CHARS = 20_000;

/** Runs one case of one cell in its own workspace and scores it. Throws only when aborted. */
export async function runCase(meta: CaseTaskMeta, options: RunCaseOptions = {}): Promise<CaseOutcome> {
  const started = Date.now();
  const judgeUsage = new UsageTracker();
  let teamTotals: UsageTotals = emptyTotals();
  let outcome: CaseOutcome;
  try {
    // A case starts from scratch each attempt, so its numbers are those of one whole run.
    await rm(meta.runDir, { recursive: true, force: true });
    await mkdir(meta.runDir, { recursive: true });
    const spec = withModelsFor(
      replayModels(validateSpec(specForCase(meta.spec, meta.case), `cell ${meta.cellId}, case ${meta.case.id}`), meta),
      meta,
    );
    const models = buildModels(
      meta.cache ? { ...spec, cache: { mode: meta.cache.mode, dir: path.join(meta.cache.dir, 'models') } } : { ...spec, cache: undefined },
      meta.specDir,
    );
    if (meta.seed !== undefined) for (const [id, model] of models) models.set(id, withSeed(model, meta.seed));
    const backend = FileBackend.open(meta.runDir, { watch: false });
    const { team, timeoutMs } = teamFromSpec(spec, backend, models, meta.specDir);
    const forward = (record: UsageRecord) => options.usage?.record(record);
    team.usage.on('record', forward);
    let summary: RunSummary;
    let records: TaskRecord[];
    try {
      await team.addTasks(specTasks(spec));
      summary = await team.run({ ...(options.signal ? { signal: options.signal } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      records = await team.queue.list();
    } finally {
      team.usage.off('record', forward);
      await team.close();
      await backend.close();
    }
    if (options.signal?.aborted) throw options.signal.reason;
    teamTotals = summary.usage.total;
    const view = viewOf(summary, records, meta.case);
    let scores: ScoreResult[] = [];
    let failure: FailureKind | null = null;
    if (summary.status === 'completed') {
      const judgeModel = (modelSpec: string): LanguageModel => {
        let model = meta.cache?.mode === 'replay' ? replayStandIn(modelSpec) : resolveModel(modelSpec);
        if (meta.cache) model = withCache(model, { mode: meta.cache.mode, dir: path.join(meta.cache.dir, 'judge') });
        return withUsage(model, judgeUsage, { attribution: { teamId: 'judge', taskId: meta.case.id } });
      };
      const forwardJudge = (record: UsageRecord) => options.usage?.record(record);
      judgeUsage.on('record', forwardJudge);
      scores = await scoreCase(meta.scorers, view, {
        case: meta.case,
        cellId: meta.cellId,
        cwd: meta.baseDir,
        judgeModel,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      judgeUsage.off('record', forwardJudge);
      if (scores.some((s) => !s.pass)) failure = 'wrong';
    } else {
      failure = failureOfStatus(summary.status);
    }
    const replayMiss = summary.tasks.find((t) => t.errors.some((e) => e.includes('replay miss')));
    if (replayMiss && failure !== null && failure !== 'wrong') failure = 'replay-miss';
    outcome = {
      ...base(meta, teamTotals, judgeUsage.total()),
      pass: failure === null,
      failure,
      scores,
      status: summary.status,
      reason: summary.reason,
      result: view.result.length > RESULT_CHARS ? `${view.result.slice(0, RESULT_CHARS)}…` : view.result,
      reviewRounds: summary.tasks.filter((t) => t.type === 'review').length,
      wallMs: Date.now() - started,
    };
  } catch (err) {
    if (options.signal?.aborted) throw err;
    outcome = {
      ...base(meta, teamTotals, judgeUsage.total()),
      pass: false,
      failure: err instanceof ReplayMissError ? 'replay-miss' : 'error',
      scores: [],
      status: 'error',
      reason: errorMessage(err),
      result: '',
      reviewRounds: 0,
      wallMs: Date.now() - started,
      error: errorMessage(err),
    };
  }
  return reconcileRecording(meta, outcome);
}

function base(meta: CaseTaskMeta, team: UsageTotals, judge: UsageTotals) {
  return {
    cell: meta.cellId,
    case: meta.case.id,
    calls: team.calls,
    tokens: team.inputTokens + team.outputTokens,
    inputTokens: team.inputTokens,
    outputTokens: team.outputTokens,
    costUsd: roundUsd(team.costUsd),
    unpricedCalls: team.unpricedCalls,
    judge: { calls: judge.calls, tokens: judge.inputTokens + judge.outputTokens, costUsd: roundUsd(judge.costUsd) },
  };
}

function failureOfStatus(status: string): FailureKind {
  if (status === 'timeout') return 'timeout';
  if (status === 'budget_exceeded') return 'budget';
  return 'run-failed';
}

/** Outcome fields a replay must reproduce exactly. */
const REPLAYED_FIELDS = ['pass', 'failure', 'scores', 'status', 'result', 'calls', 'tokens', 'costUsd', 'judge', 'reviewRounds'] as const;

/**
 * Recording: the outcome is kept next to the cell's model recordings.
 * Replaying: the wall time is the recorded one (a replay's own time says
 * nothing about the models), and every other field is checked against the
 * recording; differences are listed in `replayDiff`.
 */
async function reconcileRecording(meta: CaseTaskMeta, outcome: CaseOutcome): Promise<CaseOutcome> {
  if (!meta.cache) return outcome;
  const file = path.join(meta.cache.dir, 'cases', `${meta.case.id}.json`);
  const recorded = meta.cache.mode === 'record' ? undefined : await readRecorded(file);
  if (recorded === undefined) {
    if (meta.cache.mode === 'replay') return { ...outcome, replayDiff: ['no recorded outcome for this case'] };
    await writeAtomic(file, `${JSON.stringify(outcome, null, 2)}\n`);
    return outcome;
  }
  const diff = REPLAYED_FIELDS.filter((f) => JSON.stringify(outcome[f]) !== JSON.stringify(recorded[f]));
  return { ...outcome, wallMs: recorded.wallMs, ...(diff.length > 0 ? { replayDiff: [...diff] } : {}) };
}

async function readRecorded(file: string): Promise<CaseOutcome | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as CaseOutcome;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

export async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, text, 'utf8');
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** What the scorers see: the case's final answer and each task's result. */
function viewOf(summary: RunSummary, records: readonly TaskRecord[], c: CaseSpec): ScoredView {
  const tasks: Record<string, string> = {};
  for (const t of summary.tasks) if (t.status === 'completed' && t.type !== 'review') tasks[t.id] = resultText(t.result);
  let result = '';
  if (c.goal !== undefined) {
    const plan = summary.tasks.find((t) => t.id === 'goal')?.result as { synthesis?: string | null } | undefined;
    if (plan?.synthesis && tasks[plan.synthesis] !== undefined) result = tasks[plan.synthesis] as string;
    else result = sinks(records).map((id) => tasks[id] ?? '').join('\n\n');
  } else if (c.tasks !== undefined) {
    result = sinks(records).map((id) => tasks[id] ?? '').join('\n\n');
  } else {
    result = tasks.case ?? '';
  }
  return { result, json: jsonOf(result), status: summary.status, tasks };
}

/** Work tasks no other work task depends on, in the order the run lists them. */
function sinks(records: readonly TaskRecord[]): string[] {
  const work = records.filter((t) => t.type === 'task' || t.type === 'synthesize');
  const depended = new Set<string>();
  for (const t of work) for (const d of t.dependencies) depended.add(d);
  return work.filter((t) => !depended.has(t.id)).map((t) => t.id);
}

function resultText(result: unknown): string {
  if (result && typeof result === 'object' && 'answer' in result && typeof result.answer === 'string') return result.answer;
  return asText(result);
}

/**
 * MoA proposers and aggregators that name a model resolve it by name when
 * they run: give them this cell's cached (and seeded) version under a name
 * of its own, so their calls are recorded and replayed with the cell's.
 */
function withModelsFor(spec: TeamSpec, meta: CaseTaskMeta): TeamSpec {
  if (!spec.moa?.length || (!meta.cache && meta.seed === undefined)) return spec;
  const wrap = (modelSpec: string): string => {
    const name = `experiment/${createHash('sha256').update(JSON.stringify([meta.cellId, modelSpec, meta.cache, meta.seed])).digest('hex').slice(0, 16)}`;
    let model = meta.cache?.mode === 'replay' ? replayStandIn(modelSpec) : resolveModel(modelSpec);
    if (meta.cache) model = withCache(model, { mode: meta.cache.mode, dir: path.join(meta.cache.dir, 'models') });
    if (meta.seed !== undefined) model = withSeed(model, meta.seed);
    registerModel(name, model);
    return name;
  };
  return {
    ...spec,
    moa: spec.moa.map((m) => ({
      ...m,
      proposers: Array.isArray(m.proposers)
        ? m.proposers.map((p) => (p.model !== undefined ? { ...p, model: wrap(p.model) } : p))
        : m.proposers.model !== undefined
          ? { ...m.proposers, model: wrap(m.proposers.model) }
          : m.proposers,
      ...(m.aggregator ? { aggregator: m.aggregator.model !== undefined ? { ...m.aggregator, model: wrap(m.aggregator.model) } : m.aggregator } : {}),
    })),
  };
}

/**
 * For a replay, a provider's model (anthropic:..., openai:...) is a stand-in
 * with the same id that never reaches the provider, so it needs no key: the
 * cache in front of it answers every call, or fails it as a replay miss.
 * Offline and registered models are used as they are.
 */
export function replayStandIn(modelSpec: string): LanguageModel {
  let parsed: ReturnType<typeof parseModelSpec>;
  try {
    parsed = parseModelSpec(modelSpec);
  } catch {
    return resolveModel(modelSpec); // a registered model
  }
  if (parsed.provider === 'offline') return resolveModel(modelSpec);
  const id = `${parsed.provider}:${parsed.model}`;
  const provider = parsed.provider;
  const refuse = (): never => {
    throw new ModelError(`${id} is not called while replaying: every call must come from the recordings`, { provider, modelId: id });
  };
  return {
    id,
    provider,
    generate: () => Promise.resolve().then(refuse),
    stream: () => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve().then(refuse) }),
    }),
  };
}

/** The agents' provider models as registered replay stand-ins, when replaying (see {@link replayStandIn}). */
function replayModels(spec: TeamSpec, meta: CaseTaskMeta): TeamSpec {
  if (meta.cache?.mode !== 'replay') return spec;
  return {
    ...spec,
    agents: spec.agents.map((agent) => {
      if (agent.model === undefined) return agent;
      const modelSpec = (typeof agent.model === 'string' ? agent.model : agent.model.spec).trim();
      if (/^offline(:|$)/.test(modelSpec)) return agent;
      const name = `replay/${modelSpec}`;
      registerModel(name, replayStandIn(modelSpec));
      return { ...agent, model: name };
    }),
  };
}

/**
 * Passes `seed` on every request: providers that take one use it, the offline
 * model and the cache key include it. A request that has its own seed (a MoA
 * proposer's) gets one mixed from both, so its proposers stay distinct.
 */
export function withSeed(model: LanguageModel, seed: number): LanguageModel {
  const seeded = (request: GenerateRequest): GenerateRequest => ({
    ...request,
    seed: request.seed === undefined ? seed : (seed * 1_000_003 + request.seed) % 2_147_483_647,
  });
  return {
    id: model.id,
    provider: model.provider,
    generate: (request) => model.generate(seeded(request)),
    stream: (request) => model.stream(seeded(request)),
  };
}

function emptyTotals(): UsageTotals {
  return { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cacheSavingsUsd: 0 };
}

function roundUsd(v: number): number {
  return Math.round(v * 1e9) / 1e9;
}

import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { type ClaimFilter, FileBackend, type TaskInput, type TaskRecord, ValidationError, errorMessage, openBackend } from '@agent-team/core';
import { Agent } from '../agent/agent.js';
import { resolveModel } from '../agent/model-registry.js';
import { buildModels } from '../cli/build-team.js';
import type { TaskContext } from '../agent/task-context.js';
import { UsageTracker, offlineModel } from '../models/index.js';
import { AgentTeam } from '../team/agent-team.js';
import { type CaseOutcome, type CaseTaskMeta, runCase, writeAtomic } from './case-runner.js';
import { type Matrix, type ScorerSpec, loadMatrix } from './matrix.js';
import type { TeamSpec } from '../cli/spec.js';
import { ModelConfigError, ModelError } from '../models/errors.js';
import { plotSvg, reportMarkdown } from './report.js';
import { type ExperimentSummary, summarize } from './summary.js';

/** The task type of one case of one cell on the experiment's queue. */
export const CASE_TASK_TYPE = 'experiment-case';

export interface ExperimentOptions {
  /** The experiment's folder: `queue/` (the case tasks), `runs/` (each case's workspace), `results/`. @default the matrix's `workspace`, else `<matrix folder>/experiments/<name>` */
  workspace?: string;
  /** Answer every model call from the cell's recordings: no key, no network. Runs in a fresh `<workspace>-replay` unless `workspace` is given. */
  replay?: boolean;
  /** Run (again) only this cell, in `<workspace>/cells/<id>` (started afresh). */
  cell?: string;
  /** Cases at once in this process. @default the matrix's concurrency */
  concurrency?: number;
  signal?: AbortSignal;
  /** Each case's outcome as it lands (this process's cases). */
  onCase?: (outcome: CaseOutcome) => void;
  /** An id for this process's runner agent. @default runner-<pid> */
  agentId?: string;
  /**
   * A `redis://` URL for the experiment's queue instead of `<workspace>/queue`,
   * so runners on other machines share the run (`agent-team worker --experiment
   * --backend <url> --namespace <ns>`). Case workspaces, recordings and results
   * stay in folders: give every machine the same paths (a shared filesystem)
   * for the recordings and the matrix's folder.
   */
  backend?: string;
  /** The experiment's keys in a shared Redis. @default experiment-<name> */
  namespace?: string;
}

export interface ExperimentResult {
  summary: ExperimentSummary;
  /** Every case outcome, in cell then case order. */
  outcomes: CaseOutcome[];
  /** Where outcomes.jsonl, summary.json and report.md were written. */
  resultsDir: string;
  /** The experiment folder used. */
  workspace: string;
}

/**
 * Takes the experiment's case tasks: each runs one case of one cell in its
 * own workspace and returns its scored outcome. Everything it needs is in
 * the task, so any process with a runner (another `agent-team experiment`, or
 * `agent-team worker --experiment`) can take part.
 */
export class ExperimentRunnerAgent extends Agent {
  constructor(
    id: string,
    options: { concurrency?: number; usage?: UsageTracker; onCase?: (outcome: CaseOutcome) => void } = {},
  ) {
    // The runner makes no model calls of its own: the case's team does. The model here only names it.
    super(id, 'worker', offlineModel({ id: 'experiment-runner' }), {
      types: [CASE_TASK_TYPE],
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    });
    this.usage = options.usage;
    this.onCase = options.onCase;
  }

  private readonly usage: UsageTracker | undefined;
  private readonly onCase: ((outcome: CaseOutcome) => void) | undefined;
  /**
   * Why this runner stopped taking cases: it cannot build a model a case
   * names (no key here, say). The case goes back to the queue for a runner
   * that can, instead of being scored as an error.
   */
  refusal: string | null = null;

  override claimFilter(): ClaimFilter {
    // Once refused, it takes nothing more (a type no task has).
    return this.refusal ? { types: ['experiment-case-refused'], capabilities: [], acceptUnrequired: false } : super.claimFilter();
  }

  override async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
    const meta = task.metadata.experiment as CaseTaskMeta | undefined;
    if (!meta || typeof meta !== 'object') throw new ValidationError(`task ${task.id} is not an experiment case (no metadata.experiment)`);
    if (meta.cache?.mode !== 'replay') {
      try {
        checkCellModels(meta.spec, meta.specDir, meta.scorers);
      } catch (err) {
        if (!(err instanceof ModelConfigError || err instanceof ValidationError)) throw err;
        this.refusal = `cell ${meta.cellId}: ${errorMessage(err)}`;
        throw new ModelError(`runner ${this.id} cannot run cell ${meta.cellId} here (${errorMessage(err)}); the case goes back to the queue`, {
          provider: 'experiment',
          modelId: 'experiment-runner',
          isRetryable: true,
        });
      }
    }
    const outcome = await runCase(meta, { signal: ctx.signal, ...(this.usage ? { usage: this.usage } : {}) });
    this.onCase?.(outcome);
    return outcome;
  }
}

/** The experiment folder a matrix and options resolve to. */
export function experimentDir(matrix: Matrix, options: Pick<ExperimentOptions, 'workspace' | 'replay' | 'cell'>): { dir: string; fresh: boolean } {
  let dir = options.workspace ? path.resolve(options.workspace) : (matrix.workspace ?? path.join(matrix.baseDir, 'experiments', matrix.name));
  let fresh = false;
  if (options.replay && !options.workspace) {
    dir = `${dir}-replay`;
    fresh = true;
  }
  if (options.cell) {
    dir = path.join(dir, 'cells', options.cell);
    fresh = true;
  }
  return { dir, fresh };
}

/** The case tasks of a matrix, case by case across cells (so a run cut short has every cell at about the same depth). */
export function caseTasks(matrix: Matrix, dir: string, options: Pick<ExperimentOptions, 'replay' | 'cell'> = {}): TaskInput[] {
  const mode = options.replay ? 'replay' : matrix.cache?.mode;
  if (options.replay && !matrix.cache) {
    throw new ValidationError(`${matrix.file}: --replay needs recordings: set cache: { mode: record, dir: ./experiment-cache } and run once`);
  }
  const cells = options.cell ? matrix.cells.filter((c) => c.id === options.cell) : matrix.cells;
  if (options.cell && cells.length === 0) {
    throw new ValidationError(`no cell "${options.cell}" in ${matrix.file}; its cells are: ${matrix.cells.map((c) => c.id).join(', ')}`);
  }
  const inputs: TaskInput[] = [];
  matrix.cases.forEach((c, caseIndex) => {
    for (const cell of cells) {
      const cellIndex = matrix.cells.indexOf(cell);
      const meta: CaseTaskMeta = {
        experiment: matrix.name,
        cellId: cell.id,
        cellIndex,
        settings: cell.settings,
        caseIndex,
        case: c,
        spec: cell.spec,
        specDir: matrix.specDir,
        baseDir: matrix.baseDir,
        scorers: matrix.scorers,
        ...(cell.seed !== undefined ? { seed: cell.seed } : {}),
        cache: matrix.cache && mode && mode !== 'off' ? { mode, dir: path.join(matrix.cache.dir, cell.id) } : null,
        runDir: path.join(dir, 'runs', cell.id, c.id),
      };
      // The id and key carry a digest of everything the case runs with: edit the spec, a scorer or
      // the case, and a resumed run runs it again instead of keeping an outcome of something else.
      const version = createHash('sha256').update(JSON.stringify(meta)).digest('hex').slice(0, 8);
      inputs.push({
        id: `k${cellIndex + 1}-${c.id}-${version}`,
        type: CASE_TASK_TYPE,
        description: `Experiment ${matrix.name}: case "${c.id}" in cell ${cell.id}`,
        idempotencyKey: `experiment:${matrix.name}:${cell.id}:${c.id}:${version}`,
        // A case that errors is an outcome (failure "error"), not a retry; only a lost process's case runs again.
        maxAttempts: 5,
        leaseMs: matrix.leaseMs,
        metadata: { experiment: meta },
      });
    }
  });
  return inputs;
}

/**
 * Runs an experiment: every cell of the matrix on every case, as tasks on
 * the experiment's own queue (so other processes can share the work, and a
 * killed run resumes: completed cases are kept, the rest run), then writes
 * the results folder and returns the summary.
 *
 * @example
 * const { summary } = await runExperiment('experiments/review.yaml');
 * for (const cell of summary.cells) console.log(cell.id, cell.passRate, cell.ci95);
 */
export async function runExperiment(matrixOrFile: Matrix | string, options: ExperimentOptions = {}): Promise<ExperimentResult> {
  const matrix = typeof matrixOrFile === 'string' ? loadMatrix(matrixOrFile) : matrixOrFile;
  const { dir, fresh } = experimentDir(matrix, options);
  if (options.backend && (options.replay || options.cell)) {
    throw new ValidationError('--replay and --cell run in a fresh folder of their own: run them without --backend');
  }
  const inputs = caseTasks(matrix, dir, options);
  if (!options.replay && matrix.cache?.mode !== 'replay') checkModels(matrix, options.cell);
  if (fresh) await rm(dir, { recursive: true, force: true });
  const backend = options.backend
    ? await openBackend(options.backend, { namespace: options.namespace ?? `experiment-${matrix.name}` })
    : FileBackend.open(path.join(dir, 'queue'));
  const usage = new UsageTracker();
  const team = new AgentTeam({
    backend,
    teamId: 'experiment',
    usage,
    leaseMs: matrix.leaseMs,
    retry: { baseMs: 100, maxMs: 2000 },
    ...(matrix.budget ? { budget: matrix.budget } : {}),
  });
  try {
    await team.addTasks(inputs);
    const ids = new Set(inputs.map((t) => t.id as string));
    // A resumed run's budget counts what the cases completed before it spent.
    const before = (await team.queue.list({ type: CASE_TASK_TYPE })).filter((t) => ids.has(t.id) && t.status === 'completed');
    const spent = before.map((t) => t.result as CaseOutcome).reduce(
      (acc, o) => ({ tokens: acc.tokens + o.tokens + o.judge.tokens, usd: acc.usd + o.costUsd + o.judge.costUsd }),
      { tokens: 0, usd: 0 },
    );
    if (spent.tokens > 0 || spent.usd > 0) {
      usage.record({
        modelId: 'experiment:earlier-cases',
        provider: 'experiment',
        model: 'earlier-cases',
        purpose: 'resume',
        attribution: { teamId: 'experiment' },
        usage: { inputTokens: spent.tokens, outputTokens: 0 },
        costUsd: spent.usd,
        durationMs: 0,
        at: Date.now(),
        cached: true,
      });
    }
    // Case usage is recorded under the experiment's team id, so the team's budget sees it.
    const forward = new UsageTracker();
    forward.on('record', (r) => usage.record({ ...r, attribution: { ...r.attribution, teamId: 'experiment' } }));
    team.addAgent(
      new ExperimentRunnerAgent(options.agentId ?? `runner-${process.pid}`, {
        concurrency: options.concurrency ?? matrix.concurrency,
        usage: forward,
        ...(options.onCase ? { onCase: options.onCase } : {}),
      }),
    );
    const run = await team.run({ ...(options.signal ? { signal: options.signal } : {}) });
    const records = (await team.queue.list({ type: CASE_TASK_TYPE })).filter((t) => ids.has(t.id));
    const outcomes = records
      .filter((t) => t.status === 'completed')
      .map((t) => t.result as CaseOutcome)
      .sort((x, y) => cellOrder(matrix, x.cell) - cellOrder(matrix, y.cell) || caseOrder(matrix, x.case) - caseOrder(matrix, y.case));
    const stoppedBy = run.status === 'completed' || run.status === 'failed' || run.status === 'stalled' ? null : run.reason;
    const cells = options.cell ? matrix.cells.filter((c) => c.id === options.cell) : matrix.cells;
    const summary = summarize(matrix.name, cells, matrix.cases.map((c) => c.id), outcomes, stoppedBy ?? firstFailure(records));
    const resultsDir = path.join(dir, 'results');
    await writeResults(resultsDir, summary, outcomes);
    return { summary, outcomes, resultsDir, workspace: dir };
  } finally {
    await team.close();
    await backend.close();
  }
}

/**
 * Builds every model the run will use once (agents, named MoA models,
 * judges), so a missing key or a bad model spec is refused before anything
 * runs, as `agent-team run` does. Nothing is called.
 */
function checkModels(matrix: Matrix, cell: string | undefined): void {
  for (const c of matrix.cells) if (cell === undefined || c.id === cell) checkCellModels(c.spec, matrix.specDir, matrix.scorers);
}

/** Builds a cell's models (agents, named MoA models, judges) without calling them; throws what building throws. */
function checkCellModels(spec: TeamSpec, specDir: string, scorers: readonly ScorerSpec[]): void {
  buildModels({ ...spec, cache: undefined }, specDir);
  for (const m of spec.moa ?? []) {
    const named = [...(Array.isArray(m.proposers) ? m.proposers.map((p) => p.model) : [m.proposers.model]), m.aggregator?.model];
    for (const s of named) if (s !== undefined) resolveModel(s);
  }
  for (const s of scorers) if (s.kind === 'judge') resolveModel(s.model);
}

function firstFailure(records: readonly TaskRecord[]): string | null {
  const failed = records.find((t) => t.status === 'failed' || t.status === 'cancelled' || t.status === 'blocked');
  return failed ? `case task ${failed.id} ${failed.status}: ${failed.reason ?? ''}`.trim() : 'not every case ran';
}

function cellOrder(matrix: Matrix, id: string): number {
  return matrix.cells.findIndex((c) => c.id === id);
}

function caseOrder(matrix: Matrix, id: string): number {
  return matrix.cases.findIndex((c) => c.id === id);
}

/** outcomes.jsonl (one line per case, in cell then case order), summary.json, report.md and plot.svg, each written atomically. */
export async function writeResults(dir: string, summary: ExperimentSummary, outcomes: readonly CaseOutcome[]): Promise<void> {
  await writeAtomic(path.join(dir, 'outcomes.jsonl'), outcomes.map((o) => `${JSON.stringify(o)}\n`).join(''));
  await writeAtomic(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeAtomic(path.join(dir, 'report.md'), reportMarkdown(summary, outcomes));
  // The plot on its own too: renderers that drop inline SVG (GitHub's) show it as an image.
  await writeAtomic(path.join(dir, 'plot.svg'), `${plotSvg(summary)}\n`);
}

// Scripted experiments: a team spec across models, seeds and settings, scored, compared and replayable (docs/experiments.md).
// Importing the package loads none of the matrix parser (zod, yaml) or the runner: they load on first use.
import type { ExperimentOptions, ExperimentResult } from './runner.js';
import type { Matrix } from './matrix.js';

export type { Matrix, Cell, CaseSpec, ScorerSpec, AxisValue } from './matrix.js';
export type { CaseOutcome, CaseTaskMeta, FailureKind } from './case-runner.js';
export type { ScoreResult, ScoredView } from './scorers.js';
export type { ExperimentOptions, ExperimentResult } from './runner.js';
export { MatrixError } from './errors.js';
export { specForCase } from './case-input.js';
export { summarize, type ExperimentSummary, type CellSummary, type Comparison } from './summary.js';
export { wilsonInterval, mcnemarExact, pairedDifferenceInterval, holmAdjust, percentile, Z95 } from './stats.js';
export { reportMarkdown, plotSvg } from './report.js';
export { planExperiment, formatPlan, type ExperimentPlan } from './dry-run.js';

/**
 * Runs an experiment from a matrix file (or a loaded {@link Matrix}): every
 * cell on every case, as tasks on the experiment's own queue, then writes
 * `results/` (outcomes.jsonl, summary.json, report.md). See docs/experiments.md.
 *
 * @example
 * const { summary } = await runExperiment('experiments/review.yaml');
 * for (const cell of summary.cells) console.log(cell.id, cell.passRate, cell.ci95);
 */
export async function runExperiment(matrix: Matrix | string, options: ExperimentOptions = {}): Promise<ExperimentResult> {
  const { runExperiment: run } = await import('./runner.js');
  return run(matrix, options);
}

/** Reads and validates a matrix file, its spec and its cases; rejects with a {@link MatrixError} naming each bad field. */
export async function loadMatrix(file: string): Promise<Matrix> {
  const { loadMatrix: load } = await import('./matrix.js');
  return load(file);
}

/** Validates a matrix given as data; relative paths resolve from `baseDir`. */
export async function validateMatrix(data: unknown, options: { file?: string; baseDir?: string; name?: string } = {}): Promise<Matrix> {
  const { validateMatrix: validate } = await import('./matrix.js');
  return validate(data, options);
}

// Scripted experiments: a team spec across models, seeds and settings, scored, compared and replayable (docs/experiments.md).
export { loadMatrix, validateMatrix, applyOverrides, specForCase, cellIdOf, MatrixError, type Matrix, type Cell, type CaseSpec, type ScorerSpec, type AxisValue } from './matrix.js';
export { runCase, withSeed, type CaseOutcome, type CaseTaskMeta, type FailureKind, type RunCaseOptions } from './case-runner.js';
export { scoreCase, fieldValue, JUDGE_SCHEMA, type ScoreResult, type ScoredView, type ScoreContext } from './scorers.js';
export { summarize, type ExperimentSummary, type CellSummary, type Comparison } from './summary.js';
export { wilsonInterval, mcnemarExact, holmAdjust, percentile, Z95 } from './stats.js';
export { reportMarkdown, plotSvg } from './report.js';
export { runExperiment, ExperimentRunnerAgent, CASE_TASK_TYPE, caseTasks, experimentDir, writeResults, type ExperimentOptions, type ExperimentResult } from './runner.js';
export { planExperiment, formatPlan, type ExperimentPlan } from './dry-run.js';

import type { CaseOutcome, FailureKind } from './case-runner.js';
import type { AxisValue } from './matrix.js';
import { holmAdjust, mcnemarExact, pairedDifferenceInterval, percentile, round, wilsonInterval } from './stats.js';

export interface CellSummary {
  id: string;
  settings: Record<string, AxisValue>;
  /** Cases with an outcome. */
  cases: number;
  /** Cases the cell should run. */
  planned: number;
  passed: number;
  /** passed / cases, or null with no case. */
  passRate: number | null;
  /** Wilson 95% interval of the pass rate, or null with no case. */
  ci95: [number, number] | null;
  /** Team tokens (input + output) over the cases; the judge's are in `judge`. */
  tokens: number;
  costUsd: number;
  calls: number;
  /** Calls whose model has no price: their cost is not in costUsd. */
  unpricedCalls: number;
  /** Sum of the cases' wall times. */
  wallMs: number;
  wallMsP50: number | null;
  wallMsP95: number | null;
  reviewRounds: number;
  failures: Partial<Record<FailureKind, number>>;
  /** Cases each scorer passed. */
  scorers: Record<string, number>;
  judge: { calls: number; tokens: number; costUsd: number };
  /** Fewer outcomes than planned. */
  partial: boolean;
}

export interface Comparison {
  a: string;
  b: string;
  /** Cases both cells have an outcome for. */
  shared: number;
  passRateA: number | null;
  passRateB: number | null;
  /** passRateA - passRateB over the shared cases. */
  difference: number | null;
  /** Newcombe's 95% interval of the difference (paired), or null with no shared case. */
  ci95: [number, number] | null;
  /** Shared cases A passed and B failed. */
  onlyA: number;
  /** Shared cases B passed and A failed. */
  onlyB: number;
  test: 'mcnemar-exact';
  pValue: number;
  /** Holm-adjusted over all comparisons of the summary. */
  pHolm: number;
}

export interface ExperimentSummary {
  format: 'agent-team.experiment-summary';
  version: 1;
  experiment: string;
  /** complete: every planned case has an outcome; partial: the run stopped early (budget, abort). */
  status: 'complete' | 'partial';
  stoppedBy: string | null;
  cases: number;
  cells: CellSummary[];
  comparisons: Comparison[];
  /** Replaying: cases whose re-run differs from the recording. */
  replayMismatches?: Array<{ cell: string; case: string; fields: string[] }>;
}

/**
 * The summary of a run: one entry per cell (in matrix order) and one
 * comparison per pair of cells. Built only from outcomes (never from clocks
 * or hosts), so a replay of a recorded run gives the same bytes.
 */
export function summarize(
  experiment: string,
  cells: ReadonlyArray<{ id: string; settings: Record<string, AxisValue> }>,
  caseIds: readonly string[],
  outcomes: readonly CaseOutcome[],
  stoppedBy: string | null,
): ExperimentSummary {
  const byCell = new Map<string, Map<string, CaseOutcome>>();
  for (const o of outcomes) {
    let m = byCell.get(o.cell);
    if (!m) byCell.set(o.cell, (m = new Map<string, CaseOutcome>()));
    m.set(o.case, o);
  }
  const cellSummaries = cells.map((cell) => cellSummary(cell, caseIds, byCell.get(cell.id) ?? new Map<string, CaseOutcome>()));
  const pairs: Array<Omit<Comparison, 'pHolm'>> = [];
  for (let i = 0; i < cells.length; i++) {
    for (let j = i + 1; j < cells.length; j++) {
      pairs.push(compare(cells[i]?.id as string, cells[j]?.id as string, caseIds, byCell));
    }
  }
  const adjusted = holmAdjust(pairs.map((p) => p.pValue));
  const comparisons = pairs.map((p, i) => ({ ...p, pHolm: round(adjusted[i] as number) }));
  const complete = cellSummaries.every((c) => !c.partial);
  const mismatches = outcomes.filter((o) => o.replayDiff?.length).map((o) => ({ cell: o.cell, case: o.case, fields: o.replayDiff as string[] }));
  return {
    format: 'agent-team.experiment-summary',
    version: 1,
    experiment,
    status: complete ? 'complete' : 'partial',
    stoppedBy: complete ? null : stoppedBy,
    cases: caseIds.length,
    cells: cellSummaries,
    comparisons,
    ...(mismatches.length > 0 ? { replayMismatches: mismatches } : {}),
  };
}

function cellSummary(cell: { id: string; settings: Record<string, AxisValue> }, caseIds: readonly string[], outcomes: Map<string, CaseOutcome>): CellSummary {
  const list = caseIds.map((id) => outcomes.get(id)).filter((o): o is CaseOutcome => o !== undefined);
  const passed = list.filter((o) => o.pass).length;
  const failures: Partial<Record<FailureKind, number>> = {};
  for (const o of list) if (o.failure) failures[o.failure] = (failures[o.failure] ?? 0) + 1;
  const scorers: Record<string, number> = {};
  for (const o of list) for (const s of o.scores) scorers[s.id] = (scorers[s.id] ?? 0) + (s.pass ? 1 : 0);
  const walls = list.map((o) => o.wallMs);
  const sum = (f: (o: CaseOutcome) => number) => list.reduce((acc, o) => acc + f(o), 0);
  const ci = list.length > 0 ? wilsonInterval(passed, list.length) : null;
  return {
    id: cell.id,
    settings: cell.settings,
    cases: list.length,
    planned: caseIds.length,
    passed,
    passRate: list.length > 0 ? round(passed / list.length) : null,
    ci95: ci ? [round(ci[0]), round(ci[1])] : null,
    tokens: sum((o) => o.tokens),
    costUsd: round(sum((o) => o.costUsd), 9),
    calls: sum((o) => o.calls),
    unpricedCalls: sum((o) => o.unpricedCalls),
    wallMs: sum((o) => o.wallMs),
    wallMsP50: percentile(walls, 50),
    wallMsP95: percentile(walls, 95),
    reviewRounds: sum((o) => o.reviewRounds),
    failures,
    scorers,
    judge: { calls: sum((o) => o.judge.calls), tokens: sum((o) => o.judge.tokens), costUsd: round(sum((o) => o.judge.costUsd), 9) },
    partial: list.length < caseIds.length,
  };
}

function compare(a: string, b: string, caseIds: readonly string[], byCell: Map<string, Map<string, CaseOutcome>>): Omit<Comparison, 'pHolm'> {
  const A = byCell.get(a) ?? new Map<string, CaseOutcome>();
  const B = byCell.get(b) ?? new Map<string, CaseOutcome>();
  let shared = 0;
  let passA = 0;
  let passB = 0;
  let onlyA = 0;
  let onlyB = 0;
  let both = 0;
  for (const id of caseIds) {
    const x = A.get(id);
    const y = B.get(id);
    if (!x || !y) continue;
    shared += 1;
    if (x.pass) passA += 1;
    if (y.pass) passB += 1;
    if (x.pass && !y.pass) onlyA += 1;
    if (!x.pass && y.pass) onlyB += 1;
    if (x.pass && y.pass) both += 1;
  }
  const ci = shared > 0 ? pairedDifferenceInterval(both, onlyA, onlyB, shared - both - onlyA - onlyB) : null;
  return {
    a,
    b,
    shared,
    passRateA: shared > 0 ? round(passA / shared) : null,
    passRateB: shared > 0 ? round(passB / shared) : null,
    difference: shared > 0 ? round((passA - passB) / shared) : null,
    ci95: ci ? [round(ci[0]), round(ci[1])] : null,
    onlyA,
    onlyB,
    test: 'mcnemar-exact',
    pValue: round(mcnemarExact(onlyA, onlyB)),
  };
}

import type { AgentSpec, TeamSpec } from '../cli/spec.js';
import { costOf } from '../models/index.js';
import { specForCase } from './case-input.js';
import type { CaseSpec, Matrix } from './matrix.js';

/** What a run would do, before it spends anything. */
export interface ExperimentPlan {
  experiment: string;
  cases: number;
  cells: Array<{
    id: string;
    settings: Record<string, unknown>;
    cases: number;
    /** Expected model calls (team and judge). */
    calls: number;
    inputTokens: number;
    outputTokens: number;
    /** Estimated USD, or null when a model of the cell has no price. */
    costUsd: number | null;
    /** Models with no price in the table. */
    unpriced: string[];
  }>;
  calls: number;
  /** Sum over priced cells; see `unpriced`. */
  costUsd: number;
  unpriced: string[];
  /** What the estimate takes for granted. */
  assumptions: string[];
}

/** Tasks a lead is assumed to plan for a goal (the real number is the model's choice). */
const PLANNED_TASKS = 4;
/** Tokens an answer is assumed to have (capped by the agent's maxTokens). */
const ANSWER_TOKENS = 500;
/** Tokens of system prompt and framing per call. */
const FRAME_TOKENS = 400;

/** Cells, expected model calls and an estimated cost from the price table, without running anything. */
export function planExperiment(matrix: Matrix, options: { cell?: string } = {}): ExperimentPlan {
  const cells = options.cell ? matrix.cells.filter((c) => c.id === options.cell) : matrix.cells;
  const judges = matrix.scorers.filter((s) => s.kind === 'judge');
  const allUnpriced = new Set<string>();
  const out = cells.map((cell) => {
    const calls: Array<{ model: string; input: number; output: number }> = [];
    for (const c of matrix.cases) {
      calls.push(...caseCalls(specForCase(cell.spec, c), c));
      for (const j of judges) calls.push({ model: j.model, input: FRAME_TOKENS + tokens(caseText(c)) + ANSWER_TOKENS, output: 100 });
    }
    let cost = 0;
    const unpriced = new Set<string>();
    for (const call of calls) {
      const usd = call.model.startsWith('offline') ? 0 : costOf(call.model, { inputTokens: call.input, outputTokens: call.output });
      if (usd === null) unpriced.add(call.model);
      else cost += usd;
    }
    for (const u of unpriced) allUnpriced.add(u);
    return {
      id: cell.id,
      settings: cell.settings,
      cases: matrix.cases.length,
      calls: calls.length,
      inputTokens: calls.reduce((a, c) => a + c.input, 0),
      outputTokens: calls.reduce((a, c) => a + c.output, 0),
      costUsd: unpriced.size > 0 ? null : Math.round(cost * 1e6) / 1e6,
      unpriced: [...unpriced],
    };
  });
  return {
    experiment: matrix.name,
    cases: matrix.cases.length,
    cells: out,
    calls: out.reduce((a, c) => a + c.calls, 0),
    costUsd: Math.round(out.reduce((a, c) => a + (c.costUsd ?? 0), 0) * 1e6) / 1e6,
    unpriced: [...allUnpriced],
    assumptions: [
      `a goal is planned into ${PLANNED_TASKS} tasks, plus the plan and the synthesis`,
      `every answer is ${ANSWER_TOKENS} tokens (or the agent's maxTokens if lower), every prompt ${FRAME_TOKENS} tokens of framing plus its text`,
      'no review asks for changes, no call is retried, nothing is served from recordings',
    ],
  };
}

function caseCalls(spec: TeamSpec, c: CaseSpec): Array<{ model: string; input: number; output: number }> {
  const byRole = (role: string) => spec.agents.find((a) => a.role === role && a.model !== undefined);
  const modelOf = (a: AgentSpec | undefined) => (a?.model === undefined ? 'offline' : typeof a.model === 'string' ? a.model : a.model.spec);
  const out = (a: AgentSpec | undefined) => Math.min(ANSWER_TOKENS, a?.maxTokens ?? ANSWER_TOKENS);
  const worker = byRole('worker') ?? byRole('specialist');
  const lead = byRole('lead');
  const reviewer = byRole('reviewer');
  const prompt = tokens(caseText(c));
  const calls: Array<{ model: string; input: number; output: number }> = [];
  const work = (n: number, reviewed: number) => {
    for (let i = 0; i < n; i++) calls.push({ model: modelOf(worker), input: FRAME_TOKENS + prompt, output: out(worker) });
    for (let i = 0; i < reviewed; i++) calls.push({ model: modelOf(reviewer), input: FRAME_TOKENS + prompt + out(worker), output: 150 });
  };
  if (spec.goal !== undefined) {
    calls.push({ model: modelOf(lead), input: FRAME_TOKENS + prompt, output: 300 });
    work(PLANNED_TASKS, 0);
    calls.push({ model: modelOf(lead), input: FRAME_TOKENS + prompt + PLANNED_TASKS * out(worker), output: out(lead) });
  } else if (spec.tasks !== undefined) {
    work(spec.tasks.length, spec.tasks.filter((t) => t.review).length);
  } else {
    for (const m of spec.moa ?? []) {
      const proposers = Array.isArray(m.proposers)
        ? m.proposers.map((p) => p.model ?? modelOf(worker))
        : Array.from({ length: m.proposers.samples }, () => (m.proposers as { model?: string }).model ?? modelOf(worker));
      const layers = m.layers ?? 1;
      for (let l = 0; l < layers; l++) {
        for (const p of proposers) calls.push({ model: p, input: FRAME_TOKENS + prompt + (l > 0 ? proposers.length * ANSWER_TOKENS : 0), output: ANSWER_TOKENS });
      }
      calls.push({ model: m.aggregator?.model ?? modelOf(lead), input: FRAME_TOKENS + prompt + proposers.length * ANSWER_TOKENS, output: out(lead) });
    }
  }
  return calls;
}

function caseText(c: CaseSpec): string {
  return c.goal ?? c.task ?? c.moa ?? JSON.stringify(c.tasks ?? '');
}

function tokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The plan as text for a terminal. */
export function formatPlan(plan: ExperimentPlan): string {
  const lines = [`Experiment ${plan.experiment}: ${plan.cells.length} cells × ${plan.cases} cases = ${plan.cells.length * plan.cases} case runs`, ''];
  const w = Math.max(4, ...plan.cells.map((c) => c.id.length));
  lines.push(`${'cell'.padEnd(w)}  ${'calls'.padStart(6)}  ${'tokens in'.padStart(10)}  ${'tokens out'.padStart(10)}  est. cost`);
  for (const c of plan.cells) {
    lines.push(
      `${c.id.padEnd(w)}  ${String(c.calls).padStart(6)}  ${String(c.inputTokens).padStart(10)}  ${String(c.outputTokens).padStart(10)}  ${c.costUsd === null ? `unpriced (${c.unpriced.join(', ')})` : `$${c.costUsd.toFixed(4)}`}`,
    );
  }
  lines.push('', `Total: ${plan.calls} model calls, about $${plan.costUsd.toFixed(4)}${plan.unpriced.length ? ` plus unpriced models (${plan.unpriced.join(', ')})` : ''}.`);
  lines.push(`Assumed: ${plan.assumptions.join('; ')}.`);
  return lines.join('\n');
}

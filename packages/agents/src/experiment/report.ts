import type { CaseOutcome } from './case-runner.js';
import type { ExperimentSummary } from './summary.js';

/** Cases listed one by one in the report up to this many (the JSONL has them all). */
const CASE_ROWS = 200;

/**
 * The experiment's report in Markdown: the cells in a table, the paired
 * comparisons, failures by kind, and a cost-versus-score plot as inline SVG
 * (tokens on the x axis when no cell has a price).
 */
export function reportMarkdown(summary: ExperimentSummary, outcomes: readonly CaseOutcome[] = []): string {
  const lines: string[] = [];
  lines.push(`# Experiment ${summary.experiment}`, '');
  lines.push(
    summary.status === 'complete'
      ? `Complete: ${summary.cells.length} cells × ${summary.cases} cases.`
      : `**Partial**: ${summary.stoppedBy ?? 'not every case ran'}. Cells below count the cases that ran.`,
    '',
  );
  lines.push('| cell | settings | passed | pass rate | 95% CI (Wilson) | tokens | cost (USD) | wall p50 / p95 (s) | review rounds | failures |');
  lines.push('|---|---|---:|---:|---|---:|---:|---|---:|---|');
  for (const c of summary.cells) {
    const settings = Object.entries(c.settings).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') || '-';
    const failures = Object.entries(c.failures).map(([k, n]) => `${k} ${n}`).join(', ') || '-';
    lines.push(
      `| ${esc(c.id)} | ${esc(settings)} | ${c.passed}/${c.cases}${c.partial ? ` of ${c.planned}` : ''} | ${pct(c.passRate)} | ${c.ci95 ? `${pct(c.ci95[0])} – ${pct(c.ci95[1])}` : '-'} | ${c.tokens} | ${usd(c.costUsd)}${c.unpricedCalls ? ` (+${c.unpricedCalls} unpriced calls)` : ''} | ${sec(c.wallMsP50)} / ${sec(c.wallMsP95)} | ${c.reviewRounds} | ${esc(failures)} |`,
    );
  }
  const judged = summary.cells.filter((c) => c.judge.calls > 0);
  if (judged.length > 0) {
    lines.push('', `Judge calls (not in the table's tokens and cost): ${judged.map((c) => `${c.id} ${c.judge.tokens} tokens, ${usd(c.judge.costUsd)}`).join('; ')}.`);
  }
  if (summary.comparisons.length > 0) {
    lines.push('', '## Comparisons', '');
    lines.push("Pairs of cells on the cases both ran: the difference in pass rate with Newcombe's paired interval, and McNemar's exact test on the cases where they disagree; p (Holm) is adjusted for the number of comparisons.", '');
    lines.push('| A | B | shared | A − B | 95% CI (Newcombe) | A only | B only | p | p (Holm) |');
    lines.push('|---|---|---:|---:|---|---:|---:|---:|---:|');
    for (const p of summary.comparisons) {
      lines.push(`| ${esc(p.a)} | ${esc(p.b)} | ${p.shared} | ${p.difference === null ? '-' : `${p.difference >= 0 ? '+' : ''}${(p.difference * 100).toFixed(1)} pts`} | ${p.ci95 ? `${(p.ci95[0] * 100).toFixed(1)} to ${(p.ci95[1] * 100).toFixed(1)} pts` : '-'} | ${p.onlyA} | ${p.onlyB} | ${p.pValue.toFixed(4)} | ${p.pHolm.toFixed(4)}${p.pHolm < 0.05 ? ' *' : ''} |`);
    }
  }
  if (summary.replayMismatches?.length) {
    lines.push('', '## Replay mismatches', '');
    for (const m of summary.replayMismatches) lines.push(`- ${m.cell} / ${m.case}: ${m.fields.join(', ')}`);
  }
  if (outcomes.length > 0) lines.push('', ...caseGrid(summary, outcomes));
  lines.push('', '## Cost and score', '', '![cost and score](plot.svg)', '', plotSvg(summary), '');
  return `${lines.join('\n')}\n`;
}

/** Every case against every cell: where each passed, and how each failure failed, for error analysis. */
function caseGrid(summary: ExperimentSummary, outcomes: readonly CaseOutcome[]): string[] {
  const byKey = new Map(outcomes.map((o) => [`${o.cell}\u0000${o.case}`, o]));
  const caseIds = [...new Set(outcomes.map((o) => o.case))];
  const cells = summary.cells.map((c) => c.id);
  const lines = ['## Cases', '', `Pass (✓) or the kind of failure, per case and cell${caseIds.length > CASE_ROWS ? ` (the first ${CASE_ROWS} of ${caseIds.length} cases; outcomes.jsonl has them all)` : ''}.`, ''];
  lines.push(`| case | ${cells.map((c, i) => `${i + 1}`).join(' | ')} | passed |`);
  lines.push(`|---|${cells.map(() => ':---:').join('|')}|---:|`);
  for (const id of caseIds.slice(0, CASE_ROWS)) {
    const marks = cells.map((c) => {
      const o = byKey.get(`${c}\u0000${id}`);
      return o === undefined ? '·' : o.pass ? '✓' : (o.failure ?? '✗');
    });
    lines.push(`| ${esc(id)} | ${marks.join(' | ')} | ${marks.filter((m) => m === '✓').length}/${marks.filter((m) => m !== '·').length} |`);
  }
  lines.push('', `Columns: ${cells.map((c, i) => `${i + 1} = ${esc(c)}`).join(', ')}; · = not run.`);
  return lines;
}

/** A scatter of cells: pass rate (with its Wilson interval) against cost, or tokens when nothing is priced. */
export function plotSvg(summary: ExperimentSummary): string {
  const cells = summary.cells.filter((c) => c.passRate !== null);
  const byCost = cells.some((c) => c.costUsd > 0);
  const xOf = (c: (typeof cells)[number]) => (byCost ? c.costUsd : c.tokens);
  const W = 640;
  const H = 360;
  const m = { l: 60, r: 20, t: 20, b: 50 };
  const maxX = Math.max(...cells.map(xOf), 0) || 1;
  const sx = (v: number) => m.l + (v / maxX) * (W - m.l - m.r);
  const sy = (v: number) => H - m.b - v * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${m.l - 4}" y1="${f(sy(t))}" x2="${W - m.r}" y2="${f(sy(t))}" stroke="#eee"/><text x="${m.l - 8}" y="${f(sy(t) + 4)}" text-anchor="end">${t * 100}%</text>`);
  }
  for (const t of [0, 0.5, 1]) {
    const v = t * maxX;
    parts.push(`<text x="${f(sx(v))}" y="${H - m.b + 16}" text-anchor="middle">${byCost ? usd(v) : Math.round(v)}</text>`);
  }
  parts.push(`<text x="${(W + m.l) / 2}" y="${H - 10}" text-anchor="middle">${byCost ? 'cost (USD)' : 'tokens'}</text>`);
  parts.push(`<text x="14" y="${(H - m.b + m.t) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(H - m.b + m.t) / 2})">pass rate (95% CI)</text>`);
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
  cells.forEach((c, i) => {
    const x = sx(xOf(c));
    const color = palette[i % palette.length];
    const [lo, hi] = c.ci95 as [number, number];
    parts.push(`<line x1="${f(x)}" y1="${f(sy(lo))}" x2="${f(x)}" y2="${f(sy(hi))}" stroke="${color}" stroke-width="2" opacity="0.5"/>`);
    parts.push(`<circle cx="${f(x)}" cy="${f(sy(c.passRate as number))}" r="5" fill="${color}"><title>${xml(c.id)}: ${pct(c.passRate)}, ${byCost ? usd(c.costUsd) : `${c.tokens} tokens`}</title></circle>`);
    parts.push(`<text x="${f(x + 8)}" y="${f(sy(c.passRate as number) - 6)}" fill="${color}">${xml(c.id)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function f(n: number): string {
  return n.toFixed(1);
}

function pct(v: number | null): string {
  return v === null ? '-' : `${(v * 100).toFixed(1)}%`;
}

function usd(v: number): string {
  return v === 0 ? '$0' : v < 0.01 ? `$${v.toFixed(6)}` : `$${v.toFixed(4)}`;
}

function sec(ms: number | null): string {
  return ms === null ? '-' : (ms / 1000).toFixed(2);
}

function esc(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

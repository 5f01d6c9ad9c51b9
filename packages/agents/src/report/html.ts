import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CLIENT_SCRIPT } from './client.js';
import type { ReportData } from './data.js';

let dagreSource: string | undefined;

/**
 * dagre's browser build (an IIFE defining `dagre`), read from node_modules so the
 * report carries its layout engine inline and opens offline.
 */
export function dagreScript(): string {
  if (dagreSource === undefined) {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@dagrejs/dagre/package.json'));
    dagreSource = fs.readFileSync(path.join(dir, 'dist', 'dagre.min.js'), 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, '');
  }
  return dagreSource;
}

/** Text safe inside a <script> element: no "</script", no "<!--". */
export function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const REPORT_CSS = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5c6776; --line: #d7dde5; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 14px 20px 4px; } header h1 { margin: 0; font-size: 20px; } header .meta { color: var(--muted); margin: 2px 0; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 360px; gap: 16px; padding: 8px 20px 24px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; margin-bottom: 16px; }
section h2 { font-size: 15px; margin: 2px 0 8px; }
#summary { display: flex; flex-wrap: wrap; gap: 8px; align-items: stretch; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; min-width: 92px; }
.card .k { color: var(--muted); font-size: 12px; } .card .v { font-size: 17px; font-weight: 600; }
.status-completed { color: #2e9d57; } .status-failed, .status-stalled, .status-timeout, .status-budget_exceeded, .status-aborted { color: #d64545; }
.reason { flex-basis: 100%; margin: 4px 0 0; color: var(--muted); }
.answer { flex-basis: 100%; } pre { white-space: pre-wrap; word-break: break-word; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px; max-height: 360px; overflow: auto; font-size: 12.5px; }
#graph svg { background: #fbfcfd; border: 1px solid var(--line); border-radius: 6px; cursor: grab; }
.node { cursor: pointer; } .node text { fill: #fff; pointer-events: none; } .node .nid { font-size: 12px; font-weight: 600; } .node .ntype { font-size: 10.5px; opacity: .9; }
.node.selected rect, .node:focus rect { stroke: #111; stroke-width: 3; } .node:focus { outline: none; }
.edge { fill: none; stroke: #7d8896; stroke-width: 1.2; } .edge.review { stroke-dasharray: 4 3; stroke: #8e5bd6; }
.group { fill: #eef2fb; stroke: #9fb0d6; stroke-dasharray: 5 3; } .group-label { font-size: 10px; fill: #4a5c86; }
.legend { color: var(--muted); font-size: 12px; } .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 6px; }
.lane { fill: #f1f4f8; } .lane-label { font-size: 11px; fill: var(--fg); } .axis, .busy { font-size: 10px; fill: var(--muted); } .busy { text-anchor: end; } .tick { stroke: var(--line); }
.bar { fill: #2e9d57; cursor: pointer; } .bar.o-failed { fill: #d64545; } .bar.o-retried { fill: #e08a3c; } .bar.o-requeued { fill: #b07a16; }
.bar.o-running { fill: #2f6fd6; } .bar.o-review { fill: #8e5bd6; } .bar.o-released, .bar.o-deferred, .bar.o-cancelled { fill: #9aa4b1; } .bar.o-reopened { fill: #c77dd6; }
.retry { fill: #111; } .takeover { fill: #d64545; font-size: 12px; font-weight: 700; text-anchor: end; }
.chart .in { fill: #5b8def; } .chart .out { fill: #f0a24a; } svg.chart { display: block; max-width: 620px; }
.spend-line { fill: none; stroke: #5b8def; stroke-width: 1.6; } .budget-line { stroke: #b07a16; stroke-width: 1.4; stroke-dasharray: 6 4; } .budget-line.over { stroke: #d64545; }
.budget-label { font-size: 10.5px; fill: #8a5d0c; }
pre.diff { font: 11.5px/1.35 ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre; overflow: auto; word-break: normal; }
pre.diff .da { color: #1d7a3e; background: #e9f7ee; } pre.diff .dd { color: #b42f2f; background: #fcecec; } pre.diff .dk { color: #6b4fb3; } pre.diff .dh { color: var(--muted); font-weight: 600; }
.usage-block { margin-bottom: 12px; } .table-wrap { max-height: 300px; overflow: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; } th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); } td:not(:first-child), th:not(:first-child) { text-align: right; }
tr.total td { font-weight: 600; }
aside #details { position: sticky; top: 12px; max-height: calc(100vh - 24px); overflow: auto; }
#details h3 { margin: 0 0 4px; word-break: break-all; } #details h4 { margin: 10px 0 4px; font-size: 13px; } .meta { color: var(--muted); font-size: 12.5px; margin: 2px 0; } .bad { color: #b42f2f; }
#details ul { padding-left: 18px; margin: 4px 0; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
`;

export interface ReportPageOptions {
  title?: string;
  /**
   * For a page served over HTTP (the dashboard): the script and style elements
   * carry this nonce and the page's policy allows only them, plus requests to
   * its own origin.
   */
  nonce?: string;
  /** HTML placed after the summary (the dashboard's agents and live events). */
  sections?: string;
  /** A script run after the report's own (the dashboard's live updates). */
  script?: string;
  /** More CSS for those sections. */
  css?: string;
}

/** The page's Content-Security-Policy: nothing from anywhere, inline script and style only (with a nonce, only those). */
export function reportCsp(nonce?: string): string {
  const inline = nonce ? `'nonce-${nonce}'` : "'unsafe-inline'";
  return `default-src 'none'; script-src ${inline}; style-src ${inline}; img-src data:${nonce ? "; connect-src 'self'" : ''}; base-uri 'none'; form-action 'none'`;
}

/**
 * The self-contained HTML report: data as JSON, the client script and dagre's
 * browser build inline, so the file makes no network request.
 */
export function reportHtml(data: ReportData, options: ReportPageOptions = {}): string {
  const title = options.title ?? 'agent-team report';
  const json = scriptSafe(JSON.stringify(data));
  const n = options.nonce ? ` nonce="${escapeHtml(options.nonce)}"` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${reportCsp(options.nonce)}">
<title>${escapeHtml(title)}</title>
<style${n}>${REPORT_CSS}${options.css ?? ''}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><p class="meta" id="page-meta">${escapeHtml(data.location)} · generated ${escapeHtml(data.generatedAt)}</p></header>
<main>
<div>
<section><h2>Summary</h2><div id="summary"></div></section>
${options.sections ?? ''}<section><h2>Task graph</h2><div id="graph"></div></section>
<section><h2>Timeline</h2><div id="timeline"></div></section>
<section><h2>Usage and cost</h2><div id="usage"></div></section>
</div>
<aside><section id="details"><p class="meta">Click a task in the graph or the timeline for its description, attempts, errors, reviews and result.</p></section></aside>
</main>
<script type="application/json" id="report-data"${n}>${json}</script>
<script${n}>${scriptSafe(dagreScript())}</script>
<script${n}>${scriptSafe(CLIENT_SCRIPT)}</script>
${options.script ? `<script${n}>${scriptSafe(options.script)}</script>
` : ''}</body>
</html>
`;
}

/**
 * The report's browser script, kept as plain ES2020 text so the HTML file needs
 * no build step and no network: it reads the JSON in `#report-data`, lays the
 * task graph out with the inlined dagre, and draws SVG.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var COLORS = { completed: '#2e9d57', failed: '#d64545', blocked: '#b07a16', cancelled: '#8a8a8a', claimed: '#2f6fd6', ready: '#7aa7e8', pending: '#c9d3e0', review: '#8e5bd6' };
  var data = JSON.parse(document.getElementById('report-data').textContent);
  function el(tag, attrs, text) {
    var n = /^(svg|g|rect|path|text|line|title|circle|marker|polygon)$/.test(tag) ? document.createElementNS(SVGNS, tag) : document.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] !== undefined && attrs[k] !== null) n.setAttribute(k, String(attrs[k]));
    if (text !== undefined) n.textContent = String(text);
    return n;
  }
  function money(u) { return '$' + (u.costUsd || 0).toFixed(4) + (u.unpricedCalls ? ' (+' + u.unpricedCalls + ' unpriced)' : ''); }
  function secs(ms) { return ms >= 60000 ? (ms / 60000).toFixed(1) + ' min' : (ms / 1000).toFixed(1) + ' s'; }
  function pct(v, max, usd) { return Math.round(100 * v / max) + '% of ' + (usd ? '$' : '') + max.toLocaleString('en-US'); }
  function text(v) { return typeof v === 'string' ? v : JSON.stringify(v, null, 2); }
  function answerOf(v) { return v && typeof v === 'object' && typeof v.answer === 'string' ? v.answer : text(v); }
  var selected = null, view = null, drag = null;
  // Once for the page, not per drawing: the dashboard draws the graph again on every update.
  window.addEventListener('mouseup', function () { drag = null; });
  var byId = {}; data.tasks.forEach(function (t) { byId[t.id] = t; });

  // ---- summary
  function summary() {
    var box = document.getElementById('summary');
    box.textContent = '';
    var status = data.run ? data.run.status : (data.counts.total && data.counts.completed === data.counts.total ? 'completed' : 'in progress');
    var wall = data.run ? data.run.durationMs : (data.startedAt && data.endedAt ? data.endedAt - data.startedAt : 0);
    var cards = [['Status', status], ['Tasks', data.counts.total], ['Completed', data.counts.completed || 0], ['Failed', data.counts.failed || 0],
      ['Blocked', data.counts.blocked || 0], ['Wall time', secs(wall)], ['Model calls', data.usage.total.calls], ['Cost', money(data.usage.total)]];
    var b = data.budget;
    if (b && b.maxTokens) cards.push(['Token budget', pct(data.usage.total.inputTokens + data.usage.total.outputTokens, b.maxTokens)]);
    if (b && b.maxUsd) cards.push(['Cost budget', pct(data.usage.total.costUsd, b.maxUsd, true)]);
    cards.forEach(function (c) { var d = el('div', { class: 'card' }); d.appendChild(el('div', { class: 'k' }, c[0])); d.appendChild(el('div', { class: 'v status-' + c[1] }, c[1])); box.appendChild(d); });
    if (data.run) box.appendChild(el('p', { class: 'reason' }, data.run.reason));
    var dependedOn = {}; data.tasks.forEach(function (t) { t.dependencies.forEach(function (d) { dependedOn[d] = true; }); });
    var finals = data.tasks.filter(function (t) { return t.status === 'completed' && t.type !== 'review' && !dependedOn[t.id] && !(t.metadata && t.metadata.moa && t.metadata.moa.synthesis); });
    var active = (data.counts.pending || 0) + (data.counts.ready || 0) + (data.counts.delayed || 0) + (data.counts.claimed || 0) + (data.counts.review || 0);
    if (finals.length === 1 && (data.run || !active)) {
      var a = el('details', { class: 'answer', open: '' }); a.appendChild(el('summary', {}, 'Final answer (' + finals[0].id + ')')); a.appendChild(el('pre', {}, answerOf(finals[0].result))); box.appendChild(a);
    }
  }

  // ---- details panel
  function show(id) {
    var t = byId[id]; if (!t) return; selected = id;
    var p = document.getElementById('details'); p.textContent = ''; p.hidden = false;
    document.querySelectorAll('.node.selected').forEach(function (n) { n.classList.remove('selected'); });
    var node = document.querySelector('.node[data-id="' + CSS.escape(id) + '"]'); if (node) node.classList.add('selected');
    p.appendChild(el('h3', {}, t.id));
    var meta = el('p', { class: 'meta' }, t.type + ' · ' + t.status + ' · attempt ' + t.attempt + '/' + t.maxAttempts + (t.owner ? ' · ' + t.owner : ''));
    p.appendChild(meta);
    p.appendChild(el('p', { class: 'desc' }, t.description));
    if (t.dependencies.length) p.appendChild(el('p', { class: 'meta' }, 'depends on: ' + t.dependencies.join(', ')));
    if (t.reason) p.appendChild(el('p', { class: 'bad' }, t.reason));
    var att = data.attempts.filter(function (a) { return a.taskId === id; });
    if (att.length) {
      p.appendChild(el('h4', {}, 'Attempts'));
      var ul = el('ul'); att.forEach(function (a) { ul.appendChild(el('li', {}, '#' + a.attempt + ' ' + a.agentId + ': ' + a.outcome + (a.end ? ' after ' + secs(a.end - a.start) : '') + (a.note ? ' (' + a.note + ')' : ''))); }); p.appendChild(ul);
    }
    if (t.errors.length) { p.appendChild(el('h4', {}, 'Errors')); var ue = el('ul'); t.errors.forEach(function (e) { ue.appendChild(el('li', { class: 'bad' }, 'attempt ' + e.attempt + (e.agentId ? ' (' + e.agentId + ')' : '') + ' ' + e.kind + ': ' + e.message)); }); p.appendChild(ue); }
    if (t.feedback.length) { p.appendChild(el('h4', {}, 'Feedback')); var uf = el('ul'); t.feedback.forEach(function (f) { uf.appendChild(el('li', {}, f)); }); p.appendChild(uf); }
    var rv = data.reviews.filter(function (r) { return r.taskId === id; });
    if (rv.length) { p.appendChild(el('h4', {}, 'Reviews')); var ur = el('ul'); rv.forEach(function (r) { ur.appendChild(el('li', {}, 'round ' + r.round + ' ' + (r.reviewer || '') + ': ' + r.verdict + ' → ' + r.outcome + (r.feedback ? ' — ' + r.feedback : ''))); }); p.appendChild(ur); }
    var u = data.usage.byTask[id]; if (u) p.appendChild(el('p', { class: 'meta' }, u.calls + ' model calls, ' + u.inputTokens + ' in / ' + u.outputTokens + ' out tokens, ' + money(u)));
    var r = t.result, coding = isCoding(r);
    if (coding) change(p, t.id, r);
    if (r !== undefined) { p.appendChild(el('h4', {}, 'Result')); p.appendChild(el('pre', {}, text(coding ? r.summary : r))); }
  }
  function isCoding(r) { return !!r && typeof r === 'object' && typeof r.branch === 'string' && 'commit' in r && 'diffStat' in r; }
  // A coding task's commit, merge and tests, then its diff (clipped) or, when the repository was not reachable, its stat.
  function change(p, id, r) {
    p.appendChild(el('h4', {}, 'Change'));
    if (!r.commit) { p.appendChild(el('p', { class: 'meta' }, 'Changed nothing (branch ' + r.branch + ').')); return; }
    p.appendChild(el('p', { class: 'meta' }, 'commit ' + r.commit.slice(0, 12) + ' on ' + r.branch + (r.merged ? ', merged into ' + r.merged.into + ' as ' + r.merged.commit.slice(0, 12) : ', not merged') +
      (r.test ? '; tests ' + (r.test.passed ? 'passed' : 'FAILED') + ' (' + r.test.command + ')' : '')));
    var d = data.diffs && data.diffs[id];
    if (!d) { p.appendChild(el('pre', { class: 'diff' }, r.diffStat || '(no stat)')); p.appendChild(el('p', { class: 'meta' }, 'Diff stat only: the repository was not reachable when this was built (agent-team diff ' + id + ' shows the diff).')); return; }
    var pre = el('pre', { class: 'diff' });
    d.text.split('\n').forEach(function (line) {
      var cls = /^(\+\+\+|---|diff |index )/.test(line) ? 'dh' : line[0] === '+' ? 'da' : line[0] === '-' ? 'dd' : line.slice(0, 2) === '@@' ? 'dk' : '';
      pre.appendChild(el('span', cls ? { class: cls } : {}, line + '\n'));
    });
    p.appendChild(pre);
    if (d.clipped) p.appendChild(el('p', { class: 'meta' }, 'Clipped: ' + d.text.length + ' of ' + d.bytes + ' bytes shown; agent-team diff ' + id + ' shows it all.'));
  }

  // ---- graph
  function graph() {
    var host = document.getElementById('graph'); host.textContent = '';
    if (!data.tasks.length) { host.appendChild(el('p', {}, 'No tasks.')); return; }
    var g = new dagre.graphlib.Graph({ compound: true });
    g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 46, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(function () { return {}; });
    var groups = {};
    data.tasks.forEach(function (t) {
      g.setNode(t.id, { width: 170, height: 40 });
      var moa = t.metadata && t.metadata.moa; var syn = moa && typeof moa.synthesis === 'string' ? moa.synthesis : null;
      if (syn) { var gid = 'moa:' + syn; if (!groups[gid]) { groups[gid] = 'MoA for ' + syn; g.setNode(gid, { label: groups[gid] }); } g.setParent(t.id, gid); }
    });
    var edges = [];
    data.tasks.forEach(function (t) {
      t.dependencies.forEach(function (d) { if (byId[d]) { g.setEdge(d, t.id); edges.push([d, t.id, 'dep']); } });
      var of = t.metadata && t.metadata.reviewOf; if (typeof of === 'string' && byId[of]) { g.setEdge(of, t.id); edges.push([of, t.id, 'review']); }
    });
    dagre.layout(g);
    var gg = g.graph(); var W = Math.max(gg.width || 0, 200), H = Math.max(gg.height || 0, 60);
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', height: Math.min(Math.max(H, 160), 640), role: 'img', 'aria-label': 'task graph' });
    var defs = el('defs'); var mk = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' });
    mk.appendChild(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#7d8896' })); defs.appendChild(mk); svg.appendChild(defs);
    var root = el('g'); svg.appendChild(root);
    Object.keys(groups).forEach(function (gid) { var n = g.node(gid); if (!n) return;
      root.appendChild(el('rect', { class: 'group', x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 8 }));
      root.appendChild(el('text', { class: 'group-label', x: n.x - n.width / 2 + 6, y: n.y - n.height / 2 + 11 }, groups[gid])); });
    edges.forEach(function (e) { var ed = g.edge(e[0], e[1]); if (!ed) return;
      var d = ed.points.map(function (pt, i) { return (i ? 'L' : 'M') + pt.x.toFixed(1) + ',' + pt.y.toFixed(1); }).join(' ');
      root.appendChild(el('path', { class: 'edge ' + e[2], d: d, 'marker-end': 'url(#arrow)' })); });
    data.tasks.forEach(function (t) { var n = g.node(t.id);
      var grp = el('g', { class: 'node', 'data-id': t.id, 'data-status': t.status, transform: 'translate(' + (n.x - n.width / 2) + ',' + (n.y - n.height / 2) + ')', tabindex: 0 });
      grp.appendChild(el('title', {}, t.id + ' (' + t.status + '): ' + t.description));
      grp.appendChild(el('rect', { width: n.width, height: n.height, rx: 6, fill: COLORS[t.status] || '#999' }));
      var label = t.id.length > 24 ? t.id.slice(0, 23) + '…' : t.id;
      grp.appendChild(el('text', { x: 8, y: 16, class: 'nid' }, label));
      var round = t.type === 'review' && t.metadata && t.metadata.round ? ' r' + t.metadata.round : '';
      grp.appendChild(el('text', { x: 8, y: 31, class: 'ntype' }, t.type + round + (t.attempt > 1 ? ' · attempt ' + t.attempt : '')));
      grp.addEventListener('click', function () { show(t.id); });
      grp.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') show(t.id); });
      root.appendChild(grp); });
    // wheel zoom and drag pan on the viewBox
    var vb = view && view.w === W && view.h === H ? view.vb : [0, 0, W, H];
    function apply() { svg.setAttribute('viewBox', vb.join(' ')); view = { w: W, h: H, vb: vb }; }
    if (vb[2] !== W || vb[0] !== 0 || vb[1] !== 0) apply();
    svg.addEventListener('wheel', function (ev) { ev.preventDefault(); var r = svg.getBoundingClientRect(); var f = ev.deltaY > 0 ? 1.15 : 1 / 1.15;
      var mx = vb[0] + (ev.clientX - r.left) / r.width * vb[2], my = vb[1] + (ev.clientY - r.top) / r.height * vb[3];
      vb = [mx - (mx - vb[0]) * f, my - (my - vb[1]) * f, vb[2] * f, vb[3] * f]; apply(); }, { passive: false });
    svg.addEventListener('mousedown', function (ev) { drag = [ev.clientX, ev.clientY, vb[0], vb[1]]; });
    svg.addEventListener('mousemove', function (ev) { if (!drag) return; var r = svg.getBoundingClientRect();
      vb[0] = drag[2] - (ev.clientX - drag[0]) / r.width * vb[2]; vb[1] = drag[3] - (ev.clientY - drag[1]) / r.height * vb[3]; apply(); });
    host.appendChild(svg);
    var legend = el('p', { class: 'legend' });
    Object.keys(COLORS).forEach(function (s) { if (!data.counts[s]) return; var sw = el('span', { class: 'sw' }); sw.style.background = COLORS[s]; legend.appendChild(sw); legend.appendChild(document.createTextNode(s + ' ' + data.counts[s] + '  ')); });
    legend.appendChild(document.createTextNode('· dashed edge: review · box: MoA group · scroll to zoom, drag to pan'));
    host.appendChild(legend);
  }

  // ---- timeline
  function timeline() {
    var host = document.getElementById('timeline'); host.textContent = '';
    var att = data.attempts; if (!att.length) { host.appendChild(el('p', {}, 'No attempts recorded.')); return; }
    var t0 = data.startedAt, t1 = data.endedAt || t0 + 1; att.forEach(function (a) { if (a.end === null && t1 < Date.now()) t1 = Math.max(t1, Date.now()); });
    var agents = []; att.forEach(function (a) { if (agents.indexOf(a.agentId) < 0) agents.push(a.agentId); });
    var LANE = 22, LEFT = 150, W = 1000, span = Math.max(t1 - t0, 1);
    var svg = el('svg', { viewBox: '0 0 ' + (LEFT + W + 10) + ' ' + (agents.length * LANE + 24), width: '100%', role: 'img', 'aria-label': 'timeline' });
    function x(t) { return LEFT + (t - t0) / span * W; }
    for (var i = 0; i <= 4; i++) { var tx = LEFT + i * W / 4; svg.appendChild(el('line', { x1: tx, x2: tx, y1: 0, y2: agents.length * LANE, class: 'tick' })); svg.appendChild(el('text', { x: tx, y: agents.length * LANE + 14, class: 'axis' }, secs(i * span / 4))); }
    agents.forEach(function (ag, li) {
      var y = li * LANE;
      svg.appendChild(el('rect', { x: LEFT, y: y + 2, width: W, height: LANE - 4, class: 'lane' }));
      svg.appendChild(el('text', { x: 4, y: y + 15, class: 'lane-label' }, ag.length > 22 ? ag.slice(0, 21) + '…' : ag));
      var busy = 0;
      att.filter(function (a) { return a.agentId === ag; }).forEach(function (a) {
        var end = a.end === null ? t1 : a.end; busy += end - a.start;
        var b = el('rect', { x: x(a.start), y: y + 4, width: Math.max(x(end) - x(a.start), 1.5), height: LANE - 8, class: 'bar o-' + a.outcome, 'data-task': a.taskId });
        b.appendChild(el('title', {}, a.taskId + ' attempt ' + a.attempt + ': ' + a.outcome + ' (' + secs(end - a.start) + ')' + (a.note ? ' — ' + a.note : '')));
        b.addEventListener('click', function () { show(a.taskId); });
        svg.appendChild(b);
        if (a.attempt > 1) svg.appendChild(el('circle', { cx: x(a.start), cy: y + 4, r: 3, class: 'retry' }));
        if (a.outcome === 'requeued') svg.appendChild(el('text', { x: x(end) - 3, y: y + 15, class: 'takeover' }, '✕'));
      });
      svg.appendChild(el('text', { x: LEFT + W - 4, y: y + 15, class: 'busy' }, Math.round(100 * busy / span) + '% busy'));
    });
    host.appendChild(svg);
    host.appendChild(el('p', { class: 'legend' }, 'One lane per agent, one bar per attempt (claimed → finished); gaps are idle time. Dot: a retry (attempt > 1). ✕: lease expired and the task was taken over. Red bar: failed attempt.'));
  }

  // ---- usage
  // Cumulative tokens (or cost) over the run, with the budget as a dashed line when one was set.
  function spendChart(host, idx, label, limit, fmt) {
    var pts = data.spend || []; if (!pts.length && !limit) return;
    var sec = el('div', { class: 'usage-block spend' }); sec.appendChild(el('h3', {}, label + ' over time' + (limit ? ' against the budget' : '')));
    if (!pts.length) { sec.appendChild(el('p', {}, 'Nothing spent yet; budget ' + fmt(limit) + '.')); host.appendChild(sec); return; }
    var W = 520, H = 120, L = 60, t0 = data.startedAt || pts[0][0], t1 = Math.max(data.endedAt || 0, pts[pts.length - 1][0], t0 + 1);
    var top = Math.max(pts[pts.length - 1][idx], limit || 0, 1e-9) * 1.08;
    function x(t) { return L + (t - t0) / (t1 - t0) * (W - L - 6); } function y(v) { return H - 14 - v / top * (H - 24); }
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', class: 'chart', 'data-chart': label });
    svg.appendChild(el('line', { x1: L, x2: W - 6, y1: H - 14, y2: H - 14, class: 'tick' }));
    svg.appendChild(el('text', { x: L - 4, y: H - 14, class: 'axis', 'text-anchor': 'end' }, fmt(0)));
    svg.appendChild(el('text', { x: L - 4, y: y(pts[pts.length - 1][idx]) + 4, class: 'axis', 'text-anchor': 'end' }, fmt(pts[pts.length - 1][idx])));
    var d = 'M' + x(t0).toFixed(1) + ',' + y(0).toFixed(1);
    pts.forEach(function (p) { d += ' H' + x(p[0]).toFixed(1) + ' V' + y(p[idx]).toFixed(1); });
    svg.appendChild(el('path', { d: d + ' H' + x(t1).toFixed(1), class: 'spend-line' }));
    if (limit) {
      var over = pts[pts.length - 1][idx] >= limit;
      svg.appendChild(el('line', { x1: L, x2: W - 6, y1: y(limit), y2: y(limit), class: 'budget-line' + (over ? ' over' : '') }));
      svg.appendChild(el('text', { x: W - 8, y: y(limit) - 3, class: 'budget-label', 'text-anchor': 'end' }, 'budget ' + fmt(limit) + (over ? ' (reached)' : '')));
    }
    svg.appendChild(el('text', { x: W - 6, y: H - 2, class: 'axis', 'text-anchor': 'end' }, secs(t1 - t0)));
    sec.appendChild(svg); host.appendChild(sec);
  }

  function usage() {
    var host = document.getElementById('usage'); host.textContent = '';
    var b = data.budget || {};
    spendChart(host, 1, 'Tokens', b.maxTokens, function (v) { return Math.round(v).toLocaleString('en-US'); });
    if (b.maxUsd) spendChart(host, 2, 'Cost', b.maxUsd, function (v) { return '$' + v.toFixed(v < 1 ? 4 : 2); });
    [['agent', data.usage.byAgent], ['model', data.usage.byModel], ['task', data.usage.byTask]].forEach(function (pair) {
      var rows = Object.keys(pair[1]).map(function (k) { return [k, pair[1][k]]; }).sort(function (a, b) { return (b[1].costUsd - a[1].costUsd) || ((b[1].inputTokens + b[1].outputTokens) - (a[1].inputTokens + a[1].outputTokens)); });
      var sec = el('div', { class: 'usage-block' }); sec.appendChild(el('h3', {}, 'By ' + pair[0]));
      if (!rows.length) { sec.appendChild(el('p', {}, 'No model calls.')); host.appendChild(sec); return; }
      var top = rows.slice(0, 12), max = Math.max.apply(null, top.map(function (r) { return r[1].inputTokens + r[1].outputTokens; }).concat([1]));
      var svg = el('svg', { viewBox: '0 0 520 ' + (top.length * 18 + 4), width: '100%', class: 'chart' });
      top.forEach(function (r, i) { var tok = r[1].inputTokens + r[1].outputTokens;
        svg.appendChild(el('text', { x: 0, y: i * 18 + 13, class: 'lane-label' }, r[0].length > 22 ? r[0].slice(0, 21) + '…' : r[0]));
        svg.appendChild(el('rect', { x: 150, y: i * 18 + 3, width: 290 * r[1].inputTokens / max, height: 12, class: 'in' }));
        svg.appendChild(el('rect', { x: 150 + 290 * r[1].inputTokens / max, y: i * 18 + 3, width: 290 * r[1].outputTokens / max, height: 12, class: 'out' }));
        svg.appendChild(el('text', { x: 150 + 290 * tok / max + 4, y: i * 18 + 13, class: 'axis' }, tok + ' tok')); });
      sec.appendChild(svg);
      var tbl = el('table'); var hr = el('tr'); [pair[0], 'calls', 'input', 'output', 'cache read', 'cost'].forEach(function (h) { hr.appendChild(el('th', {}, h)); }); tbl.appendChild(hr);
      rows.forEach(function (r) { var tr = el('tr'); [r[0], r[1].calls, r[1].inputTokens, r[1].outputTokens, r[1].cacheReadTokens || 0, money(r[1])].forEach(function (c) { tr.appendChild(el('td', {}, c)); }); tbl.appendChild(tr); });
      var t = data.usage.total; var tr = el('tr', { class: 'total' }); ['total', t.calls, t.inputTokens, t.outputTokens, t.cacheReadTokens || 0, money(t)].forEach(function (c) { tr.appendChild(el('td', {}, c)); }); tbl.appendChild(tr);
      var wrap = el('div', { class: 'table-wrap' }); wrap.appendChild(tbl); sec.appendChild(wrap); host.appendChild(sec);
    });
  }

  function render() { summary(); graph(); timeline(); usage(); if (selected && byId[selected]) show(selected); document.body.setAttribute('data-rendered', String(data.tasks.length)); }
  // The live dashboard calls setData with fresh data; the selected task and a zoomed view stay.
  window.agentTeamReport = { render: render, show: show, setData: function (d) { data = d; byId = {}; d.tasks.forEach(function (t) { byId[t.id] = t; }); render(); } };
  render();
})();
`;

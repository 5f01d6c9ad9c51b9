/**
 * What the dashboard adds to the HTML report's page: an agents section, a live
 * event feed, and a script that follows `/api/events` and, as events arrive,
 * fetches `/api/report` and `/api/status` and hands them to the report's
 * `setData` hook. Plain ES2020 text, no build step, same origin only.
 */
export const LIVE_SECTIONS = `<section><h2>Agents <span id="live-state" class="live-state">connecting…</span></h2><div id="agents"><p class="meta">No agent has reported yet.</p></div></section>
<section><h2>Live events</h2><ol id="feed" class="feed"></ol></section>
`;

export const LIVE_CSS = `
.live-state { font-size: 12px; font-weight: 500; color: var(--muted); margin-left: 8px; } .live-state.on { color: #2e9d57; } .live-state.off { color: #d64545; }
.feed { list-style: none; margin: 0; padding: 0; max-height: 220px; overflow: auto; font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; }
.feed li { border-bottom: 1px solid var(--line); padding: 1px 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; } .feed .t { color: var(--muted); margin-right: 8px; } .feed .ty { display: inline-block; min-width: 130px; font-weight: 600; }
.agent-idle { color: var(--muted); } .agent-busy { color: #2f6fd6; font-weight: 600; } .agent-gone { color: #d64545; font-weight: 600; }
#agents td.doing a { color: inherit; cursor: pointer; text-decoration: underline dotted; }
`;

export const LIVE_SCRIPT = String.raw`
(function () {
  'use strict';
  var report = window.agentTeamReport;
  var state = document.getElementById('live-state');
  var feed = document.getElementById('feed');
  function el(tag, attrs, text) { var n = document.createElement(tag); for (var k in attrs || {}) n.setAttribute(k, attrs[k]); if (text !== undefined) n.textContent = String(text); return n; }
  function ago(ms) { var s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago'; }
  function get(url) { return fetch(url, { cache: 'no-store' }).then(function (r) { if (!r.ok) throw new Error(url + ': HTTP ' + r.status); return r.json(); }); }
  function setState(text, cls) { state.textContent = text; state.className = 'live-state ' + cls; }

  // ---- agents: what each is doing now (the same object as status --json)
  function agents(status) {
    var host = document.getElementById('agents'); host.textContent = '';
    if (!status.agents.length) { host.appendChild(el('p', { class: 'meta' }, 'No agent has reported yet.')); return; }
    var tbl = el('table'); var hr = el('tr'); ['agent', 'role', 'status', 'doing now', 'done', 'last seen', 'model'].forEach(function (h) { hr.appendChild(el('th', {}, h)); }); tbl.appendChild(hr);
    status.agents.forEach(function (a) {
      var tr = el('tr', { 'data-agent': a.id });
      tr.appendChild(el('td', {}, a.id)); tr.appendChild(el('td', {}, a.role));
      tr.appendChild(el('td', { class: !a.responding ? 'agent-gone' : a.current.length ? 'agent-busy' : 'agent-idle' }, a.responding ? a.status : 'not responding'));
      var doing = el('td', { class: 'doing' });
      if (!a.current.length) doing.textContent = '-';
      a.current.forEach(function (id, i) { if (i) doing.appendChild(document.createTextNode(', ')); var l = el('a', { tabindex: '0' }, id); l.addEventListener('click', function () { report.show(id); }); doing.appendChild(l); });
      tr.appendChild(doing);
      tr.appendChild(el('td', {}, a.tasksDone)); tr.appendChild(el('td', {}, ago(a.lastSeen))); tr.appendChild(el('td', {}, a.model));
      tbl.appendChild(tr);
    });
    var wrap = el('div', { class: 'table-wrap' }); wrap.appendChild(tbl); host.appendChild(wrap);
  }

  // ---- the feed: newest first, at most 100 lines
  function note(e) {
    var li = el('li', { 'data-type': e.type });
    li.appendChild(el('span', { class: 't' }, new Date(e.ts).toISOString().slice(11, 23)));
    li.appendChild(el('span', { class: 'ty' }, e.type));
    li.appendChild(document.createTextNode((e.taskId || '') + (e.agentId ? ' by ' + e.agentId : '') + (e.error ? ': ' + e.error : e.reason ? ': ' + e.reason : '')));
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > 100) feed.removeChild(feed.lastChild);
  }

  // ---- refresh: one request pair in flight at a time; events meanwhile ask for one more
  var busy = false, again = false, timer = null;
  function refresh() {
    timer = null;
    if (busy) { again = true; return; }
    busy = true;
    Promise.all([get('api/report'), get('api/status')]).then(function (r) {
      report.setData(r[0]); agents(r[1]);
      document.getElementById('page-meta').textContent = r[0].location + ' · live, updated ' + new Date().toLocaleTimeString();
    }).catch(function (err) { setState('refresh failed: ' + err.message, 'off'); }).then(function () {
      busy = false; if (again) { again = false; schedule(); }
    });
  }
  function schedule() { if (!timer) timer = setTimeout(refresh, 120); }

  var data = JSON.parse(document.getElementById('report-data').textContent);
  var since = Date.parse(data.generatedAt) - 30000;
  var source = new EventSource('api/events?since=' + encodeURIComponent(String(since)));
  source.onopen = function () { setState('● live', 'on'); };
  source.onerror = function () { setState(source.readyState === 2 ? 'disconnected' : 'reconnecting…', 'off'); };
  source.onmessage = function (m) { var e; try { e = JSON.parse(m.data); } catch (err) { return; } note(e); schedule(); };
  // Agents report without events (heartbeats): their panel is polled too.
  setInterval(function () { get('api/status').then(agents).catch(function () {}); }, 3000);
  get('api/status').then(agents).catch(function () {});
})();
`;

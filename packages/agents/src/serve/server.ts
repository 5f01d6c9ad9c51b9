import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { type Backend, type TeamEventType, ValidationError } from '@agent-team/core';
import { collectStatus } from '../cli/commands/status.js';
import { buildReportData, type DiffCache } from '../report/data.js';
import { reportCsp, reportHtml } from '../report/html.js';
import { eventCursor, isAfter, streamStart } from './cursor.js';
import { LIVE_CSS, LIVE_SCRIPT, LIVE_SECTIONS } from './page.js';

export interface DashboardOptions {
  /** 0 picks a free port. @default 7070 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * Serve on an address other than loopback. Refused without it: the
   * dashboard has no authentication and shows every task, result and event.
   */
  allowRemote?: boolean;
  /**
   * Served on an address other than loopback: host names (besides IP
   * addresses, loopback names and this machine's name) a browser may reach it
   * by, e.g. a DNS name of the machine. Any other Host header is refused (DNS rebinding).
   */
  allowedHosts?: readonly string[];
  title?: string;
  /** A comment line on idle event streams this often, so proxies keep them open. @default 15000 */
  heartbeatMs?: number;
}

export interface Dashboard {
  /** `http://host:port/` (an IPv6 host in brackets). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Ends the event streams, closes every connection and the listening socket. Does not close the backend. */
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Checks `host` and `port` before anything listens. */
export function checkListenOptions(options: DashboardOptions): { host: string; port: number } {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 7070;
  if (!net.isIP(host) && !HOSTNAME.test(host)) throw new ValidationError(`host must be an IP address or a host name (127.0.0.1, the default, or e.g. 0.0.0.0 for every interface), got "${host}"`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValidationError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  if (!isLoopback(host) && !options.allowRemote) {
    throw new ValidationError(
      `host "${host}" is not a loopback address: the dashboard has no authentication and shows every task, result and event of the team; ask for it explicitly (agent-team serve --host ${host}) to serve it there`,
    );
  }
  for (const name of options.allowedHosts ?? []) {
    if (typeof name !== 'string' || !HOSTNAME.test(name)) throw new ValidationError(`allowed host must be a host name (e.g. dashboard.example.com), got ${JSON.stringify(name)}`);
  }
  return { host, port };
}

/**
 * Host names a browser may send; anything else is refused, since a web page
 * whose name an attacker points at this machine (DNS rebinding) sends its own
 * name. On loopback: loopback names. On another address also IP addresses
 * (a rebinding page cannot send one), this machine's name, and `allowed`.
 */
function allowedHost(header: string | undefined, loopbackOnly: boolean, allowed: ReadonlySet<string>): boolean {
  if (!header) return false;
  const name = (header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.replace(/:\d+$/, '')).toLowerCase();
  if (isLoopback(name)) return true;
  if (loopbackOnly) return false;
  return net.isIP(name.replace(/^\[|\]$/g, '')) !== 0 || allowed.has(name) || allowed.has(name.replace(/\.$/, ''));
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/**
 * The live dashboard: Node's own `http`, read-only. `GET /` the page (the HTML
 * report's graph, timeline and usage, plus agents and live events), `GET
 * /api/status` what `status --json` prints, `GET /api/report` the page's data,
 * `GET /api/events` the event log as Server-Sent Events (everything from the
 * start, or after `Last-Event-ID` / `?since=`, then live; `?type=`, `?task=`,
 * `?agent=` filter as `agent-team events` does). Any other method is
 * 405: no endpoint changes the team.
 */
export async function startDashboard(backend: Backend, options: DashboardOptions = {}): Promise<Dashboard> {
  const { host, port } = checkListenOptions(options);
  const loopbackOnly = isLoopback(host);
  const machine = os.hostname().toLowerCase();
  const hostNames = new Set([machine, machine.split('.')[0] ?? machine, ...(options.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const title = options.title ?? `agent-team · ${backend.location}`;
  const diffCache: DiffCache = new Map();
  const streams = new Set<{ controller: AbortController; res: http.ServerResponse }>();
  let closing = false;

  const send = (res: http.ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...extra });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const json = (res: http.ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}) =>
    send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value, null, 2)}\n`, extra);

  // One build of the page's data serves every request that arrives while it runs: open tabs refresh after each
  // burst of events, and each build reads the event log.
  let building: ReturnType<typeof buildReportData> | null = null;
  const reportData = () => {
    building ??= buildReportData(backend, { diffCache }).finally(() => {
      building = null;
    });
    return building;
  };

  const page = async (res: http.ServerResponse) => {
    const nonce = randomBytes(16).toString('base64');
    const data = await reportData();
    const html = reportHtml(data, { title, nonce, sections: LIVE_SECTIONS, script: LIVE_SCRIPT, css: LIVE_CSS });
    send(res, 200, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': `${reportCsp(nonce)}; frame-ancestors 'none'` });
  };

  const events = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const header = req.headers['last-event-id'];
    const start = streamStart(Array.isArray(header) ? header[0] : header, url.searchParams.get('since'));
    // The same filters as `agent-team events`: ?type=a,b&task=ID&agent=ID (an unknown type matches nothing).
    const types = url.searchParams.get('type');
    const task = url.searchParams.get('task');
    const agent = url.searchParams.get('agent');
    const filter = {
      ...(types ? { types: types.split(',').map((t) => t.trim()) as TeamEventType[] } : {}),
      ...(task ? { taskId: task } : {}),
      ...(agent ? { agentId: agent } : {}),
    };
    const controller = new AbortController();
    const entry = { controller, res };
    streams.add(entry);
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    if (req.method === 'HEAD') {
      streams.delete(entry);
      res.end();
      return;
    }
    res.write('retry: 1000\n\n');
    const stop = () => controller.abort();
    req.on('close', stop);
    res.on('close', stop);
    const beat = setInterval(() => res.write(': ping\n\n'), heartbeatMs);
    beat.unref();
    try {
      for await (const e of backend.events.follow({ ...(start.since !== undefined ? { since: start.since } : {}), ...filter, signal: controller.signal, pollMs: 100 })) {
        if (!isAfter(e, start)) continue;
        // One event per message; a writer id never holds a line break, and JSON escapes them in the data.
        if (!res.write(`id: ${eventCursor(e)}\ndata: ${JSON.stringify(e)}\n\n`)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              controller.signal.removeEventListener('abort', done);
              resolve();
            };
            res.on('drain', done);
            controller.signal.addEventListener('abort', done, { once: true });
          });
        }
        if (controller.signal.aborted) break;
      }
    } finally {
      clearInterval(beat);
      streams.delete(entry);
      req.off('close', stop);
      if (!res.writableEnded) res.end();
    }
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!allowedHost(req.headers.host, loopbackOnly, hostNames)) {
      const names = loopbackOnly ? 'loopback names (127.0.0.1, localhost, [::1])' : `IP addresses, loopback names and ${[...hostNames].join(', ')} (add a name with --allowed-host)`;
      json(res, 403, { error: `Host "${String(req.headers.host ?? '')}" is not allowed: this dashboard answers only to ${names}` });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const routes = ['/', '/index.html', '/api/status', '/api/report', '/api/events'];
    if (!routes.includes(url.pathname)) {
      json(res, 404, { error: `no such page: ${url.pathname.slice(0, 200)}; the dashboard serves / , /api/status, /api/report and /api/events` });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: `${String(req.method)} is not allowed: the dashboard is read-only (GET and HEAD only)` }, { Allow: 'GET, HEAD' });
      return;
    }
    if (closing) {
      json(res, 503, { error: 'the dashboard is shutting down' });
      return;
    }
    try {
      if (url.pathname === '/' || url.pathname === '/index.html') await page(res);
      else if (url.pathname === '/api/status') json(res, 200, await collectStatus(backend));
      else if (url.pathname === '/api/report') json(res, 200, await reportData());
      else await events(req, res, url);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const bad = err instanceof ValidationError;
      json(res, bad ? 400 : 500, { error: (err as Error).message });
    }
  };

  const server = http.createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
  const address = server.address() as net.AddressInfo;
  const shown = net.isIPv6(address.address) ? `[${address.address}]` : address.address;
  return {
    url: `http://${host === 'localhost' ? 'localhost' : shown}:${address.port}/`,
    host: address.address,
    port: address.port,
    close: async () => {
      if (closing) return;
      closing = true;
      for (const s of streams) s.controller.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

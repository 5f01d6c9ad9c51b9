import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the fake server saw it. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (or the raw text if it was not JSON). */
  body: Record<string, unknown>;
  /** The body exactly as sent. */
  text: string;
  /** performance.now() when the request arrived. */
  at: number;
}

export type SseEvent = { event?: string; data: unknown };

/** What the server answers to one request. */
export type Reply =
  | { kind: 'json'; status?: number; headers?: Record<string, string>; body: unknown; delayMs?: number }
  | { kind: 'sse'; events: SseEvent[]; chunkDelayMs?: number; hangAfter?: boolean; doneLine?: boolean }
  | { kind: 'hang' }
  | { kind: 'destroy' };

export type Handler = (request: RecordedRequest, index: number) => Reply;

/**
 * A tiny HTTP server on 127.0.0.1 and a random port, standing in for a
 * provider API. Replies come from a queue, else from a default handler; it
 * records every request and the most requests it ever had in flight.
 */
export class FakeServer {
  readonly requests: RecordedRequest[] = [];
  maxInFlight = 0;
  private inFlight = 0;
  private readonly queue: Reply[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private fallback: Handler,
  ) {}

  static async start(fallback: Handler = () => ({ kind: 'json', status: 500, body: { error: { message: 'no reply queued' } } })): Promise<FakeServer> {
    const holder: { instance?: FakeServer } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => holder.instance?.handle(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    server.on('connection', (socket) => {
      holder.instance?.sockets.add(socket);
      socket.on('close', () => holder.instance?.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const instance = new FakeServer(server, `http://127.0.0.1:${port}`, fallback);
    holder.instance = instance;
    return instance;
  }

  /** Queues replies for the next requests, in order. */
  reply(...replies: Reply[]): this {
    this.queue.push(...replies);
    return this;
  }

  setFallback(handler: Handler): void {
    this.fallback = handler;
  }

  get inFlightNow(): number {
    return this.inFlight;
  }

  private handle(method: string, url: string, headers: IncomingHttpHeaders, text: string, res: ServerResponse): void {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { raw: text };
    }
    const request: RecordedRequest = { method, url, headers, body, text, at: performance.now() };
    const index = this.requests.length;
    this.requests.push(request);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    const reply = this.queue.shift() ?? this.fallback(request, index);
    this.send(reply, res);
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private send(reply: Reply, res: ServerResponse): void {
    switch (reply.kind) {
      case 'json': {
        const write = () => {
          if (res.destroyed) return;
          res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
          res.end(JSON.stringify(reply.body));
        };
        if (reply.delayMs) this.later(reply.delayMs, write);
        else write();
        return;
      }
      case 'sse': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        const lines = reply.events.map(
          (e) => `${e.event ? `event: ${e.event}\n` : ''}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`,
        );
        if (reply.doneLine) lines.push('data: [DONE]\n\n');
        const step = (i: number) => {
          if (res.destroyed) return;
          if (i >= lines.length) {
            if (!reply.hangAfter) res.end();
            return;
          }
          res.write(lines[i]);
          if (reply.chunkDelayMs) this.later(reply.chunkDelayMs, () => step(i + 1));
          else step(i + 1);
        };
        step(0);
        return;
      }
      case 'hang':
        return; // never answers; the client must give up
      case 'destroy':
        res.socket?.destroy();
        return;
    }
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

import net from 'node:net';

/** What to do with the next client request that contains a marker. */
export type CutMode =
  /** Forward the request to Redis, then drop the connection: the command runs, its reply is lost. */
  | 'after-request'
  /** Drop the connection before forwarding: the command never reaches Redis. */
  | 'before-request';

/**
 * A TCP proxy in front of redis-server that a test controls: it can cut every
 * connection, or the one that carries a given request, at the worst moment.
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private armed: { marker: string; mode: CutMode; resolve: () => void } | null = null;
  port = 0;
  cuts = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      const pair = { client, upstream };
      this.pairs.add(pair);
      const drop = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop);
      upstream.on('error', drop);
      client.on('close', drop);
      upstream.on('close', drop);
      upstream.on('data', (chunk) => {
        if (!client.destroyed) client.write(chunk);
      });
      client.on('data', (chunk) => {
        const armed = this.armed;
        if (armed && chunk.includes(armed.marker)) {
          this.armed = null;
          this.cuts += 1;
          this.pairs.delete(pair);
          // The client sees its connection die either way; the request reaches Redis only after-request.
          client.destroy();
          if (armed.mode === 'after-request') upstream.end(chunk);
          else upstream.destroy();
          armed.resolve();
          return;
        }
        upstream.write(chunk);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Cuts the connection that next sends a request containing `marker`; resolves when it did. */
  cutOn(marker: string, mode: CutMode): Promise<void> {
    return new Promise((resolve) => {
      this.armed = { marker, mode, resolve };
    });
  }

  /** Cuts every open connection at once. */
  cutAll(): number {
    const n = this.pairs.size;
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    this.cuts += n;
    return n;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

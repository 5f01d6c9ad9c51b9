import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { RedisConnection } from '../../src/redis/index.js';
import { tempDir } from './processes.js';

/** The redis-server binary on PATH, or null. */
export function findRedisServer(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export const REDIS_SERVER = findRedisServer();
export const NO_REDIS_MESSAGE = 'redis-server is not installed: the Redis backend tests are skipped (apt-get install redis-server; .ci/run installs it)';

/** A port nobody listens on now: bind port 0, read it, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  password?: string;
  /** Extra redis-server arguments, e.g. ['--appendfsync', 'always']. */
  args?: string[];
}

/**
 * A real redis-server on 127.0.0.1, on a free port, with its own temporary
 * folder and AOF on (RDB snapshots off): started, restarted on the same port
 * and folder, and stopped by the tests.
 */
export class RedisServer {
  proc: ChildProcess | null = null;
  readonly dir = tempDir('redis-');
  port = 0;

  constructor(private readonly options: RedisServerOptions = {}) {}

  get url(): string {
    const auth = this.options.password ? `:${encodeURIComponent(this.options.password)}@` : '';
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (!REDIS_SERVER) throw new Error(NO_REDIS_MESSAGE);
    if (this.port === 0) this.port = await freePort();
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--appendonly', 'yes',
      '--save', '',
      '--daemonize', 'no',
      '--loglevel', 'warning',
      ...(this.options.password ? ['--requirepass', this.options.password] : []),
      ...(this.options.args ?? []),
    ];
    const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    // A test process that dies before its afterAll must not leave a server behind.
    const killOnExit = () => {
      proc.kill('SIGKILL');
      fs.rmSync(this.dir, { recursive: true, force: true });
    };
    process.once('exit', killOnExit);
    proc.once('exit', () => process.off('exit', killOnExit));
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await this.ping())) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${this.port}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this;
  }

  /** True when the server answers PING (after AUTH when it has a password) with +PONG. */
  ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      let reply = '';
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(500, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => {
        const auth = this.options.password ? `AUTH ${this.options.password}\r\n` : '';
        socket.write(`${auth}PING\r\n`);
      });
      socket.on('data', (chunk) => {
        reply += chunk.toString();
        if (reply.includes('+PONG')) done(true);
        else if (reply.includes('-LOADING') || reply.includes('-ERR') || reply.includes('-NOAUTH')) done(false);
      });
    });
  }

  /** Stops the server (SIGTERM flushes the AOF; SIGKILL does not) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  }

  /** Stops the server and starts it again on the same port and folder (it reloads its AOF). */
  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One server for the test file: started before its tests, stopped after. */
export function useRedisServer(options: RedisServerOptions = {}): RedisServer {
  const server = new RedisServer(options);
  beforeAll(async () => {
    if (REDIS_SERVER) await server.start();
  });
  afterAll(async () => {
    await server.destroy();
  });
  return server;
}

/**
 * Every key of a team's namespace with its type and value, in a canonical
 * order: equal dumps mean nothing was written.
 */
export async function dumpNamespace(conn: RedisConnection): Promise<string> {
  const client = conn.client;
  const out: string[] = [];
  for (const key of (await conn.keys()).sort()) {
    const type = await client.type(key);
    let value: unknown;
    switch (type) {
      case 'string':
        value = await client.get(key);
        break;
      case 'hash':
        value = Object.entries(await client.hgetall(key)).sort();
        break;
      case 'set':
        value = (await client.smembers(key)).sort();
        break;
      case 'zset':
        value = await client.zrange(key, 0, -1, 'WITHSCORES');
        break;
      case 'list':
        value = await client.lrange(key, 0, -1);
        break;
      case 'stream':
        value = await client.xrange(key, '-', '+');
        break;
      default:
        value = null;
    }
    out.push(`${key}\0${type}\0${JSON.stringify(value)}`);
  }
  return out.join('\n');
}

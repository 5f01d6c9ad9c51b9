// The team's MCP clients over a run's life, each found by a review and
// reproduced with the official SDK's stdio server first: a server an agent
// starts while the team closes is stopped too; a server that dies is started
// again by the next agent that needs it; two tools that would get one name are
// refused; and what a server says in an error loses the team's secrets.
import fs from 'node:fs';
import path from 'node:path';
import { AbortError } from '@agent-team/core';
import { afterEach, expect, it } from 'vitest';
import { McpClients, checkMcpSelection } from '../../src/mcp/client-tools.js';
import type { ToolContext } from '../../src/models/index.js';
import { registerSecret } from '../../src/models/secrets.js';
import { alive, gone, tempDir } from '../helpers.js';
import { stdioServer } from './fixtures/tool-server.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** What the tool loop passes a tool; these tools do not look at it. */
const context: ToolContext = { signal: new AbortController().signal, toolCallId: 'call-1', messages: [] };
const server = (pidFile: string) => stdioServer({ PID_FILE: pidFile });
const pids = (pidFile: string) => (fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim().split('\n').filter(Boolean).map(Number) : []);

it('a server an agent is starting while the team closes its clients is stopped as well, and nothing starts after close', async () => {
  dir = tempDir('mcp-life-');
  const pidFile = path.join(dir, 'pids');
  const clients = new McpClients({ a: server(pidFile), b: server(pidFile) });
  const pending = clients.toolsFor(['a', 'b']);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await clients.close();
  await expect(pending).rejects.toBeInstanceOf(AbortError);
  await expect(clients.toolsFor(['a'])).rejects.toBeInstanceOf(AbortError);
  // Whatever was started is gone.
  for (const pid of pids(pidFile)) expect(await gone(pid, 5000)).toBe(true);
}, 30_000);

it('a server that died is started again by the next agent that needs it', async () => {
  dir = tempDir('mcp-life-');
  const pidFile = path.join(dir, 'pids');
  const clients = new McpClients({ calc: server(pidFile) });
  const [add] = await clients.toolsFor([{ server: 'calc', tools: ['add'] }]);
  expect(await add?.execute({ a: 1, b: 2 }, context)).toBe('3');
  const [first] = pids(pidFile);
  process.kill(first as number, 'SIGKILL');
  expect(await gone(first as number, 5000)).toBe(true);
  // The client notices the end of its transport; the next task's tools come from a new server.
  let again: Awaited<ReturnType<McpClients['toolsFor']>> = [];
  for (let i = 0; i < 50 && pids(pidFile).length < 2; i++) {
    again = await clients.toolsFor([{ server: 'calc', tools: ['add'] }]);
    if (pids(pidFile).length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(pids(pidFile)).toHaveLength(2);
  expect(await again[0]?.execute({ a: 2, b: 2 }, context)).toBe('4');
  expect(alive(pids(pidFile)[1] as number)).toBe(true);
  await clients.close();
}, 30_000);

it('a server named twice for one agent is refused, and so are two tools that would share one name', async () => {
  dir = tempDir('mcp-life-');
  const servers = { calc: stdioServer({ PID_FILE: path.join(dir, 'pids'), CLASHING_NAMES: '1' }) };
  expect(() => checkMcpSelection('w1', ['calc', { server: 'calc', tools: ['add'] }], servers)).toThrow(/agent "w1" names MCP server "calc" twice/);
  const clients = new McpClients(servers);
  await expect(clients.toolsFor(['calc'])).rejects.toThrow(/MCP tools "calc" "dot.name" and "calc" "dot_name" would both be named "calc__dot_name"/);
  await expect(clients.toolsFor([{ server: 'calc', tools: ['add', 'dot_name'] }])).resolves.toHaveLength(2);
  await clients.close();
}, 30_000);

it('what a failing tool call says is passed on without the secrets the team knows', async () => {
  dir = tempDir('mcp-life-');
  const pidFile = path.join(dir, 'pids');
  const clients = new McpClients({ calc: server(pidFile) });
  const [broken] = await clients.toolsFor([{ server: 'calc', tools: ['fail_with'] }]);
  registerSecret('sk-test-secret-0123456789');
  const failure = await Promise.resolve(broken?.execute({ detail: 'token sk-test-secret-0123456789 was refused' }, context)).then(
    () => 'no error',
    (err: unknown) => (err as Error).message,
  );
  expect(failure).not.toContain('sk-test-secret-0123456789');
  await clients.close();
}, 30_000);

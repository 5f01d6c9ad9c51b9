// MCP tools for the team's own agents: servers written with the official SDK,
// on stdio and over streamable HTTP, used by a scripted model through the
// tool loop of a real team run.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { validateSpec } from '../../src/cli/spec.js';
import { AgentRole, AgentTeam, fromFunction, type GenerateRequest, type LanguageModel } from '../../src/index.js';
import { alive, gone, tempDir } from '../helpers.js';
import { calculator, stdioServer } from './fixtures/tool-server.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A scripted model that calls the given tools in turn, then answers with what they returned. */
function caller(calls: Array<{ name: string; arguments?: Record<string, unknown> }>, seen: GenerateRequest[]): LanguageModel {
  return fromFunction((_prompt, request) => {
    seen.push(request);
    const results = request.messages.filter((m) => m.role === 'tool');
    const next = calls[results.length];
    if (next) return { text: '', toolCalls: [next] };
    return results.map((r) => r.content).join(' | ');
  });
}

describe('MCP tools for agents', () => {
  it('a stdio server, started once for the run and closed after it, gives an agent the tools it allows', async () => {
    dir = tempDir('mcp-tools-');
    const pidFile = path.join(dir, 'pids');
    process.env.TEST_CALC_TOKEN = 'calc-token-0123456789';
    const seen: GenerateRequest[] = [];
    const team = new AgentTeam({
      workspace: path.join(dir, 'ws'),
      mcpServers: { calc: stdioServer({ PID_FILE: pidFile, CALC_TOKEN: '${TEST_CALC_TOKEN}' }) },
    });
    const calls = [{ name: 'calc__add', arguments: { a: 2, b: 3 } }, { name: 'calc__broken' }, { name: 'calc__whoami' }];
    team.addAgent('w1', AgentRole.WORKER, caller(calls, seen), { mcp: [{ server: 'calc', tools: ['add', 'broken', 'whoami'] }], concurrency: 2 });
    await team.addTask('Add 2 and 3', { id: 'one' });
    await team.addTask('Add 2 and 3 again', { id: 'two' });
    const summary = await team.run();
    expect(summary.status).toBe('completed');
    for (const id of ['one', 'two']) {
      expect((await team.queue.get(id))?.result).toBe('5 | error: calc__broken failed: the calculator is on fire | token of 21 characters');
    }
    expect(seen[0]?.tools?.map((t) => t.name)).toEqual(['calc__add', 'calc__whoami', 'calc__broken']); // the server's order
    expect(seen[0]?.tools?.[0]?.parameters).toMatchObject({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } });
    // One server for the process, shared by both tasks; gone once the run ended.
    const pids = fs.readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(pids).toHaveLength(1);
    expect(await gone(pids[0] as number)).toBe(true);
    expect(alive(pids[0] as number)).toBe(false);
    await team.close();
  });

  it('a streamable HTTP server with a bearer token from the environment; a wrong token is a clear error naming the server', async () => {
    dir = tempDir('mcp-http-');
    const token = 'http-token-abcdefghij';
    const server = http.createServer((req, res) => {
      void (async () => {
        if (req.headers.authorization !== `Bearer ${token}`) {
          res.writeHead(401).end('unauthorized');
          return;
        }
        let body = '';
        for await (const chunk of req) body += String(chunk);
        // Stateless: a server and a transport per request.
        const mcp = calculator();
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on('close', () => void transport.close().then(() => mcp.close()));
        await mcp.connect(transport);
        await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    try {
      process.env.TEST_MCP_TOKEN = token;
      const seen: GenerateRequest[] = [];
      const team = new AgentTeam({ workspace: path.join(dir, 'ws'), mcpServers: { calc: { url, headers: { Authorization: 'Bearer ${TEST_MCP_TOKEN}' } } } });
      team.addAgent('w1', AgentRole.WORKER, caller([{ name: 'calc__add', arguments: { a: 40, b: 2 } }], seen), { mcp: ['calc'] });
      await team.addTask('Add 40 and 2', { id: 'sum' });
      expect((await team.run()).status).toBe('completed');
      expect((await team.queue.get('sum'))?.result).toBe('42');
      expect(seen[0]?.tools?.map((t) => t.name)).toEqual(['calc__add', 'calc__whoami', 'calc__broken', 'calc__fail_with']);
      await team.close();

      process.env.TEST_MCP_TOKEN = 'wrong-token-0000000000';
      const denied = new AgentTeam({ workspace: path.join(dir, 'ws2'), mcpServers: { calc: { url, headers: { Authorization: 'Bearer ${TEST_MCP_TOKEN}' } } } });
      denied.addAgent('w1', AgentRole.WORKER, caller([], []), { mcp: ['calc'] });
      await denied.addTask('Add', { id: 'sum', maxAttempts: 1 });
      await denied.run();
      const failed = await denied.queue.get('sum');
      expect(failed?.status).toBe('failed');
      expect(failed?.reason).toMatch(/MCP server "calc" at http:\/\/127\.0\.0\.1:\d+\/mcp did not start/);
      expect(JSON.stringify(failed)).not.toContain('wrong-token-0000000000');
      await denied.close();
    } finally {
      server.close();
    }
  });

  it('a server that fails to start fails the task with its name and the end of its stderr', async () => {
    dir = tempDir('mcp-fail-');
    const team = new AgentTeam({
      workspace: path.join(dir, 'ws'),
      mcpServers: { calc: stdioServer({ FAIL_START: '1' }) },
    });
    team.addAgent('w1', AgentRole.WORKER, caller([], []), { mcp: ['calc'] });
    await team.addTask('Add', { id: 'sum', maxAttempts: 1 });
    await team.run();
    const task = await team.queue.get('sum');
    expect(task?.status).toBe('failed');
    expect(task?.reason).toMatch(/MCP server "calc" \(.*tool-server\.ts stdio\) did not start: .*its stderr ends: cannot start: no licence for the calculator/);
    await team.close();
  });

  it('names are checked before anything starts: unknown servers, bad names, a server with neither command nor url', () => {
    const parent = tempDir();
    const unused = path.join(parent, 'unused-ws');
    expect(() => new AgentTeam({ workspace: unused, mcpServers: { 'bad name': { command: 'x' } } })).toThrow(/MCP server name "bad name"/);
    expect(() => new AgentTeam({ workspace: unused, mcpServers: { files: {} as never } })).toThrow(/needs a command .* or a url/);
    expect(fs.existsSync(unused)).toBe(false); // refused before the workspace was made
    expect(() =>
      validateSpec({ mcpServers: { files: { command: 'npx', args: ['-y', 'srv'] } }, agents: [{ id: 'w1', role: 'worker', model: 'offline', mcp: ['search'] }], tasks: [{ description: 'x' }] }),
    ).toThrow(/agents\[0\]\.mcp: "search" is not one of the spec's mcpServers \(files\)/);
    const spec = validateSpec({
      mcpServers: { files: { command: 'npx', args: ['-y', 'srv'], env: { KEY: '${KEY}' } }, search: { url: 'http://127.0.0.1:8931/mcp' } },
      agents: [{ id: 'w1', role: 'worker', model: 'offline', mcp: ['files', { server: 'search', tools: ['find'] }] }],
      tasks: [{ description: 'x' }],
    });
    expect(Object.keys(spec.mcpServers ?? {})).toEqual(['files', 'search']);
    fs.rmSync(parent, { recursive: true, force: true });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { TaskQueue } from '@agent-team/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';

const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'agent-team.js');

/** An MCP client (the official SDK's) talking to `agent-team mcp` over stdio. */
async function connect(ws: string, extra: string[] = []): Promise<{ client: Client; transport: StdioClientTransport; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', '--workspace', ws, ...extra],
    env: { ...(process.env as Record<string, string>), NO_COLOR: '1' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr };
}

type ToolReply = { isError?: boolean; content: Array<{ type: string; text: string }> };

interface TaskBrief {
  id: string;
  status: string;
  owner?: string;
  attempt: number;
}

/** What the tools answer, as far as these tests read it. */
interface Reply {
  task?: TaskBrief | null;
  prompt?: string;
  tasks?: TaskBrief[];
  agents?: Array<{ id: string; status: string }>;
  messages?: Array<{ from: string; body: unknown }>;
  counts?: Record<string, number>;
  [field: string]: unknown;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Reply> {
  const reply = (await client.callTool({ name, arguments: args })) as ToolReply;
  if (reply.isError) throw new Error(reply.content[0]?.text);
  return JSON.parse(reply.content[0]?.text ?? 'null') as Reply;
}

async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const reply = (await client.callTool({ name, arguments: args })) as ToolReply;
  expect(reply.isError).toBe(true);
  return reply.content[0]?.text ?? '';
}

describe('agent-team mcp: the team as an MCP server', () => {
  let dir: string;
  const clients: Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists its tools for a model; adds, claims, completes and fails tasks; carries messages', async () => {
    dir = tempDir('mcp-');
    const ws = path.join(dir, 'ws');
    const { client } = await connect(ws, ['--lease-ms', '1000']);
    clients.push(client);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['inbox_read', 'message_send', 'task_add', 'task_claim', 'task_complete', 'task_fail', 'task_list', 'team_status'].sort(),
    );
    for (const tool of tools) expect(tool.description?.length ?? 0).toBeGreaterThan(80);
    expect(tools.find((t) => t.name === 'task_claim')?.inputSchema.required).toEqual(['agentId']);

    expect(await call(client, 'task_add', { id: 'design', description: 'Design the cache' })).toMatchObject({ id: 'design', status: 'ready' });
    expect(await call(client, 'task_add', { id: 'build', description: 'Build the cache', dependencies: ['design'] })).toMatchObject({ status: 'pending' });
    expect(await callError(client, 'task_add', { id: 'x', description: 'y', dependencies: ['nope'] })).toMatch(/nope/);

    const first = await call(client, 'task_claim', { agentId: 'claude-code-1' });
    expect(first.task).toMatchObject({ id: 'design', attempt: 1 });
    expect(first.prompt).toBe('Task: design\n\nDesign the cache');
    // Held past three leases: the server renews the claim while the client holds it.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await call(client, 'task_claim', { agentId: 'cursor-1' })).toMatchObject({ task: null });
    expect(await call(client, 'task_complete', { id: 'design', agentId: 'claude-code-1', result: { plan: 'LRU, 1000 entries' } })).toMatchObject({
      id: 'design',
      status: 'completed',
      owner: 'claude-code-1',
    });

    const second = await call(client, 'task_claim', { agentId: 'cursor-1' });
    expect(second.task?.id).toBe('build');
    expect(second.prompt).toContain('### design: Design the cache');
    expect(second.prompt).toContain('LRU, 1000 entries');
    expect(await callError(client, 'task_complete', { id: 'build', agentId: 'claude-code-1', result: 'mine' })).toBe(
      'task "build" is held by "cursor-1", not by "claude-code-1"',
    );
    expect(await callError(client, 'task_complete', { id: 'design', agentId: 'cursor-1', result: 'again' })).toMatch(/task "design" is completed, not claimed/);
    expect(await call(client, 'task_fail', { id: 'build', agentId: 'cursor-1', error: 'the tests do not compile' })).toMatchObject({ id: 'build', status: 'delayed' });

    const status = await call(client, 'team_status');
    expect(status.counts).toMatchObject({ total: 2, completed: 1, delayed: 1 });
    expect(status.agents?.map((a) => a.id).sort()).toEqual(['claude-code-1', 'cursor-1']);
    const listed = await call(client, 'task_list', { status: 'completed' });
    expect(listed.tasks?.map((t) => t.id)).toEqual(['design']);

    await call(client, 'message_send', { from: 'claude-code-1', to: 'cursor-1', body: 'I changed the cache API' });
    await call(client, 'message_send', { from: 'lead', to: '*', body: { note: 'freeze at 5pm' } });
    const unread = await call(client, 'inbox_read', { agentId: 'cursor-1' });
    expect(unread.messages?.map((m) => [m.from, m.body])).toEqual([
      ['claude-code-1', 'I changed the cache API'],
      ['lead', { note: 'freeze at 5pm' }],
    ]);
    expect((await call(client, 'inbox_read', { agentId: 'cursor-1', ack: true })).messages).toHaveLength(2);
    expect((await call(client, 'inbox_read', { agentId: 'cursor-1' })).messages).toEqual([]);

    // The failed attempt is kept, and the retry shows it to whoever takes the task next.
    const queue = TaskQueue.open({ workspace: ws });
    const build = await queue.get('build');
    await queue.close();
    expect(build?.errors.map((e) => [e.agentId, e.message])).toEqual([['cursor-1', 'the tests do not compile']]);
    expect(await callError(client, 'task_claim', { agentId: '../etc' })).toMatch(/agent id/);
  });

  it('a client that disconnects mid-claim: the claim is not released, and the task comes back after the lease', async () => {
    dir = tempDir('mcp-');
    const ws = path.join(dir, 'ws');
    const a = await connect(ws, ['--lease-ms', '1000']);
    clients.push(a.client);
    await call(a.client, 'task_add', { id: 'fix', description: 'Fix the flaky test' });
    expect((await call(a.client, 'task_claim', { agentId: 'gone-1' })).task?.id).toBe('fix');
    await a.client.close();
    expect(a.stderr()).toMatch(/serving the team at/);

    const b = await connect(ws, ['--lease-ms', '1000']);
    clients.push(b.client);
    // The claim was left to expire, not handed back: the next claim is attempt 2, after the lease.
    let retaken: Reply = { task: null };
    const until = Date.now() + 15_000;
    while (retaken.task === null && Date.now() < until) {
      retaken = await call(b.client, 'task_claim', { agentId: 'next-1' });
      if (retaken.task === null) await new Promise((r) => setTimeout(r, 200));
    }
    expect(retaken.task).toMatchObject({ id: 'fix', attempt: 2 });
    await call(b.client, 'task_complete', { id: 'fix', agentId: 'next-1', result: 'fixed' });
    const queue = TaskQueue.open({ workspace: ws });
    const record = await queue.get('fix');
    await queue.close();
    expect(record).toMatchObject({ status: 'completed', owner: 'next-1', attempt: 2 });
    expect(record?.errors.map((e) => [e.kind, e.agentId])).toEqual([['lease_expired', 'gone-1']]);
    const status = await call(b.client, 'team_status');
    expect(status.agents?.find((x) => x.id === 'gone-1')).toMatchObject({ status: 'stopped' });
  });
});

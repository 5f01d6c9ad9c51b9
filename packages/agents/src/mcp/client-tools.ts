import { AbortError, ValidationError, describeValue } from '@agent-team/core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { expandEnv, expandEnvValue, minimalEnv, registerEnvSecrets } from '../command/env.js';
import type { ExecutableTool, JsonSchema } from '../models/index.js';
import { redactSecrets, registerSecret } from '../models/secrets.js';

/** An MCP server the team's agents may use: a program on stdio, or a streamable HTTP endpoint. */
export type McpServerConfig =
  | {
      command: string;
      args?: string[];
      /** Its environment besides the minimal set (PATH, HOME, ...); values may name variables: "${KEY}". */
      env?: Record<string, string>;
      cwd?: string;
    }
  | {
      url: string;
      /** Request headers; values may name variables: "Bearer ${TOKEN}". */
      headers?: Record<string, string>;
    };

/** Which tools an agent gets: every tool of a server, or the ones named. */
export type McpToolSelection = string | { server: string; tools: string[] };

const NAME_OK = /^[a-zA-Z0-9_-]{1,64}$/;

/** Checks the servers' names and settings (before anything starts). */
export function checkMcpServers(servers: Readonly<Record<string, McpServerConfig>>): void {
  for (const [name, config] of Object.entries(servers)) {
    if (!/^[a-zA-Z0-9_-]{1,32}$/.test(name)) {
      throw new ValidationError(`MCP server name ${describeValue(name)} must be 1 to 32 letters, digits, "_" or "-" (it prefixes its tools' names)`);
    }
    const c = config as Record<string, unknown>;
    if (typeof c.url === 'string') {
      try {
        const url = new URL(c.url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
      } catch {
        throw new ValidationError(`MCP server "${name}": url must be an http(s) URL, got ${describeValue(c.url)}`);
      }
    } else if (typeof c.command !== 'string' || c.command === '') {
      throw new ValidationError(`MCP server "${name}" needs a command (a program on stdio) or a url (streamable HTTP)`);
    }
  }
}

/** Checks that each agent's selection names servers that exist. */
export function checkMcpSelection(agentId: string, selection: readonly McpToolSelection[], servers: Readonly<Record<string, McpServerConfig>>): void {
  const seen = new Set<string>();
  for (const item of selection) {
    const server = typeof item === 'string' ? item : item?.server;
    if (typeof server === 'string' && seen.has(server)) {
      throw new ValidationError(`agent "${agentId}" names MCP server "${server}" twice: name it once, with the list of the tools it may use`);
    }
    if (typeof server === 'string') seen.add(server);
    if (typeof server !== 'string' || !(server in servers)) {
      throw new ValidationError(
        `agent "${agentId}" uses MCP server ${describeValue(server)}, which is not among the team's mcpServers (${Object.keys(servers).join(', ') || 'none'})`,
      );
    }
    if (typeof item === 'object' && (!Array.isArray(item.tools) || item.tools.some((t) => typeof t !== 'string'))) {
      throw new ValidationError(`agent "${agentId}": the tools of MCP server "${server}" must be a list of tool names`);
    }
  }
}

interface Connection {
  client: Client;
  tools: Array<{ name: string; description?: string; inputSchema: JsonSchema }>;
  close(): Promise<void>;
}

/**
 * The team's MCP servers, as clients: each started (or connected) once per
 * process, when an agent first needs it, shared by the agents that use it,
 * and closed by {@link close}. Their tools become tools of the agent's model,
 * named `<server>__<tool>`.
 */
export class McpClients {
  private readonly connections = new Map<string, Promise<Connection>>();
  private closed = false;

  constructor(private readonly servers: Readonly<Record<string, McpServerConfig>>) {
    checkMcpServers(servers);
  }

  /** The tools an agent's selection gives it. */
  async toolsFor(selection: readonly McpToolSelection[], signal?: AbortSignal): Promise<ExecutableTool[]> {
    const out: ExecutableTool[] = [];
    const origins = new Map<string, string>();
    for (const item of selection) {
      const server = typeof item === 'string' ? item : item.server;
      const connection = await this.connect(server);
      const wanted = typeof item === 'string' ? undefined : new Set(item.tools);
      if (wanted) {
        const missing = [...wanted].filter((t) => !connection.tools.some((tool) => tool.name === t));
        if (missing.length > 0) {
          throw new ValidationError(`MCP server "${server}" has no tool ${missing.map((m) => `"${m}"`).join(', ')}; it has: ${connection.tools.map((t) => t.name).join(', ')}`);
        }
      }
      for (const tool of connection.tools) {
        if (wanted && !wanted.has(tool.name)) continue;
        const made = this.asTool(server, connection, tool, signal);
        // Names are cleaned and cut to 64 characters: two tools can end up with one name, and the model's tools are keyed by name.
        const clash = origins.get(made.name);
        if (clash) {
          throw new ValidationError(
            `MCP tools ${clash} and "${server}" ${JSON.stringify(tool.name)} would both be named "${made.name}" for the model: select one of them (mcp: [{ server, tools: [...] }])`,
          );
        }
        origins.set(made.name, `"${server}" ${JSON.stringify(tool.name)}`);
        out.push(made);
      }
    }
    return out;
  }

  /** Closes every client (and ends the stdio servers). */
  async close(): Promise<void> {
    // From now on nothing starts: an agent still on its way to a tool (the run's grace ran out) gets an AbortError, not a new server.
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(all.map(async (c) => (await c).close()));
  }

  private connect(server: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new AbortError(`the team's MCP clients are closed: MCP server "${server}" is not started again`));
    let connection = this.connections.get(server);
    if (!connection) {
      const opening: Promise<Connection> = this.open(server).then(async (opened) => {
        if (this.closed) {
          // Started while the team was closing: close it here, since close() may have run already.
          await opened.close().catch(() => {});
          throw new AbortError(`the team's MCP clients were closed while MCP server "${server}" started`);
        }
        // A server that exits or ends its session later is started again by the next agent that needs it.
        opened.client.onclose = () => {
          if (this.connections.get(server) === opening) this.connections.delete(server);
        };
        return opened;
      });
      connection = opening;
      this.connections.set(server, opening);
      // A server that failed to start is tried again by the next agent that needs it.
      opening.catch(() => {
        if (this.connections.get(server) === opening) this.connections.delete(server);
      });
    }
    return connection;
  }

  private async open(server: string): Promise<Connection> {
    const config = this.servers[server];
    if (!config) throw new ValidationError(`no MCP server named "${server}"`);
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const client = new Client({ name: 'agent-team', version: '1' });
    let stderr = '';
    try {
      if ('url' in config) {
        const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
        // Header names are not variable names (X-Api-Key): each value is expanded, and a value that named a variable is a secret.
        const headers: Record<string, string> = {};
        for (const [header, value] of Object.entries(config.headers ?? {})) {
          headers[header] = expandEnvValue(value, `mcpServers.${server}.headers.${header}`);
          if (value.includes('${') && headers[header] !== value) {
            registerSecret(headers[header]);
            // And each variable's value alone: an error may quote the token without its "Bearer ".
            for (const [, name] of value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) {
              const secret = name ? process.env[name] : undefined;
              if (secret) registerSecret(secret);
            }
          }
        }
        await client.connect(new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers } }));
      } else {
        const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
        const env = expandEnv(config.env, `mcpServers.${server}.env`);
        registerEnvSecrets(env);
        const transport = new StdioClientTransport({
          command: config.command,
          args: config.args ?? [],
          env: { ...minimalEnv(), ...env },
          stderr: 'pipe',
          ...(config.cwd ? { cwd: config.cwd } : {}),
        });
        transport.stderr?.on('data', (chunk: Buffer) => {
          stderr = (stderr + chunk.toString('utf8')).slice(-2000);
        });
        await client.connect(transport);
      }
      const listed = await client.listTools();
      const tools = listed.tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), inputSchema: t.inputSchema as JsonSchema }));
      return { client, tools, close: () => client.close() };
    } catch (err) {
      await client.close().catch(() => {});
      const where = 'url' in config ? `at ${withoutCredentials(config.url)}` : `(${config.command}${config.args?.length ? ` ${config.args.join(' ')}` : ''})`;
      const said = stderr.trim() ? `; its stderr ends: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : '';
      throw new ValidationError(redactSecrets(`MCP server "${server}" ${where} did not start: ${err instanceof Error ? err.message : String(err)}${said}`));
    }
  }

  private asTool(server: string, connection: Connection, tool: Connection['tools'][number], signal?: AbortSignal): ExecutableTool {
    let name = `${server}__${tool.name}`.replace(/[^a-zA-Z0-9_-]/g, '_');
    if (!NAME_OK.test(name)) name = name.slice(0, 64);
    return {
      name,
      description: `${tool.description ?? tool.name} (from the MCP server "${server}")`,
      parameters: tool.inputSchema,
      async execute(args, context) {
        let result: Record<string, unknown>;
        try {
          result = await connection.client.callTool({ name: tool.name, arguments: args }, undefined, {
            ...((context.signal ?? signal) ? { signal: context.signal ?? signal } : {}),
          });
        } catch (err) {
          // What a server or its transport says goes into results, events and the next prompt: without the secrets.
          throw new Error(redactSecrets(`${server}__${tool.name} failed: ${err instanceof Error ? err.message : String(err)}`));
        }
        const text = contentText(result);
        if (result.isError === true) throw new Error(redactSecrets(text || `${tool.name} reported an error`));
        return text;
      },
    };
  }
}

/** A URL as it may be shown: no user name, password or query string (where tokens go). */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(an invalid URL)';
  }
}

/** An MCP tool result as text for the model: its text parts, and structured content as JSON. */
function contentText(result: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const item of Array.isArray(result.content) ? (result.content as Array<Record<string, unknown>>) : []) {
    if (item.type === 'text' && typeof item.text === 'string') parts.push(item.text);
    else if (item.type === 'resource' && typeof (item.resource as Record<string, unknown> | undefined)?.text === 'string') parts.push(String((item.resource as Record<string, unknown>).text));
    else if (item.type === 'image' || item.type === 'audio') parts.push(`[${item.type}: ${typeof item.mimeType === 'string' ? item.mimeType : 'binary'}, not shown]`);
    else if (item.type === 'resource_link') parts.push(`[resource: ${typeof item.uri === 'string' ? item.uri : ''}]`);
  }
  if (parts.length === 0 && result.structuredContent !== undefined) parts.push(JSON.stringify(result.structuredContent));
  return parts.join('\n');
}

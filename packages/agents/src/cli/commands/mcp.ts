import { serveTeamOverStdio } from '../../mcp/team-server.js';
import { type GlobalOptions, openFromOptions } from '../context.js';
import { durationMs } from '../spec.js';

export interface McpOptions extends GlobalOptions {
  leaseMs?: number;
  idle?: string;
}

/**
 * `agent-team mcp`: the team as an MCP server on stdio. Standard output is
 * the protocol's, so everything else goes to standard error. Runs until the
 * client closes the connection (or SIGINT/SIGTERM); claims the client still
 * holds then are left to expire and come back to the team.
 */
export async function mcpCommand(opts: McpOptions): Promise<number> {
  const idleMs = opts.idle === undefined ? undefined : /^\d+$/.test(opts.idle) ? Number(opts.idle) : durationMs(opts.idle);
  // A client may be the first to use the workspace (adding tasks), so it is created when missing.
  const backend = await openFromOptions(opts, { create: true });
  try {
    if (!opts.quiet) process.stderr.write(`agent-team mcp: serving the team at ${backend.location} on stdio\n`);
    await serveTeamOverStdio({
      backend,
      ...(opts.leaseMs !== undefined ? { leaseMs: opts.leaseMs } : {}),
      ...(idleMs !== undefined ? { idleMs } : {}),
    });
    return 0;
  } finally {
    await backend.close();
  }
}

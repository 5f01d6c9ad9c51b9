import { ValidationError } from '@agent-team/core';
import { type Dashboard, isLoopback, startDashboard } from '../../serve/server.js';
import { CliError, type GlobalOptions, openFromOptions } from '../context.js';

export interface ServeOptions extends GlobalOptions {
  port: number;
  host: string;
  allowedHost?: string[];
}

/**
 * `agent-team serve`: the live web dashboard of a workspace or a redis:// team,
 * until SIGINT or SIGTERM (then it closes its connections and exits 0).
 * `hostGiven`: --host was on the command line, the only way to serve on an
 * address other than loopback.
 */
export async function serveCommand(opts: ServeOptions, hostGiven: boolean): Promise<number> {
  const backend = await openFromOptions(opts, { watch: false });
  let dashboard: Dashboard;
  try {
    dashboard = await startDashboard(backend, { port: opts.port, host: opts.host, allowRemote: hostGiven, ...(opts.allowedHost ? { allowedHosts: opts.allowedHost } : {}) });
  } catch (err) {
    await backend.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof ValidationError) throw new CliError(err.message, 2);
    if (code === 'EADDRINUSE') throw new CliError(`port ${opts.port} on ${opts.host} is already in use (another agent-team serve?): pick another with --port, or --port 0 for any free one`, 1);
    if (code === 'EACCES') throw new CliError(`not allowed to listen on port ${opts.port} on ${opts.host} (ports below 1024 need privileges): pick another with --port`, 1);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new CliError(`cannot listen on host "${opts.host}": it is not an address of this machine`, 2);
    throw err;
  }
  // Listening for the signals before the URL is printed: whoever reads it may stop the server at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  if (!isLoopback(opts.host)) {
    process.stderr.write(
      `warning: serving on ${opts.host}, not only on this machine: anyone who can reach ${dashboard.url} can read every task, result and event of the team (read-only, no authentication)\n`,
    );
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ url: dashboard.url, host: dashboard.host, port: dashboard.port, location: backend.location })}\n`);
  else {
    process.stdout.write(`${dashboard.url}\n`);
    if (!opts.quiet) process.stderr.write(`agent-team serve: the dashboard of ${backend.location}; Ctrl-C stops it\n`);
  }
  await stopped;
  await dashboard.close();
  await backend.close();
  return 0;
}

import path from 'node:path';
import { type Backend, ValidationError, openBackend } from '@agent-team/core';
import { CliError } from './errors.js';

/** Options every command takes. */
export interface GlobalOptions {
  workspace: string;
  backend?: string;
  namespace?: string;
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
}

export { CliError } from './errors.js';

/**
 * Opens the backend the options name: `--backend redis://...`, or the
 * `--workspace` folder. With `create: false` a missing workspace is an error
 * (reading commands must not create one by accident).
 */
export async function openFromOptions(opts: GlobalOptions, options: { create?: boolean; watch?: boolean } = {}): Promise<Backend> {
  if (opts.backend) {
    try {
      return await openBackend(opts.backend, { namespace: opts.namespace ?? 'team', watch: options.watch ?? true });
    } catch (err) {
      if (err instanceof ValidationError) throw new CliError((err as Error).message, 2);
      throw err;
    }
  }
  const dir = path.resolve(opts.workspace);
  try {
    const backend = await openBackend(dir, { create: options.create ?? false, watch: options.watch ?? true });
    // A damaged file met by this command is moved aside; say so, once per file, on stderr.
    backend.events.on('file.quarantined', (event) => {
      process.stderr.write(`warning: ${event.file}: ${event.reason}; moved to ${event.quarantinedAs}\n`);
    });
    return backend;
  } catch (err) {
    if (err instanceof ValidationError || (err as Error).name === 'WorkspaceError') throw new CliError((err as Error).message, 2);
    throw err;
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

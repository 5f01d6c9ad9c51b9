import fs from 'node:fs';
import { ValidationError, assertValidId, describeValue, realRoot, resolveConfined } from '@agent-team/core';

/** The folder under a root that holds agents' scratch folders, unless told otherwise. */
export const DEFAULT_AGENTS_FOLDER = '.agents';

export interface AgentWorkdirOptions {
  /**
   * The folder, relative to `root`, that holds one sub-folder per agent. It is
   * confined like every codebase path (no `..`, no link leading out).
   * @default '.agents'
   */
  base?: string;
}

/**
 * Creates (if missing) and returns the absolute real path of an agent's own
 * working folder, `<root>/<base>/<agentId>`: scratch space for notes, drafts
 * and generated files, apart from the shared code. `agentId` must be a valid
 * id (no separators, no `..`), and the folder must resolve inside `root`, so
 * a `.agents` link pointing elsewhere is refused.
 *
 * Give it to the agent as a codebase of its own, e.g.
 * `new Codebase(agentWorkdir(root, 'w1'), { allowWrite: true })`. The shared
 * {@link Codebase} skips `.agents` in listings and searches by default.
 *
 * @throws InvalidIdError for a bad agent id; PathOutsideRootError for a base escaping the root.
 */
export function agentWorkdir(root: string, agentId: string, options: AgentWorkdirOptions = {}): string {
  assertValidId('agent', agentId);
  const rootReal = realRoot(root);
  const base = options.base ?? DEFAULT_AGENTS_FOLDER;
  const relative = `${base.replace(/\/+$/, '')}/${agentId}`;
  const planned = resolveConfined(rootReal, relative);
  if (!planned.exists) fs.mkdirSync(planned.absolute, { recursive: true });
  // Check again after creating: a link planted at a new folder's name would show here.
  const made = resolveConfined(rootReal, relative);
  if (!made.exists || !fs.statSync(made.absolute).isDirectory()) {
    throw new ValidationError(`working folder ${describeValue(relative)} for agent "${agentId}" is not a folder: remove what is there`);
  }
  return made.absolute;
}

import { Codebase } from '../codebase/codebase.js';
import { codebaseTools } from '../codebase/codebase-tools.js';
import type { ExecutableTool } from '../models/index.js';

export interface WorktreeToolsOptions {
  /** The agent: owner of its writes. */
  owner: string;
  /** `write` gets write tools, `read` only the reading ones. */
  mode: 'write' | 'read';
  /** What `run_command` may start (the codebase's `commands`). */
  commands: readonly string[];
}

/**
 * The seam between the git flow and the coding tools: the file tools of one
 * task, rooted at its worktree. The tools (packages/agents/src/codebase/)
 * confine every path to `root`; this is the one place that decides which
 * root a task's agent gets.
 */
export function toolsForWorktree(root: string, options: WorktreeToolsOptions): { codebase: Codebase; tools: ExecutableTool[] } {
  const codebase = new Codebase(root, { owner: options.owner, allowWrite: options.mode === 'write' });
  return { codebase, tools: codebaseTools(codebase) };
}

// Shared codebases: file tools confined to a root, per-agent working folders.
// Resource locks and path confinement live in @agent-team/core.

export {
  Codebase,
  CodebaseAccessError,
  StaleFileError,
  type WriteOptions,
  type EditOptions,
  type EditResult,
  type CodebaseOptions,
  type ReadOptions,
  type ReadResult,
  type ListOptions,
  type ListEntry,
  type ListResult,
  type SearchOptions,
  type SearchMatch,
  type SearchResult,
  type WriteResult,
  type LockFileOptions,
} from './codebase.js';
export { codebaseTools, formatRead, formatList, formatSearch, type CodebaseToolsOptions } from './codebase-tools.js';
export { runCommandTool, defaultCommandRules, type CommandRule, type RunCommandOptions } from './run-command.js';
export { agentWorkdir, DEFAULT_AGENTS_FOLDER, type AgentWorkdirOptions } from './agent-workdir.js';
export { compileGlob, type GlobMatcher } from './glob.js';

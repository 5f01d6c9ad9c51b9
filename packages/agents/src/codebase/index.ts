// Shared codebases: file tools confined to a root, per-agent working folders.
// Resource locks and path confinement live in @agent-team/core.

export {
  Codebase,
  CodebaseAccessError,
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
export { codebaseTools, formatRead, formatList, formatSearch } from './codebase-tools.js';
export { agentWorkdir, DEFAULT_AGENTS_FOLDER, type AgentWorkdirOptions } from './agent-workdir.js';
export { compileGlob, type GlobMatcher } from './glob.js';
export { compileLinear, MAX_PATTERN_LENGTH, type LinearRegex } from './patterns.js';

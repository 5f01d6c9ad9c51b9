export { git, gitVersion, GitError, type GitOptions, type GitResult } from './git.js';
export {
  TeamRepo,
  isCodingResult,
  runTestCommand,
  testSummary,
  clipTail,
  checkCodebaseConfig,
  DEFAULT_READ_ONLY_GIT,
  type CodebaseConfig,
  type CodingResult,
  type MergeOutcome,
  type TaskWorktree,
  type TestOutcome,
} from './team-repo.js';
export { toolsForWorktree, type WorktreeToolsOptions } from './worktree-tools.js';
export { GIT_EVENT_TYPES } from './events.js';
export {
  codingContext,
  finishCodingTask,
  mergeCodingTask,
  mergeFeedback,
  reviewMaterial,
  takesWorktree,
  type CodebaseMode,
  type CodingContext,
  type MergeVerdict,
} from './coding-flow.js';

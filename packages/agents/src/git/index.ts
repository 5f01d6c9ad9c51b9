// Coding teams on a git repository: a worktree per task, commits, a merge queue.
export { TeamRepo, type TeamCodebaseOptions, type TestOutcome, type CommitInfo, type MergeOutcome } from './team-repo.js';
export { GitError } from './git.js';
export { GIT_EVENT_TYPES } from './events.js';

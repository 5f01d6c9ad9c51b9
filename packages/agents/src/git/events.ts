// The events of coding teams on git, added to core's typed event map (see docs/events.md).
import type { TeamEventType } from '@agent-team/core';

declare module '@agent-team/core' {
  interface TeamEventMap {
    /** A task's worktree is ready (made, or reused after a killed worker). */
    'git.worktree': { taskId: string; agentId: string; branch: string; path: string; reused: boolean };
    /** The agent's changes were committed on the task branch. */
    'git.committed': { taskId: string; agentId: string; branch: string; commit: string; files: number; insertions: number; deletions: number };
    /** The task branch was merged into mergeInto. */
    'git.merged': { taskId: string; agentId: string; branch: string; into: string; commit: string; previous: string };
    /** A merge was refused (conflict or failing test) and undone; the task starts again from mergeInto. */
    'git.merge_failed': { taskId: string; agentId: string; branch: string; into: string; reason: string; kept: string };
  }
}

export const GIT_EVENT_TYPES = ['git.worktree', 'git.committed', 'git.merged', 'git.merge_failed'] as const satisfies readonly TeamEventType[];

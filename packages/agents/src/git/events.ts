// The events of coding teams (a team's git repository), added to core's typed event map (see docs/events.md).
import type { TeamEventType } from '@agent-team/core';

declare module '@agent-team/core' {
  interface TeamEventMap {
    /** A coding task's work was committed on its branch (`commit`: the branch's tip to merge; null when nothing is left to merge). */
    'git.committed': { taskId: string; agentId: string; branch: string; commit: string | null; diffStat: string };
    /** The merge queue merged a task's branch into `into` (tests passed, when there are tests). */
    'git.merged': { taskId: string; agentId: string; into: string; commit: string };
    /** The merge queue refused a task's branch; the task starts over from the merged code, or fails after its attempts. */
    'git.merge_refused': { taskId: string; agentId: string; reason: 'conflict' | 'tests'; detail: string };
  }
}

/** The event types coding teams add to `TeamEventMap`. */
export const GIT_EVENT_TYPES = ['git.committed', 'git.merged', 'git.merge_refused'] as const satisfies readonly TeamEventType[];

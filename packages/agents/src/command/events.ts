// The events command agents write, added to core's typed event map (see docs/events.md).
import type { TeamEventType } from '@agent-team/core';

declare module '@agent-team/core' {
  interface TeamEventMap {
    /** A command agent's program started for a task. */
    'command.started': { taskId: string; agentId: string; attempt: number; command: string; cwd: string; pid: number };
    /** A line of its output (a preset's summary of one event); `note` counts lines not logged. */
    'command.output': { taskId: string; agentId: string; attempt: number; stream: 'stdout' | 'stderr' | 'note'; line: string };
    /** It ended. */
    'command.finished': {
      taskId: string;
      agentId: string;
      attempt: number;
      exitCode: number | null;
      signal: string | null;
      timedOut: boolean;
      durationMs: number;
      outputBytes: number;
    };
  }
}

/** The event types command agents add to `TeamEventMap`. */
export const COMMAND_EVENT_TYPES = ['command.started', 'command.output', 'command.finished'] as const satisfies readonly TeamEventType[];

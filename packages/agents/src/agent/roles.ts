import type { ClaimFilter } from '@agent-team/core';

/** The four roles of a team. `AgentRole.LEAD` etc. keep the seed design's spelling. */
export const AgentRole = {
  LEAD: 'lead',
  WORKER: 'worker',
  REVIEWER: 'reviewer',
  SPECIALIST: 'specialist',
} as const;

export type AgentRole = (typeof AgentRole)[keyof typeof AgentRole];

export const AGENT_ROLES: readonly AgentRole[] = Object.values(AgentRole);

export function isAgentRole(value: unknown): value is AgentRole {
  return typeof value === 'string' && (AGENT_ROLES as readonly string[]).includes(value);
}

/**
 * What each role claims. A task's `requires` names a role or a specialty:
 * every agent satisfies its own role's name, a specialist also its specialty.
 * - lead: planning, aggregation and synthesis
 * - worker: plain tasks and Mixture-of-Agents proposals
 * - reviewer: review tasks
 * - specialist: tasks that require its specialty (any type), and plain tasks only when configured to
 */
export function roleClaimFilter(role: AgentRole, options: { specialty?: string; takePlainTasks?: boolean } = {}): ClaimFilter {
  switch (role) {
    case 'lead':
      return { types: ['plan', 'aggregate', 'synthesize'], capabilities: ['lead'], acceptUnrequired: true };
    case 'worker':
      return { types: ['task', 'propose'], capabilities: ['worker'], acceptUnrequired: true };
    case 'reviewer':
      return { types: ['review'], capabilities: ['reviewer'], acceptUnrequired: true };
    case 'specialist':
      return {
        types: options.takePlainTasks ? ['task', 'propose', 'review'] : undefined,
        capabilities: ['specialist', ...(options.specialty ? [options.specialty] : [])],
        acceptUnrequired: options.takePlainTasks ?? false,
      };
  }
}

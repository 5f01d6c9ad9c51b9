// Type tests (checked by `pnpm typecheck`, i.e. tsc in CI): the team's
// on/off/emit are typed by the event map, including the events the agents
// layer adds to it. Each `@ts-expect-error` fails the check if its line compiles.
import type { TeamEvent } from '@agent-team/core';
import { describe, expectTypeOf, it } from 'vitest';
import type { AgentTeam} from '../src/index.js';
import { type RunSummary } from '../src/index.js';

declare const team: AgentTeam;

describe('AgentTeam events', () => {
  it("types core's events and the agents layer's", () => {
    team.on('task.completed', (event) => expectTypeOf(event.attempt).toEqualTypeOf<number>());
    team.on('plan.created', (event) => expectTypeOf(event.tasks).toEqualTypeOf<string[]>());
    team.on('review.verdict', (event) => expectTypeOf(event.verdict).toEqualTypeOf<'approve' | 'changes'>());
    team.on('model.call', (event) => expectTypeOf(event.costUsd).toEqualTypeOf<number | null>());
    team.on('team.summary', (event) => expectTypeOf(event.summary).toEqualTypeOf<RunSummary>());
    team.on('moa.delta', (event) => expectTypeOf(event.delta).toEqualTypeOf<string>());
    team.on('*', (event) => expectTypeOf(event).toEqualTypeOf<TeamEvent>());
  });

  it('refuses a misspelt name, a wrong field and a wrong payload', () => {
    // @ts-expect-error the misspelling from issue 12
    team.on('task.compleeted', () => {});
    team.on('plan.created', (event) => {
      // @ts-expect-error plan.created has `tasks`, not `steps`
      void event.steps;
    });
    const onClaimed = (event: TeamEvent<'task.claimed'>) => void event.leaseUntil;
    team.on('task.claimed', onClaimed);
    team.off('task.claimed', onClaimed);
    // @ts-expect-error a task.claimed listener for task.completed
    team.off('task.completed', onClaimed);
    // @ts-expect-error emit with a payload that lacks the event's fields
    team.emit('team.finished', { type: 'team.finished', teamId: 't' });
  });
});

import type { JsonSchema } from '../models/index.js';

/** One step of a plan, as the lead's model proposes it. */
export interface PlanStep {
  /** Short kebab-case id, unique in the plan (`research`, `impl-parser`). */
  id: string;
  description: string;
  /** Ids of earlier steps this one needs. */
  dependencies: string[];
  /** A role or specialty the step needs (`security`, `docs`, ...). */
  requires?: string;
  /** Hold the result for a reviewer's approval. */
  review?: boolean;
}

export interface Plan {
  tasks: PlanStep[];
}

export const PLAN_STEP_ID = /^[a-z0-9][a-z0-9-]{0,47}$/;

/** The JSON Schema the lead asks for. Semantic checks (a DAG, known ids) are in {@link planProblems}. */
export const PLAN_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['tasks'],
  properties: {
    tasks: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['id', 'description', 'dependencies'],
        properties: {
          id: { type: 'string', description: 'short kebab-case id, unique in the plan' },
          description: { type: 'string', description: 'what to do, self-contained' },
          dependencies: { type: 'array', items: { type: 'string' }, description: 'ids of steps that must finish first' },
          requires: { type: 'string', description: 'a specialty the step needs, if any' },
          review: { type: 'boolean', description: 'true if a reviewer must approve the result' },
        },
      },
    },
  },
};

/**
 * The plan schema for a team: `requires` may only name a specialty some agent
 * has (an enum), and is left out when the team has no specialists; `review`
 * is left out when nobody can review.
 */
export function planSchemaFor(specialties: readonly string[], options: { reviewers?: boolean } = {}): JsonSchema {
  const items = (PLAN_SCHEMA.properties as { tasks: { items: { properties: Record<string, JsonSchema> } } }).tasks.items;
  const { requires: _requires, review, ...rest } = items.properties;
  const properties: Record<string, JsonSchema> = {
    ...rest,
    // Only what the team can do: a review flag without reviewers, or a specialty nobody has, would stall the plan.
    ...(options.reviewers === false ? {} : { review: review as JsonSchema }),
    ...(specialties.length > 0
      ? { requires: { type: 'string', enum: [...specialties], description: 'the specialty the task needs, if any' } }
      : {}),
  };
  return {
    type: 'object',
    required: ['tasks'],
    properties: {
      tasks: { type: 'array', minItems: 1, items: { type: 'object', required: ['id', 'description', 'dependencies'], properties, additionalProperties: false } },
    },
  };
}

export interface PlanCheckOptions {
  /** Requirements some agent can satisfy; a step requiring anything else is a problem. */
  capabilities?: ReadonlySet<string>;
  /** Largest plan accepted. @default 50 */
  maxSteps?: number;
}

/**
 * Everything wrong with a plan, in sentences the model can act on: empty,
 * bad or duplicate ids, unknown dependencies, cycles, requirements no agent
 * has. Empty when the plan is a valid DAG.
 */
export function planProblems(plan: Plan, options: PlanCheckOptions = {}): string[] {
  const problems: string[] = [];
  const steps = Array.isArray(plan?.tasks) ? plan.tasks : [];
  if (steps.length === 0) return ['the plan is empty: give at least one task'];
  const max = options.maxSteps ?? 50;
  if (steps.length > max) problems.push(`the plan has ${steps.length} tasks; keep it to at most ${max}`);
  const ids = new Set<string>();
  for (const step of steps) {
    if (typeof step.id !== 'string' || !PLAN_STEP_ID.test(step.id)) {
      problems.push(`task id ${JSON.stringify(step.id)} is not a short kebab-case id (a-z, 0-9, -)`);
    } else if (ids.has(step.id)) {
      problems.push(`task id "${step.id}" is used twice`);
    }
    ids.add(step.id);
    if (typeof step.description !== 'string' || step.description.trim() === '') {
      problems.push(`task "${step.id}" has no description`);
    }
    if (step.requires !== undefined && options.capabilities && !options.capabilities.has(step.requires)) {
      problems.push(
        `task "${step.id}" requires "${step.requires}", which no agent on the team has; use one of ${[...options.capabilities].sort().join(', ')} or leave requires out`,
      );
    }
  }
  for (const step of steps) {
    for (const dep of Array.isArray(step.dependencies) ? step.dependencies : []) {
      if (dep === step.id) problems.push(`task "${step.id}" depends on itself`);
      else if (!ids.has(dep)) problems.push(`task "${step.id}" depends on "${dep}", which is not in the plan`);
    }
    if (!Array.isArray(step.dependencies)) problems.push(`task "${step.id}" needs a dependencies array (may be empty)`);
  }
  const cycle = findCycle(steps);
  if (cycle) problems.push(`the dependencies form a cycle: ${cycle.join(' -> ')}; a task cannot wait for itself`);
  return problems;
}

function findCycle(steps: readonly PlanStep[]): string[] | null {
  const deps = new Map(steps.map((s) => [s.id, Array.isArray(s.dependencies) ? s.dependencies : []]));
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    state.set(id, 1);
    path.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep) || dep === id) continue;
      if (state.get(dep) === 1) return [...path.slice(path.indexOf(dep)), dep];
      if (!state.has(dep)) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    path.pop();
    state.set(id, 2);
    return null;
  };
  for (const id of deps.keys()) {
    if (!state.has(id)) {
      const found = visit(id);
      if (found) return found;
    }
  }
  return null;
}

/** Steps no other step depends on: what the final synthesis needs. */
export function planSinks(plan: Plan): string[] {
  const needed = new Set(plan.tasks.flatMap((s) => s.dependencies));
  return plan.tasks.filter((s) => !needed.has(s.id)).map((s) => s.id);
}

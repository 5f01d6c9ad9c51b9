import { ValidationError, type TaskInput, type TaskRecord } from '@agent-team/core';
import { createHash } from 'node:crypto';
import { Agent, type AgentOptions } from '../agent/agent.js';
import { asText, clip } from '../agent/prompts.js';
import type { TaskContext } from '../agent/task-context.js';
import { type LanguageModel, generateObject } from '../models/index.js';
import { isMoaAggregate, runMoaAggregate, runSynthesize } from '../moa/queue-moa.js';
import { type Plan, planProblems, planSchemaFor, planSinks } from '../team/plan.js';

/** What a plan task returns. */
export interface PlanResult {
  goal: string;
  tasks: Array<{ id: string; description: string; dependencies: string[]; requires?: string; review?: boolean }>;
  /** The lead's final synthesis task, if one was added. */
  synthesis: string | null;
  /** Plan proposals made, re-asks included. */
  rounds: number;
}

/**
 * The lead: turns goals into task DAGs (structured output checked against a
 * schema and for being a DAG, re-asked when not, optionally approved before it
 * is enqueued), and synthesises results: plain aggregation of a task's
 * dependencies, and Mixture-of-Agents synthesize/aggregate tasks.
 */
export class LeadAgent extends Agent {
  constructor(id: string, model: LanguageModel, options: AgentOptions = {}) {
    super(id, 'lead', model, options);
  }

  override async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
    switch (task.type) {
      case 'plan':
        return this.plan(task, ctx);
      case 'synthesize':
        return runSynthesize(task, ctx);
      case 'aggregate':
        if (isMoaAggregate(task)) {
          return runMoaAggregate(this, task, ctx, (delta) => this.runtime.notify({ type: 'moa.delta', taskId: task.id, agentId: this.id, delta }));
        }
        return this.aggregate(task, ctx);
      default:
        return super.execute(task, ctx);
    }
  }

  /** Plans a goal into tasks and enqueues them (with a final synthesis unless `metadata.synthesize` is false). */
  async plan(task: TaskRecord, ctx: TaskContext): Promise<PlanResult> {
    const runtime = this.runtime;
    const goal = typeof task.metadata.goal === 'string' ? task.metadata.goal : task.description;
    const capabilities = runtime.capabilities();
    const reviewers = capabilities.has('reviewer');
    const schema = planSchemaFor(specialtiesOf(capabilities), { reviewers });
    let feedback: string | undefined;
    let rounds = 0;
    let rejections = 0;
    let plan: Plan;
    for (;;) {
      const { object, attempts } = await generateObject<Plan>(ctx.model, {
        purpose: 'plan',
        schema,
        schemaName: 'plan',
        maxRepairs: runtime.settings.maxPlanRepairs,
        validate: (candidate) => planProblems(candidate, { capabilities }),
        system: this.systemPrompt(),
        messages: [{ role: 'user', content: planPrompt(goal, capabilities, reviewers, feedback) }],
        signal: ctx.signal,
      });
      rounds += attempts;
      plan = object;
      runtime.emit({ type: 'plan.proposed', taskId: task.id, agentId: this.id, steps: plan.tasks.length });
      const decision = runtime.hooks.approvePlan ? await runtime.hooks.approvePlan(plan, goal) : true;
      const approved = typeof decision === 'boolean' ? decision : decision.approved;
      if (approved) break;
      feedback = typeof decision === 'object' && decision.feedback ? decision.feedback : 'the plan was not approved; propose a different one';
      runtime.emit({ type: 'plan.rejected', taskId: task.id, agentId: this.id, feedback });
      rejections += 1;
      if (rejections > runtime.settings.maxPlanRepairs) {
        throw new ValidationError(`the plan for "${task.id}" was rejected ${rejections} times; last feedback: ${feedback}`);
      }
    }
    const prefix = task.id.length <= 72 ? task.id : `plan-${createHash('sha256').update(task.id).digest('hex').slice(0, 12)}`;
    const idOf = (step: string) => `${prefix}.${step}`;
    const inputs: TaskInput[] = plan.tasks.map((step) => ({
      id: idOf(step.id),
      description: step.description,
      dependencies: step.dependencies.map(idOf),
      priority: task.priority,
      idempotencyKey: `plan:${task.id}:${step.id}`,
      ...(step.requires ? { requires: step.requires } : {}),
      metadata: { plan: task.id, step: step.id, goal, ...(step.review ? { review: true } : {}) },
    }));
    let synthesis: string | null = null;
    if (task.metadata.synthesize !== false) {
      synthesis = idOf('synthesis');
      inputs.push({
        id: synthesis,
        type: 'aggregate',
        description: `Synthesize the final answer to the goal from the team's results: ${goal}`,
        dependencies: planSinks(plan).map(idOf),
        allowFailed: true,
        priority: task.priority,
        idempotencyKey: `plan:${task.id}:synthesis`,
        metadata: { plan: task.id, goal, final: true },
      });
    }
    await ctx.addTasks(inputs);
    runtime.emit({ type: 'plan.created', taskId: task.id, agentId: this.id, tasks: inputs.flatMap((i) => (i.id === undefined ? [] : [i.id])) });
    return {
      goal,
      tasks: plan.tasks.map((step) => ({
        id: idOf(step.id),
        description: step.description,
        dependencies: step.dependencies.map(idOf),
        ...(step.requires ? { requires: step.requires } : {}),
        ...(step.review ? { review: true } : {}),
      })),
      synthesis,
      rounds,
    };
  }

  /** Writes one answer from the results of the task's dependencies, citing them. */
  async aggregate(task: TaskRecord, ctx: TaskContext): Promise<string> {
    const done = ctx.dependencies.filter((d) => d.status === 'completed');
    const missing = ctx.dependencies.filter((d) => d.status !== 'completed');
    const references = done.map((d, i) => `[${i + 1}] ${d.description}\n${clip(asText(d.result), 4000)}`).join('\n\n');
    // What is asked comes first: it is what any model (the offline one included) answers.
    const goal = typeof task.metadata.goal === 'string' ? task.metadata.goal : task.description;
    const lines = [
      goal,
      '',
      `(Task ${task.id}: ${task.description})`,
      '',
      done.length > 0 ? `Results from the team:\n\n${references}` : 'No team results are available.',
    ];
    if (missing.length > 0) lines.push('', `Missing (not completed): ${missing.map((d) => `${d.id} (${d.status})`).join(', ')}`);
    lines.push('', 'Write the final answer. Draw on the results, cite them as [1], [2], ..., and say what is missing.');
    const response = await ctx.model.generate({
      purpose: 'aggregate',
      system: this.systemPrompt(),
      messages: [{ role: 'user', content: lines.join('\n') }],
      signal: ctx.signal,
      ...(this.options.maxTokens !== undefined ? { maxTokens: this.options.maxTokens } : {}),
    });
    return response.text;
  }
}

/** Requirements a plan may name: specialties, not the role names every agent of a role has. */
function specialtiesOf(capabilities: ReadonlySet<string>): string[] {
  return [...capabilities].filter((c) => !['lead', 'worker', 'reviewer', 'specialist'].includes(c)).sort();
}

function planPrompt(goal: string, capabilities: ReadonlySet<string>, reviewers: boolean, feedback?: string): string {
  const specialties = specialtiesOf(capabilities);
  const lines = [
    'Goal:',
    goal.trim(),
    '',
    'Break the goal into 3 to 8 tasks that other agents can do, as a dependency graph: give each task a short ' +
      'kebab-case id, a self-contained description, and the ids of the tasks it needs first (earlier tasks only). ' +
      'Independent tasks run in parallel. Do not add a final summary task: the lead writes the synthesis.',
  ];
  lines.push(
    reviewers
      ? 'Set "review": true on tasks whose result a reviewer should check before others build on it.'
      : 'Leave "review" out: the team has no reviewer.',
  );
  if (specialties.length > 0) {
    lines.push(`Set "requires" to one of ${specialties.join(', ')} for tasks that need that specialty; otherwise leave it out.`);
  } else {
    lines.push('Leave "requires" out: the team has no specialists.');
  }
  if (feedback) lines.push('', `Feedback on the previous plan (address it): ${feedback}`);
  return lines.join('\n');
}

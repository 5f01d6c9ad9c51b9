import type { TaskRecord } from '@agent-team/core';
import { Agent, type AgentOptions } from '../agent/agent.js';
import type { TaskContext } from '../agent/task-context.js';
import type { LanguageModel } from '../models/index.js';
import { runProposal } from '../moa/queue-moa.js';
import { performReview } from './review.js';

/**
 * Brings one specialty (security, performance, docs, ...): takes tasks that
 * require it, of any type (a security review is a review), and plain tasks
 * only with `takePlainTasks`.
 */
export class SpecialistAgent extends Agent {
  constructor(id: string, model: LanguageModel, options: AgentOptions & { specialty: string }) {
    super(id, 'specialist', model, options);
  }

  get specialty(): string {
    return this.options.specialty as string;
  }

  override async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
    if (task.type === 'review') return performReview(this, this.runtime, task, ctx);
    if (task.type === 'propose') return runProposal(this, task, ctx);
    return super.execute(task, ctx);
  }
}

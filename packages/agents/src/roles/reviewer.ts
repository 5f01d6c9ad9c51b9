import type { TaskRecord } from '@agent-team/core';
import { Agent, type AgentOptions } from '../agent/agent.js';
import type { TaskContext } from '../agent/task-context.js';
import type { LanguageModel } from '../models/index.js';
import { performReview } from './review.js';

/** Takes review tasks: approves held results or re-opens them with feedback. */
export class ReviewerAgent extends Agent {
  constructor(id: string, model: LanguageModel, options: AgentOptions = {}) {
    super(id, 'reviewer', model, options);
  }

  override async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
    if (task.type === 'review') return performReview(this, this.runtime, task, ctx);
    return super.execute(task, ctx);
  }
}

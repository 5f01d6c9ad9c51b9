import type { TaskRecord } from '@agent-team/core';
import { Agent, type AgentOptions } from '../agent/agent.js';
import type { TaskContext } from '../agent/task-context.js';
import type { LanguageModel } from '../models/index.js';
import { runProposal } from '../moa/queue-moa.js';

/** Takes plain tasks and Mixture-of-Agents proposals. */
export class WorkerAgent extends Agent {
  constructor(id: string, model: LanguageModel, options: AgentOptions = {}) {
    super(id, 'worker', model, options);
  }

  override async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
    if (task.type === 'propose') return runProposal(this, task, ctx);
    return super.execute(task, ctx);
  }
}

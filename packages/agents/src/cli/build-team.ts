import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Backend, TaskInput } from '@agent-team/core';
import { checkModelSpec, resolveModel } from '../agent/model-registry.js';
import type { AgentRole } from '../agent/roles.js';
import { CommandAgent } from '../command/command-agent.js';
import type { TeamCodebaseOptions } from '../git/team-repo.js';
import { type LanguageModel, createModel, withCache } from '../models/index.js';
import { synthesizeTask } from '../moa/queue-moa.js';
import { AgentTeam } from '../team/agent-team.js';
import { type AgentSpec, type ModelRef, type TeamSpec, durationMs } from './spec.js';

/**
 * Builds every model of a spec first, so a missing key or a bad model spec
 * fails before anything is written.
 */
export function buildModels(spec: TeamSpec, specDir: string): Map<string, LanguageModel> {
  const models = new Map<string, LanguageModel>();
  const cache = spec.cache && spec.cache.mode !== 'off' ? { mode: spec.cache.mode, dir: path.resolve(specDir, spec.cache.dir) } : null;
  for (const agent of spec.agents) {
    if (isCommandAgent(agent)) {
      // Built once here only to be checked (a missing ${VAR}, a bad command) before anything is written.
      commandAgentFromSpec(agent, specDir);
      continue;
    }
    let model = modelFrom(agent.model as ModelRef);
    if (cache) model = withCache(model, cache);
    models.set(agent.id, model);
  }
  for (const m of spec.moa ?? []) {
    const specs = Array.isArray(m.proposers) ? m.proposers.map((p) => p.model) : [m.proposers.model];
    for (const s of [...specs, m.aggregator?.model]) if (s !== undefined) checkModelSpec(s);
  }
  return models;
}

function modelFrom(ref: ModelRef): LanguageModel {
  if (typeof ref === 'string') return resolveModel(ref);
  const { spec, latencyMs, failureRate, reviewChangesFirst, baseURL, maxConcurrency, timeoutMs, promptCacheKey } = ref;
  return createModel(spec, {
    ...(baseURL ? { baseURL } : {}),
    ...(maxConcurrency ? { maxConcurrency } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(promptCacheKey !== undefined ? { promptCacheKey } : {}),
    offline: {
      ...(latencyMs !== undefined ? { latencyMs } : {}),
      ...(failureRate !== undefined ? { failureRate } : {}),
      ...(reviewChangesFirst !== undefined ? { reviewChangesFirst } : {}),
    },
  });
}

/** The tasks of a spec, as one batch (the goal's plan task, explicit tasks, MoA tasks). */
export function specTasks(spec: TeamSpec): TaskInput[] {
  const inputs: TaskInput[] = [];
  if (spec.goal) {
    inputs.push({
      id: 'goal',
      type: 'plan',
      priority: 10,
      description: `Plan the work for the goal: ${spec.goal}`,
      metadata: { goal: spec.goal, synthesize: true },
      idempotencyKey: `spec-goal:${spec.goal}`,
    });
  }
  // Idempotency keys make a re-run of the same spec on the same workspace resume instead of failing on existing ids.
  for (const task of spec.tasks ?? []) {
    const { review, ...rest } = task;
    // A task without an id gets one from its content: ids appear in prompts, so a generated
    // (time-based) id would make the answers of two runs of one spec differ.
    const id = task.id ?? `t-${digest(task.description, task.dependencies ?? [])}`;
    inputs.push({
      ...rest,
      id,
      idempotencyKey: `spec-task:${id}`,
      ...(review !== undefined ? { metadata: { ...(rest.metadata ?? {}), review } } : {}),
    });
  }
  for (const m of spec.moa ?? []) {
    const id = m.id ?? `moa-${digest(m.prompt, [])}`;
    inputs.push(synthesizeTask({ ...m, id, idempotencyKey: `spec-moa:${id}` }));
  }
  return inputs;
}

export interface TeamFromSpec {
  team: AgentTeam;
  timeoutMs: number | undefined;
}

function isCommandAgent(agent: AgentSpec): boolean {
  return agent.command !== undefined || agent.preset !== undefined;
}

/** A spec's command agent; relative folders are relative to the spec file. */
export function commandAgentFromSpec(agent: AgentSpec, specDir: string): CommandAgent {
  return new CommandAgent(agent.id, agent.role as 'worker' | 'specialist', {
    ...(agent.command !== undefined ? { command: agent.command } : {}),
    ...(agent.preset !== undefined ? { preset: agent.preset } : {}),
    ...(agent.args ? { args: agent.args } : {}),
    ...(agent.shell !== undefined ? { shell: agent.shell } : {}),
    ...(agent.env ? { env: agent.env } : {}),
    ...(agent.inheritEnv !== undefined ? { inheritEnv: agent.inheritEnv } : {}),
    ...(agent.timeout !== undefined ? { timeoutMs: durationMs(agent.timeout) } : {}),
    ...(agent.cwd ? { cwd: path.resolve(specDir, agent.cwd) } : {}),
    ...(agent.maxOutputBytes ? { maxOutputBytes: agent.maxOutputBytes } : {}),
    ...(agent.specialty ? { specialty: agent.specialty } : {}),
    ...(agent.takePlainTasks !== undefined ? { takePlainTasks: agent.takePlainTasks } : {}),
    ...(agent.concurrency ? { concurrency: agent.concurrency } : {}),
    ...(agent.system ? { system: agent.system } : {}),
    ...(agent.codebase ? { codebase: agent.codebase } : {}),
    workdir: specDir,
  });
}

/** The spec's codebase section as team options: the repository relative to the spec file. */
export function codebaseFromSpec(codebase: NonNullable<TeamSpec['codebase']>, specDir: string): TeamCodebaseOptions {
  return {
    repo: path.resolve(specDir, codebase.repo),
    ...(codebase.base ? { base: codebase.base } : {}),
    ...(codebase.test ? { test: codebase.test } : {}),
    ...(codebase.mergeInto ? { mergeInto: codebase.mergeInto } : {}),
    ...(codebase.isolation ? { isolation: codebase.isolation } : {}),
    ...(codebase.commands ? { commands: codebase.commands } : {}),
    ...(codebase.env ? { env: codebase.env } : {}),
    ...(codebase.testTimeout !== undefined ? { testTimeoutMs: durationMs(codebase.testTimeout) } : {}),
    ...(codebase.allowFailingTests !== undefined ? { allowFailingTests: codebase.allowFailingTests } : {}),
  };
}

/** A team for a spec on an open backend, with its agents (models already built). */
export function teamFromSpec(spec: TeamSpec, backend: Backend, models: Map<string, LanguageModel>, specDir = process.cwd()): TeamFromSpec {
  const team = new AgentTeam({
    backend,
    teamId: spec.team?.id ?? 'team',
    ...(spec.budget ? { budget: spec.budget } : {}),
    ...(spec.leaseMs ? { leaseMs: spec.leaseMs } : {}),
    ...(spec.maxAttempts ? { maxAttempts: spec.maxAttempts } : {}),
    ...(spec.maxReviewRounds ? { maxReviewRounds: spec.maxReviewRounds } : {}),
    ...(spec.reviewLimit ? { reviewLimit: spec.reviewLimit } : {}),
    ...(spec.codebase ? { codebase: codebaseFromSpec(spec.codebase, specDir) } : {}),
    ...(spec.mcpServers
      ? {
          mcpServers: Object.fromEntries(
            Object.entries(spec.mcpServers).map(([name, server]) => [name, 'cwd' in server && server.cwd ? { ...server, cwd: path.resolve(specDir, server.cwd) } : server]),
          ),
        }
      : {}),
  });
  for (const agent of spec.agents) {
    if (isCommandAgent(agent)) {
      team.addAgent(commandAgentFromSpec(agent, specDir));
      continue;
    }
    team.addAgent(agent.id, agent.role as AgentRole, models.get(agent.id) as LanguageModel, {
      ...(agent.specialty ? { specialty: agent.specialty } : {}),
      ...(agent.takePlainTasks !== undefined ? { takePlainTasks: agent.takePlainTasks } : {}),
      ...(agent.concurrency ? { concurrency: agent.concurrency } : {}),
      ...(agent.temperature !== undefined ? { temperature: agent.temperature } : {}),
      ...(agent.maxTokens ? { maxTokens: agent.maxTokens } : {}),
      ...(agent.system ? { system: agent.system } : {}),
      ...(agent.cache !== undefined ? { cache: agent.cache } : {}),
      ...(agent.codebase ? { codebase: agent.codebase } : {}),
      ...(agent.mcp ? { mcp: agent.mcp } : {}),
    });
  }
  return { team, timeoutMs: spec.timeout === undefined ? undefined : durationMs(spec.timeout) };
}

function digest(text: string, deps: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([text, deps])).digest('hex').slice(0, 16);
}

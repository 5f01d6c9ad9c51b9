import fs from 'node:fs';
import path from 'node:path';
import { ID_PATTERN, MAX_TIMER_MS, ValidationError } from '@agent-team/core';
import YAML from 'yaml';
import { z } from 'zod';
import { AGENT_ROLES } from '../agent/roles.js';
import { splitCommandLine } from '../command/command-line.js';
import { PRESET_NAMES } from '../command/presets.js';

/**
 * The team spec file: a documented, schema-validated description of a run
 * (agents, tasks or a goal, Mixture-of-Agents tasks, budgets, timeouts), in
 * JSON or YAML. See docs/spec.md.
 */

const id = z.string().regex(ID_PATTERN, 'must be 1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit');

const DURATION_HINT = `from 1 ms to ${MAX_TIMER_MS} ms (about 24.8 days, the longest timer Node.js runs)`;
const duration = z
  .union([
    z.number().int().positive(),
    z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h)$/, 'must be a number of ms, or a duration like "90s", "10m", "1h"'),
  ])
  .refine((value) => {
    const ms = durationMs(value);
    return ms >= 1 && ms <= MAX_TIMER_MS;
  }, `must be ${DURATION_HINT}`);
/** Milliseconds that end up in a timer: bounded by Node's timer limit. */
const timerMs = (min: number) => z.number().int().min(min).max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest timer Node.js runs)`);
const latency = z.number().nonnegative().max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms`);

/** A model: a spec string (`offline`, `offline:7`, `anthropic:<model>`, `openai:<model>`), or one with options. */
const modelRef = z.union([
  z.string().min(1),
  z
    .object({
      spec: z.string().min(1),
      /** Offline model only: simulated latency in ms, fixed or [min, max]. */
      latencyMs: z.union([latency, z.tuple([latency, latency])]).optional(),
      /** Offline model only: share of calls that fail (retryably). */
      failureRate: z.number().min(0).max(1).optional(),
      /** Offline model only: reviews asking for changes before approving. */
      reviewChangesFirst: z.number().int().nonnegative().optional(),
      /** OpenAI-compatible servers: the base URL (Ollama, vLLM, LM Studio). */
      baseURL: z.string().url().optional(),
      maxConcurrency: z.number().int().positive().optional(),
      timeoutMs: timerMs(1).optional(),
      /** OpenAI-compatible servers: false stops sending prompt_cache_key (for servers that reject it). */
      promptCacheKey: z.boolean().optional(),
    })
    .strict(),
]);

const agentSchema = z
  .object({
    id,
    role: z.enum(AGENT_ROLES as unknown as [string, ...string[]]),
    /** Required unless the agent is a command agent (command or preset). */
    model: modelRef.optional(),
    specialty: id.optional(),
    takePlainTasks: z.boolean().optional(),
    concurrency: z.number().int().min(1).max(256).optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().positive().optional(),
    system: z.string().min(1).optional(),
    /** Prompt caching of this agent's calls (on by default; false turns it off). */
    cache: z.boolean().optional(),
    /** Access to the spec's codebase (a git repository): write (a worktree per task), read, or none. */
    codebase: z.enum(['write', 'read', 'none']).optional(),
    /** Tools of the spec's mcpServers: a server's name, or { server, tools: [names] }. */
    mcp: z.array(z.union([z.string().min(1), z.object({ server: z.string().min(1), tools: z.array(z.string().min(1)).min(1) }).strict()])).optional(),
    // Command agents (docs/command-agents.md): an outside program does the work.
    command: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    preset: z.enum(PRESET_NAMES).optional(),
    args: z.array(z.string()).optional(),
    shell: z.boolean().optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string()).optional(),
    inheritEnv: z.boolean().optional(),
    timeout: duration.optional(),
    cwd: z.string().min(1).optional(),
    maxOutputBytes: z.number().int().positive().optional(),
  })
  .strict();

const COMMAND_ONLY_FIELDS = ['args', 'shell', 'env', 'inheritEnv', 'timeout', 'cwd', 'maxOutputBytes'] as const;

const taskSchema = z
  .object({
    id: id.optional(),
    description: z.string().min(1),
    dependencies: z.array(id).optional(),
    requires: id.optional(),
    type: id.optional(),
    priority: z.number().int().min(-999_999).max(999_999).optional(),
    maxAttempts: z.number().int().min(1).max(1000).optional(),
    review: z.boolean().optional(),
    allowFailed: z.boolean().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const proposerSchema = z
  .object({
    id: id.optional(),
    model: z.string().min(1).optional(),
    temperature: z.number().min(0).max(2).optional(),
    system: z.string().min(1).optional(),
  })
  .strict();

const moaSchema = z
  .object({
    id: id.optional(),
    prompt: z.string().min(1),
    proposers: z.union([
      z.array(proposerSchema).min(1),
      z
        .object({
          samples: z.number().int().min(1).max(64),
          model: z.string().min(1).optional(),
          temperature: z.number().min(0).max(2).optional(),
          system: z.string().min(1).optional(),
        })
        .strict(),
    ]),
    aggregator: z
      .object({ model: z.string().min(1).optional(), temperature: z.number().min(0).max(2).optional(), system: z.string().min(1).optional() })
      .strict()
      .optional(),
    layers: z.number().int().min(1).max(8).optional(),
    mode: z.enum(['synthesize', 'vote', 'select']).optional(),
    minSuccessful: z.number().int().min(1).optional(),
    maxReferenceChars: z.number().int().min(100).optional(),
    dependencies: z.array(id).optional(),
  })
  .strict();

export const specSchema = z
  .object({
    /** Format version of the spec file. */
    version: z.literal(1).optional(),
    /** Workspace folder (relative to the spec file) or a redis:// URL; --workspace / --backend override it. */
    workspace: z.string().min(1).optional(),
    team: z.object({ id: id.optional() }).strict().optional(),
    /** MCP servers whose tools agents may use (docs/mcp.md): a program on stdio, or a streamable HTTP URL. */
    mcpServers: z
      .record(
        z.string().regex(/^[a-zA-Z0-9_-]{1,32}$/, 'must be 1 to 32 letters, digits, "_" or "-"'),
        z.union([
          z
            .object({
              command: z.string().min(1),
              args: z.array(z.string()).optional(),
              env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string()).optional(),
              cwd: z.string().min(1).optional(),
            })
            .strict(),
          z.object({ url: z.string().url(), headers: z.record(z.string(), z.string()).optional() }).strict(),
        ]),
      )
      .optional(),
    /** A git repository the team works on (docs/coding-teams.md). */
    codebase: z
      .object({
        repo: z.string().min(1),
        base: z.string().min(1).optional(),
        test: z.string().min(1).optional(),
        mergeInto: z.string().min(1).optional(),
        isolation: z.enum(['worktree', 'shared']).optional(),
        commands: z.array(z.union([z.string().min(1), z.object({ shell: z.string().min(1) }).strict()])).optional(),
        env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string()).optional(),
        testTimeout: duration.optional(),
        allowFailingTests: z.boolean().optional(),
      })
      .strict()
      .optional(),
    agents: z.array(agentSchema).min(1, 'a team needs at least one agent'),
    goal: z.string().min(1).optional(),
    tasks: z.array(taskSchema).optional(),
    moa: z.array(moaSchema).optional(),
    budget: z.object({ maxTokens: z.number().int().positive().optional(), maxUsd: z.number().positive().optional() }).strict().optional(),
    timeout: duration.optional(),
    leaseMs: timerMs(100).optional(),
    maxAttempts: z.number().int().min(1).max(1000).optional(),
    maxReviewRounds: z.number().int().min(1).optional(),
    reviewLimit: z.enum(['fail', 'approve']).optional(),
    /** Record or replay model answers (reproducible experiments). */
    cache: z
      .object({ mode: z.enum(['off', 'record', 'replay', 'auto']), dir: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

export type TeamSpec = z.infer<typeof specSchema>;
export type AgentSpec = z.infer<typeof agentSchema>;
export type ModelRef = z.infer<typeof modelRef>;

/** A spec file that cannot be used: names the file, the field and the problem. */
export class SpecError extends ValidationError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not a valid team spec:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads and validates a spec file (JSON, or YAML by extension or content). Throws {@link SpecError}. */
export function loadSpec(file: string): TeamSpec {
  let text: string;
  try {
    // A FIFO, a device or a folder would block or fail half-way: only a regular file is a spec.
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st && !st.isFile()) {
      const kind = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO (named pipe)' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw new SpecError(file, [`cannot read it: it is ${kind}; give a JSON or YAML file`]);
    }
    if (st && st.size > 16 * 1024 * 1024) throw new SpecError(file, [`cannot read it: it is ${st.size} bytes; a spec is at most 16 MiB`]);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof SpecError) throw err;
    throw new SpecError(file, [`cannot read it: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`]);
  }
  let data: unknown;
  const ext = path.extname(file).toLowerCase();
  try {
    data = ext === '.json' ? JSON.parse(text) : YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new SpecError(file, [`not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`]);
  }
  return validateSpec(data, file);
}

export function validateSpec(data: unknown, file = 'spec'): TeamSpec {
  const parsed = specSchema.safeParse(data);
  if (!parsed.success) throw new SpecError(file, parsed.error.issues.map((issue) => describeIssue(issue, data)));
  const spec = parsed.data;
  const problems: string[] = [];
  const agentIds = new Set<string>();
  spec.agents.forEach((agent, i) => {
    if (agentIds.has(agent.id)) problems.push(`agents[${i}].id: "${agent.id}" is used twice`);
    agentIds.add(agent.id);
    if (agent.role === 'specialist' && !agent.specialty) problems.push(`agents[${i}].specialty: a specialist needs a specialty (e.g. security)`);
    if (agent.role !== 'specialist' && agent.specialty) problems.push(`agents[${i}].specialty: only specialists have a specialty (role is ${agent.role})`);
    problems.push(...commandAgentProblems(agent, i));
    for (const item of agent.mcp ?? []) {
      const server = typeof item === 'string' ? item : item.server;
      if (!spec.mcpServers?.[server]) {
        problems.push(`agents[${i}].mcp: "${server}" is not one of the spec's mcpServers (${Object.keys(spec.mcpServers ?? {}).join(', ') || 'none'})`);
      }
    }
    if ((agent.codebase === 'write' || agent.codebase === 'read') && !spec.codebase) {
      problems.push(`agents[${i}].codebase: "${agent.codebase}" needs a top-level codebase section (codebase: { repo: ./path/to/repo })`);
    }
  });
  const roles = new Set(spec.agents.map((a) => a.role));
  if (spec.goal && !roles.has('lead')) problems.push('goal: planning a goal needs an agent with role "lead"');
  if (spec.moa?.length && !roles.has('lead')) problems.push('moa: Mixture-of-Agents tasks need an agent with role "lead" to aggregate');
  if (!spec.goal && !spec.tasks?.length && !spec.moa?.length) problems.push('give a goal, tasks or moa: there is nothing to do');
  const taskIds = new Set<string>();
  for (const [i, task] of (spec.tasks ?? []).entries()) {
    if (task.id && taskIds.has(task.id)) problems.push(`tasks[${i}].id: "${task.id}" is used twice`);
    if (task.id) taskIds.add(task.id);
  }
  for (const m of spec.moa ?? []) if (m.id) taskIds.add(m.id);
  for (const [i, task] of (spec.tasks ?? []).entries()) {
    for (const dep of task.dependencies ?? []) {
      if (!taskIds.has(dep)) problems.push(`tasks[${i}].dependencies: "${dep}" is not the id of a task in this spec`);
    }
  }
  for (const [i, m] of (spec.moa ?? []).entries()) {
    for (const dep of m.dependencies ?? []) {
      if (!taskIds.has(dep)) problems.push(`moa[${i}].dependencies: "${dep}" is not the id of a task in this spec`);
    }
  }
  const cycle = dependencyCycle([...(spec.tasks ?? []), ...(spec.moa ?? [])]);
  if (cycle) problems.push(`dependencies: a cycle ${cycle.map((id) => `"${id}"`).join(' -> ')}; remove one of these edges`);
  if (problems.length > 0) throw new SpecError(file, problems);
  return spec;
}

/** A dependency cycle among the spec's tasks with ids, or null; found before anything is written. */
function dependencyCycle(tasks: ReadonlyArray<{ id?: string | undefined; dependencies?: string[] | undefined }>): string[] | null {
  const deps = new Map<string, string[]>();
  for (const task of tasks) if (task.id) deps.set(task.id, task.dependencies ?? []);
  const state = new Map<string, 1 | 2>();
  const visit = (id: string, path: string[]): string[] | null => {
    if (state.get(id) === 2) return null;
    if (state.get(id) === 1) return [...path.slice(path.indexOf(id)), id];
    state.set(id, 1);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue;
      const found = visit(dep, [...path, id]);
      if (found) return found;
    }
    state.set(id, 2);
    return null;
  };
  for (const id of deps.keys()) {
    const found = visit(id, []);
    if (found) return found;
  }
  return null;
}

/** What is wrong with an agent's choice between a model and a command. */
function commandAgentProblems(agent: AgentSpec, i: number): string[] {
  const where = `agents[${i}]`;
  const isCommand = agent.command !== undefined || agent.preset !== undefined;
  if (!isCommand) {
    const stray = COMMAND_ONLY_FIELDS.filter((f) => agent[f] !== undefined);
    return [
      ...(agent.model === undefined ? [`${where}.model: give a model (e.g. offline, anthropic:claude-sonnet-4-6), or a command or preset for a command agent`] : []),
      ...stray.map((f) => `${where}.${f}: only command agents (with command or preset) take ${f}`),
    ];
  }
  const problems: string[] = [];
  if (agent.command !== undefined && agent.preset !== undefined) problems.push(`${where}: give command or preset, not both`);
  if (agent.model !== undefined) problems.push(`${where}.model: a command agent runs its program and has no model; remove model`);
  if (agent.role !== 'worker' && agent.role !== 'specialist') problems.push(`${where}.role: a command agent is a worker or a specialist (got ${agent.role})`);
  for (const f of ['temperature', 'maxTokens', 'cache'] as const) if (agent[f] !== undefined) problems.push(`${where}.${f}: a command agent has no model to tune; remove ${f}`);
  if (agent.shell && (agent.preset !== undefined || typeof agent.command !== 'string')) problems.push(`${where}.shell: needs command as one string`);
  if (typeof agent.command === 'string' && !agent.shell) {
    try {
      splitCommandLine(agent.command, `${where}.command`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}

function describeIssue(issue: z.core.$ZodIssue, data: unknown): string {
  const where = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  const value = valueAt(data, issue.path);
  const got = value === undefined ? (issue.code === 'invalid_type' ? ' (missing)' : '') : isPrimitive(value) ? ` (got ${JSON.stringify(value)})` : '';
  return `${where}: ${issue.message}${got}`;
}

function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function formatPath(parts: ReadonlyArray<PropertyKey>): string {
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/** Milliseconds from a spec duration (`600000`, `"90s"`, `"10m"`). */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(value);
  if (!match) throw new ValidationError(`invalid duration ${JSON.stringify(value)}`);
  const n = Number(match[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

/** The sample spec `agent-team init` writes. */
export const SAMPLE_SPEC = `# An agent-team spec: see docs/spec.md for every field.
# Run it with: agent-team run team.yaml
version: 1
team:
  id: sample
agents:
  - id: lead
    role: lead
    model: offline          # no key, no network; try anthropic:claude-sonnet-4-6 or openai:gpt-4.1-mini
  - id: worker-1
    role: worker
    model: offline          # workers of one role on one model: a task's answer does not
  - id: worker-2            # depend on which of them took it, so offline runs reproduce
    role: worker
    model: offline
  - id: reviewer
    role: reviewer
    model: offline
goal: Write a short design note on how leases keep a task queue safe when workers crash
budget:
  maxTokens: 200000
timeout: 5m
`;

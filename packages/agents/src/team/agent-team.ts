import {
  AbortError,
  type Backend,
  type Clock,
  FileBackend,
  MessageBus,
  type RetryPolicy,
  type TaskCounts,
  type TaskInput,
  TaskQueue,
  type TaskRecord,
  type TeamEvent,
  type TeamEventListeners,
  ValidationError,
  type Workspace,
  assertValidId,
  checkOptions,
  emitTyped,
  openBackend,
  rules,
} from '@agent-team/core';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadTracing, withTraceparent } from '../telemetry/tracing.js';
import { TeamRepo, type TeamCodebaseOptions } from '../git/team-repo.js';
import { McpClients, type McpServerConfig, checkMcpSelection, checkMcpServers } from '../mcp/client-tools.js';
import { EventEmitter } from 'eventemitter3';
import { Agent, type AgentOptions, reviewTaskFor } from '../agent/agent.js';
import { resolveModel } from '../agent/model-registry.js';
import { type AgentRole, isAgentRole } from '../agent/roles.js';
import type { AgentRuntime, TeamHooks, TeamSettings } from '../agent/runtime.js';
import {
  type Budget,
  type BudgetLimits,
  type LanguageModel,
  type PromptFunction,
  UsageTracker,
  type UsageTotals,
  fromFunction,
} from '../models/index.js';
import { type SynthesizeInput, synthesizeTask } from '../moa/queue-moa.js';
import { LeadAgent } from '../roles/lead.js';
import { ReviewerAgent } from '../roles/reviewer.js';
import { SpecialistAgent } from '../roles/specialist.js';
import { WorkerAgent } from '../roles/worker.js';
import { type RunStatus, type RunSummary, buildRunSummary } from './summary.js';

export interface AgentTeamOptions {
  /** The workspace folder (or an open Workspace). @default './workspace' */
  workspace?: string | Workspace;
  /**
   * A git repository the team works on: a worktree and branch per task,
   * commits by agent, and a merge queue into `mergeInto` (see
   * docs/coding-teams.md). Agents take part with `codebase: 'write'` or `'read'`.
   */
  codebase?: TeamCodebaseOptions;
  /** Where task worktrees go when the backend is not a folder (Redis). @default a folder under the OS temp dir */
  worktreesDir?: string;
  /**
   * MCP servers whose tools agents may use (an agent's `mcp` option names
   * them): a program on stdio (`{ command, args, env }`) or a streamable HTTP
   * endpoint (`{ url, headers }`). Started once per process when first needed,
   * closed when the run ends. See docs/mcp.md.
   */
  mcpServers?: Record<string, McpServerConfig>;
  /** An open backend (e.g. Redis) instead of a workspace folder. See {@link AgentTeam.open} for URLs. */
  backend?: Backend;
  /** Names this team in usage and events. @default 'team' */
  teamId?: string;
  /** Token and USD limits; once reached, no new task is claimed. */
  budget?: BudgetLimits;
  /** Share a usage tracker between teams. @default a new one */
  usage?: UsageTracker;
  hooks?: TeamHooks;
  /** Lease of each claim; heartbeats renew it every third of it. @default 30000 */
  leaseMs?: number;
  /** Attempts per task. @default 3 */
  maxAttempts?: number;
  /** Backoff between attempts. @default { baseMs: 500, maxMs: 30000 } */
  retry?: RetryPolicy;
  /** Review rounds that may ask for changes. @default 2 */
  maxReviewRounds?: number;
  /** After the last review round still asks for changes: fail the task, or approve it with a note. @default 'fail' */
  reviewLimit?: 'fail' | 'approve';
  /** Vetoes by `onTaskCompleted` before the task fails for good. @default 3 */
  maxVetoes?: number;
  /** Re-asks when the lead's plan is invalid or not approved. @default 2 */
  maxPlanRepairs?: number;
  /** When a run ends, how long in-flight tasks get to hand back before their claims are released. @default 5000 */
  shutdownGraceMs?: number;
  /** fsync every change. @default false */
  durable?: boolean;
  /** Wake idle agents with the file watcher. @default true */
  watch?: boolean;
  clock?: Clock;
}

export interface RunOptions {
  /** End the run after this long; in-flight tasks are handed back. @default no limit */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Treat SIGINT and SIGTERM like an abort while the run lasts (a second
   * signal exits the process with 130 or 143). Off by default: a library does
   * not take over the process's signals; the `agent-team` CLI handles them
   * itself and passes `signal`. @default false
   */
  handleSignals?: boolean;
  /** End when nothing is left to claim or run; false keeps waiting for new work (a long-lived worker). @default true */
  stopWhenIdle?: boolean;
}

export type TeamTaskOptions = Omit<TaskInput, 'description'> & {
  /** Hold the result until a reviewer approves it. */
  review?: boolean;
};

/**
 * A team of agents working one workspace's queue to the end.
 *
 * @example
 * const team = new AgentTeam({ workspace: './workspace' });
 * team.addAgent('lead-1', AgentRole.LEAD, offlineModel());
 * team.addAgent('worker-1', AgentRole.WORKER, offlineModel());
 * await team.goal('Write a design note on leases');
 * const summary = await team.run({ timeoutMs: 60_000 });
 * console.log(`Completed: ${summary.completed}/${summary.total}`);
 */
export class AgentTeam extends EventEmitter<TeamEventListeners> {
  readonly backend: Backend;
  readonly queue: TaskQueue;
  readonly bus: MessageBus;
  readonly usage: UsageTracker;
  readonly teamId: string;
  readonly settings: TeamSettings;
  private readonly hooks: TeamHooks;
  private readonly agents = new Map<string, Agent>();
  private readonly ownsBackend: boolean;
  /** The token and USD limits this team was given. */
  readonly budgetLimits: BudgetLimits | undefined;
  private readonly shutdownGraceMs: number;
  private readonly runtime: AgentRuntime;
  private readonly codebaseOptions: TeamCodebaseOptions | undefined;
  private readonly worktreesDir: string | undefined;
  /** The team's git repository, once a run opened it. */
  repo: TeamRepo | undefined;
  private readonly mcpServers: Readonly<Record<string, McpServerConfig>>;
  private mcp: McpClients | undefined;
  private budget: Budget | null = null;
  private stopReason: string | null = null;
  private running = false;
  private goalCount = 0;
  /** Ends the current run as aborted (set while a run lasts). */
  private halt: ((reason: string) => void) | null = null;

  constructor(options: AgentTeamOptions | string = {}) {
    super();
    const opts: AgentTeamOptions = typeof options === 'string' ? { workspace: options } : options;
    checkOptions(opts, AGENT_TEAM_OPTIONS);
    this.teamId = opts.teamId ?? 'team';
    assertValidId('team', this.teamId);
    // Every check of the options comes before the workspace is opened: bad input never leaves a folder behind.
    if (opts.mcpServers) checkMcpServers(opts.mcpServers);
    if (opts.backend) {
      this.backend = opts.backend;
      this.ownsBackend = false;
    } else {
      const given = opts.workspace ?? './workspace';
      this.ownsBackend = typeof given === 'string';
      const wsOptions = {
        ...(opts.durable !== undefined ? { durable: opts.durable } : {}),
        ...(opts.watch !== undefined ? { watch: opts.watch } : {}),
        ...(opts.clock ? { clock: opts.clock } : {}),
      };
      if (typeof given === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(given)) {
        throw new ValidationError(`"${given.replace(/\/\/[^@/]*@/, '//***@')}" is a URL: open it with \`await AgentTeam.open({ backend: url })\``);
      }
      this.backend = typeof given === 'string' ? FileBackend.open(given, wsOptions) : new FileBackend(given, wsOptions);
    }
    this.settings = {
      maxReviewRounds: opts.maxReviewRounds ?? 2,
      reviewLimit: opts.reviewLimit ?? 'fail',
      maxVetoes: opts.maxVetoes ?? 3,
      maxPlanRepairs: opts.maxPlanRepairs ?? 2,
      leaseMs: opts.leaseMs ?? 30_000,
    };
    this.queue = TaskQueue.open({
      backend: this.backend,
      leaseMs: this.settings.leaseMs,
      ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
      ...(opts.retry ? { retry: opts.retry } : {}),
    });
    this.bus = MessageBus.open({ backend: this.backend });
    this.usage = opts.usage ?? new UsageTracker();
    this.hooks = opts.hooks ?? {};
    this.budgetLimits = opts.budget;
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 5000;
    if (opts.budget) this.budget = this.usage.createBudget(opts.budget, { teamId: this.teamId });

    this.backend.events.on('*', (event) => emitTyped(this, event, '*'));
    this.usage.on('record', (record) => {
      if (record.attribution.teamId !== this.teamId) return;
      this.backend.events.append({
        type: 'model.call',
        ...(record.attribution.agentId ? { agentId: record.attribution.agentId } : {}),
        ...(record.attribution.taskId ? { taskId: record.attribution.taskId } : {}),
        model: record.modelId,
        purpose: record.purpose,
        inputTokens: record.usage.inputTokens,
        outputTokens: record.usage.outputTokens,
        ...(record.usage.cacheReadTokens ? { cacheReadTokens: record.usage.cacheReadTokens } : {}),
        ...(record.usage.cacheWriteTokens ? { cacheWriteTokens: record.usage.cacheWriteTokens } : {}),
        ...(record.cacheSavingsUsd ? { cacheSavingsUsd: record.cacheSavingsUsd } : {}),
        costUsd: record.costUsd,
        durationMs: record.durationMs,
      });
    });

    this.codebaseOptions = opts.codebase;
    this.mcpServers = opts.mcpServers ?? {};
    this.worktreesDir = opts.worktreesDir;
    this.runtime = this.createRuntime();
  }

  private createRuntime(): AgentRuntime {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the runtime's repo getter reads the team's current repo
    const team = this;
    return {
      queue: this.queue,
      bus: this.bus,
      usage: this.usage,
      teamId: this.teamId,
      hooks: this.hooks,
      settings: this.settings,
      claimStop: () => this.stopReason ?? this.budget?.reason() ?? null,
      emit: (event) => this.backend.events.append(event),
      notify: (event) => {
        emitTyped(this, { ts: Date.now(), writer: 'local', seq: 0, ...event }, '*');
      },
      agents: this.backend.agents,
      leads: () => [...this.agents.values()].filter((a) => a.role === 'lead').map((a) => a.id),
      capabilities: () => new Set([...this.agents.values()].flatMap((a) => a.capabilities())),
      taskAdded: async (task) => {
        await this.hooks.onTaskCreated?.(task);
      },
      backendLocation: { kind: this.backend.kind, location: this.backend.location },
      halt: (reason) => this.halt?.(reason),
      get repo() {
        return team.repo;
      },
      get mcp() {
        return team.mcp;
      },
    };
  }

  // ------------------------------------------------------------ agents

  /**
   * Adds an agent: an {@link Agent} you built (e.g. your own subclass), or an
   * id, a role and a model (a LanguageModel, a model spec such as
   * `anthropic:claude-sonnet-4-5` or `offline`, or a plain `(prompt) => string`
   * function like the seed's `llm_fn`).
   */
  addAgent(agent: Agent): Agent;
  addAgent(id: string, role: AgentRole, model: LanguageModel | PromptFunction | string, options?: AgentOptions): Agent;
  addAgent(
    idOrAgent: string | Agent,
    role?: AgentRole,
    model?: LanguageModel | PromptFunction | string,
    options: AgentOptions = {},
  ): Agent {
    const agent =
      idOrAgent instanceof Agent ? idOrAgent : createAgent(idOrAgent, role as AgentRole, toModel(idOrAgent, model), options);
    if (this.agents.has(agent.id)) throw new ValidationError(`an agent called "${agent.id}" is already on the team`);
    this.agents.set(agent.id, agent);
    return agent;
  }

  getAgent(id: string): Agent | undefined {
    return this.agents.get(id);
  }

  listAgents(): Agent[] {
    return [...this.agents.values()];
  }

  // ------------------------------------------------------------ tasks

  /** Adds a task (seed shape: `addTask(description, { dependencies })`). */
  async addTask(description: string, options: TeamTaskOptions = {}): Promise<TaskRecord> {
    const [task] = await this.addTasks([{ ...options, description }]);
    return task as TaskRecord;
  }

  /** Adds tasks atomically (all or nothing). */
  async addTasks(inputs: ReadonlyArray<TaskInput & { review?: boolean }>): Promise<TaskRecord[]> {
    // Inside the application's own span (OpenTelemetry), the tasks carry it: their attempts join its trace.
    const traceparent = (await loadTracing()).activeTraceparent();
    const tasks = await this.queue.addMany(inputs.map((input) => withTraceparent(toTaskInput(input), traceparent)));
    for (const task of tasks) await this.runtime.taskAdded(task);
    return tasks;
  }

  /** Hands a goal to the lead: it plans the tasks (and a final synthesis) when the team runs. */
  async goal(text: string, options: { id?: string; synthesize?: boolean; priority?: number } = {}): Promise<TaskRecord> {
    if (typeof text !== 'string' || text.trim() === '') throw new ValidationError('a goal must be a non-empty string');
    this.goalCount += 1;
    return this.addTask(`Plan the work for the goal: ${text.trim()}`, {
      id: options.id ?? `plan-${Date.now().toString(36)}${this.goalCount}`,
      type: 'plan',
      ...(options.priority !== undefined ? { priority: options.priority } : { priority: 10 }),
      metadata: { goal: text.trim(), synthesize: options.synthesize ?? true },
    });
  }

  /** Adds a Mixture-of-Agents synthesize task (see {@link synthesizeTask}). */
  async synthesize(input: SynthesizeInput): Promise<TaskRecord> {
    const [task] = await this.addTasks([synthesizeTask(input)]);
    return task as TaskRecord;
  }

  /** Counts by state and `total` (seed: `get_status()`). */
  async getStatus(): Promise<TaskCounts> {
    return this.queue.getStatus();
  }

  // ------------------------------------------------------------ running

  /**
   * Runs the team until nothing is claimable or in flight, the timeout, an
   * abort, or the budget. Nothing stays claimed afterwards: in-flight tasks
   * are handed back and listed in the summary.
   */
  async run(options: RunOptions = {}): Promise<RunSummary> {
    if (this.running) throw new ValidationError('this team is already running');
    if (this.agents.size === 0) throw new ValidationError('add at least one agent before run()');
    checkOptions(options, { timeoutMs: rules.duration(), handleSignals: rules.boolean(), stopWhenIdle: rules.boolean() });
    if (this.codebaseOptions && !this.repo) {
      const dir = this.backend.kind === 'file' ? this.backend.location : (this.worktreesDir ?? path.join(os.tmpdir(), `agent-team-${this.teamId}`));
      if (this.codebaseOptions.isolation === 'shared') {
        const outside = [...this.agents.values()].find((agent) => agent.options.codebase === 'write' && !agent.writesThroughTools);
        if (outside) {
          throw new ValidationError(
            `agent "${outside.id}" is a command agent: in codebase.isolation "shared" a task's commit holds the files it wrote with the file tools, ` +
              'and a command agent writes files by itself; use isolation "worktree" (the default) for command agents',
          );
        }
      }
      this.repo = await TeamRepo.open(this.teamId, this.codebaseOptions, dir, { leaseMs: this.settings.leaseMs });
    }
    for (const agent of this.agents.values()) {
      if (agent.options.mcp?.length) checkMcpSelection(agent.id, agent.options.mcp, this.mcpServers);
    }
    if (Object.keys(this.mcpServers).length > 0) this.mcp ??= new McpClients(this.mcpServers);
    this.running = true;
    this.stopReason = null;
    const startedAt = Date.now();
    const stop = new AbortController();
    let ending: { status: RunStatus | 'idle'; reason: string } | null = null;
    const end = (status: RunStatus | 'idle', reason: string) => {
      if (ending) return;
      ending = { status, reason };
      this.stopReason = reason;
      stop.abort(new AbortError(reason));
    };
    this.halt = (reason) => end('aborted', reason);
    const released: RunSummary['released'] = [];
    const onHandedBack = (event: TeamEvent<'task.handed_back'>) => {
      released.push({ taskId: event.taskId, agentId: event.agentId });
    };
    this.on('task.handed_back', onHandedBack);
    const timer = options.timeoutMs !== undefined ? setTimeout(() => end('timeout', `timed out after ${options.timeoutMs} ms`), options.timeoutMs) : null;
    const onAbort = () => end('aborted', `aborted: ${reasonText(options.signal?.reason)}`);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    const signals: NodeJS.Signals[] = options.handleSignals === true ? ['SIGINT', 'SIGTERM'] : [];
    let interrupts = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      interrupts += 1;
      if (interrupts > 1) process.exit(sig === 'SIGTERM' ? 143 : 130);
      end('aborted', `interrupted by ${sig}; in-flight tasks handed back`);
    };
    for (const sig of signals) process.on(sig, onSignal);

    this.backend.events.append({ type: 'team.started', teamId: this.teamId, agents: [...this.agents.keys()], ...(this.budgetLimits ? { budget: this.budgetLimits } : {}) });
    const loops = [...this.agents.values()].map((agent) => agent.runLoop(this.runtime, { signal: stop.signal }));
    try {
      await this.monitor(stop.signal, end, options.stopWhenIdle ?? true);
      // Give in-flight tasks a moment to hand back, then release whatever is still held.
      const settled = Promise.allSettled(loops);
      const graceOver = await Promise.race([settled.then(() => false), delay(this.shutdownGraceMs).then(() => true)]);
      if (graceOver) {
        for (const agent of this.agents.values()) {
          for (const claim of agent.heldClaims()) {
            try {
              await claim.release();
              released.push({ taskId: claim.taskId, agentId: agent.id });
            } catch {
              // already finished or lost meanwhile
            }
          }
        }
      }
      const final = ending as { status: RunStatus | 'idle'; reason: string } | null;
      const toRecord = (map: Map<string, UsageTotals>, keep: (key: string) => boolean) =>
        Object.fromEntries([...map].filter(([key]) => keep(key)));
      const records = await this.queue.list();
      const taskIds = new Set(records.map((r) => r.id));
      const summary = buildRunSummary({
        ending: final ?? { status: 'idle', reason: 'finished' },
        startedAt,
        released,
        records,
        counts: await this.queue.counts(),
        takers: (task) => [...this.agents.values()].some((a) => accepts(a, task)),
        usage: {
          total: this.usage.total({ teamId: this.teamId }),
          byAgent: toRecord(this.usage.byAgent(), (id) => this.agents.has(id)),
          byTask: toRecord(this.usage.byTask(), (id) => taskIds.has(id)),
        },
        budgetReason: this.budget?.reason() ?? null,
      });
      this.backend.events.append({ type: 'team.finished', teamId: this.teamId, status: summary.status, reason: summary.reason });
      return summary;
    } finally {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      for (const sig of signals) process.off(sig, onSignal);
      this.off('task.handed_back', onHandedBack);
      this.halt = null;
      this.running = false;
      // The MCP servers this run started end with it (the next run starts them again).
      const mcp = this.mcp;
      this.mcp = undefined;
      await mcp?.close();
    }
  }

  /** Watches for the end: quiescence (checked twice, with the onIdle hook between), or the budget. */
  private async monitor(signal: AbortSignal, end: (status: RunStatus | 'idle', reason: string) => void, stopWhenIdle: boolean): Promise<void> {
    let quiet = 0;
    let idleHookRan = false;
    while (!signal.aborted) {
      try {
        await this.backend.tasks.waitForChange(quiet > 0 ? 30 : 100, signal);
      } catch (err) {
        if (err instanceof AbortError) return;
        throw err;
      }
      const budgetReason = this.budget?.reason();
      if (budgetReason) {
        this.stopReason = budgetReason;
        if ([...this.agents.values()].every((a) => a.busy === 0)) end('budget_exceeded', budgetReason);
        continue;
      }
      if (!stopWhenIdle || !(await this.quiescent())) {
        quiet = 0;
        idleHookRan = false;
        continue;
      }
      quiet += 1;
      if (quiet < 2) continue;
      if (this.hooks.onIdle && !idleHookRan) {
        const before = (await this.queue.counts()).total;
        await this.hooks.onIdle();
        // A hook that added work gets called again at the next idle moment; one that did not, not.
        idleHookRan = (await this.queue.counts()).total === before;
        quiet = 0;
        continue;
      }
      end('idle', 'nothing left to claim or run');
    }
  }

  /** True when no agent works, nothing is claimed anywhere, and no task is claimable by this team. */
  private async quiescent(): Promise<boolean> {
    const agents = [...this.agents.values()];
    if (agents.some((a) => a.busy > 0)) return false;
    const counts = await this.queue.counts();
    if (counts.claimed > 0 || counts.delayed > 0) return false;
    if (counts.review > 0) await this.ensureReviews();
    for (const agent of agents) {
      const { ready } = await this.queue.store.hasWork({ agentId: agent.id, ...agent.claimFilter() });
      if (ready) return false;
    }
    return true;
  }

  /** A task held for review whose worker died before adding the review task gets one now (idempotent). */
  private async ensureReviews(): Promise<void> {
    for (const task of await this.queue.list({ status: 'review' })) {
      const input = reviewTaskFor(task);
      if (input.id !== undefined && (await this.queue.get(input.id))) continue;
      // The idempotency key makes this safe even if the id check raced with the worker.
      await this.runtime.taskAdded(await this.queue.add(input));
    }
  }

  /**
   * Opens a team on a backend given as a folder or a `redis://` URL (or an
   * open Backend): the async twin of the constructor.
   */
  static async open(options: Omit<AgentTeamOptions, 'backend'> & { backend?: string | Backend } = {}): Promise<AgentTeam> {
    if (typeof options.backend !== 'string') return new AgentTeam(options as AgentTeamOptions);
    const backend = await openBackend(options.backend, {
      ...(options.durable !== undefined ? { durable: options.durable } : {}),
      ...(options.watch !== undefined ? { watch: options.watch } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      namespace: options.teamId ?? 'team',
    });
    const team = new AgentTeam({ ...options, backend });
    team.closeBackendOnClose = true;
    return team;
  }

  private closeBackendOnClose = false;

  private closing: Promise<void> | null = null;

  /**
   * Closes the queue, the bus and (if the team opened it) the backend.
   * Idempotent. Not needed for the process to exit on the file backend: once
   * `run()` returns nothing of the team keeps the event loop alive.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queue.close();
      await this.bus.close();
      await this.repo?.close();
      if (this.ownsBackend || this.closeBackendOnClose) await this.backend.close();
    })();
    return this.closing;
  }
}

function accepts(agent: Agent, task: Pick<TaskRecord, 'type' | 'requires'>): boolean {
  const filter = agent.claimFilter();
  if (filter.types && !filter.types.includes(task.type)) return false;
  return task.requires ? (filter.capabilities ?? []).includes(task.requires) : (filter.acceptUnrequired ?? true);
}

/** Builds the role's agent class. */
export function createAgent(id: string, role: AgentRole, model: LanguageModel, options: AgentOptions = {}): Agent {
  if (!isAgentRole(role)) {
    throw new ValidationError(`unknown role ${JSON.stringify(role)} for agent "${id}": use AgentRole.LEAD, WORKER, REVIEWER or SPECIALIST`);
  }
  switch (role) {
    case 'lead':
      return new LeadAgent(id, model, options);
    case 'worker':
      return new WorkerAgent(id, model, options);
    case 'reviewer':
      return new ReviewerAgent(id, model, options);
    case 'specialist':
      if (!options.specialty) throw new ValidationError(`specialist "${id}" needs a specialty (e.g. { specialty: 'security' })`);
      return new SpecialistAgent(id, model, { ...options, specialty: options.specialty });
  }
}

function toModel(id: string, model: LanguageModel | PromptFunction | string | undefined): LanguageModel {
  if (typeof model === 'string') return resolveModel(model);
  if (typeof model === 'function') return fromFunction(model, { id: `function:${id}` });
  if (model && typeof model === 'object' && typeof model.generate === 'function') return model;
  throw new ValidationError(`agent "${id}" needs a model: a LanguageModel, a model spec like "offline", or a (prompt) => string function`);
}

function toTaskInput(input: TaskInput & { review?: boolean }): TaskInput {
  const { review, ...rest } = input;
  if (review === undefined) return rest;
  if (typeof review !== 'boolean') throw new ValidationError(`review must be true or false, got ${JSON.stringify(review)}`);
  return { ...rest, metadata: { ...(rest.metadata ?? {}), review } };
}

/** The rules of {@link AgentTeamOptions}, checked before the workspace is opened. */
const AGENT_TEAM_OPTIONS = {
  maxReviewRounds: rules.int({ min: 1, max: 1000 }),
  reviewLimit: rules.oneOf(['fail', 'approve']),
  maxVetoes: rules.int({ min: 1, max: 1000 }),
  maxPlanRepairs: rules.int({ min: 0, max: 1000 }),
  leaseMs: rules.duration({ min: 10 }),
  shutdownGraceMs: rules.duration({ min: 0 }),
  durable: rules.boolean(),
  watch: rules.boolean(),
  clock: rules.object({ now: rules.function() }),
};

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (reason === undefined) return 'the signal was aborted';
  return typeof reason === 'string' ? reason : JSON.stringify(reason);
}

/** A grace period that must not keep the process alive on its own. */
function delay(ms: number): Promise<void> {
  return sleep(ms, undefined, { ref: false });
}

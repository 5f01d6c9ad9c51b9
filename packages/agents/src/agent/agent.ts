import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortError,
  type AgentRecord,
  type Claim,
  type ClaimFilter,
  LeaseLostError,
  StorageError,
  ValidationError,
  assertValidId,
  checkOptions,
  rules,
  errorMessage,
  ResourceLocks,
  ResourceLockedError,
  type TaskRecord,
} from '@agent-team/core';
import { Codebase, CodebaseAccessError } from '../codebase/codebase.js';
import { codebaseTools } from '../codebase/codebase-tools.js';
import type { CommandRule } from '../codebase/run-command.js';
import type { MergeOutcome, TeamRepo } from '../git/team-repo.js';
import '../git/events.js';
import type { McpToolSelection } from '../mcp/client-tools.js';
import { agentWorkdir } from '../codebase/agent-workdir.js';
import { type Attribution, type ExecutableTool, type LanguageModel, promptCacheKey, redactSecrets, runTools, withPromptCache, withUsage } from '../models/index.js';
import { type AttemptTrace, loadTracing, NO_TRACING, type Tracing, withTraceparent } from '../telemetry/tracing.js';
import { taskPrompt, SYSTEM_PROMPTS } from './prompts.js';
import { type AgentRole, isAgentRole, roleClaimFilter } from './roles.js';
import type { AgentRuntime } from './runtime.js';
import { Deferral, type DependencyResult, type TaskContext } from './task-context.js';

export interface AgentOptions {
  /** Tasks this agent works on at once. @default 1 */
  concurrency?: number;
  /** A specialist's specialty (`security`, `performance`, `docs`, ...). */
  specialty?: string;
  /** A specialist also takes plain tasks (that require nothing). @default false */
  takePlainTasks?: boolean;
  /** Replaces the role's system prompt. */
  system?: string;
  /** Sampling temperature of this agent's calls. @default the model's */
  temperature?: number;
  /** Output token limit per call. @default 1024 */
  maxTokens?: number;
  /** Overrides the task types the role claims. */
  types?: readonly string[];
  /** Extra requirements this agent satisfies (beyond its role and specialty). */
  capabilities?: readonly string[];
  /**
   * A codebase this agent works on: its model gets `read_file`, `list_files`,
   * `search_code` (and `write_file` with `allowWrite`) confined to `root`;
   * writes take resource locks shared by every agent using the same `lockDir`.
   */
  /**
   * The files this agent works on: `'write'` or `'read'` for the team's git
   * repository (the team's `codebase` option: a worktree per task, commits and
   * a merge queue), or a folder of its own. @default none
   */
  codebase?: 'write' | 'read' | 'none' | {
    root: string;
    allowWrite?: boolean;
    lockDir?: string;
    /** What the `run_command` tool may start (see {@link CommandRule}); without any, the tool is not offered. */
    commands?: readonly CommandRule[];
    /** Variables passed on to those commands besides the minimal set (never this process's keys unless named here). */
    env?: Readonly<Record<string, string>>;
    /** Default timeout of a command. @default 120_000 */
    commandTimeoutMs?: number;
  };
  /**
   * A scratch folder of the agent's own, `<base>/.agents/<id>` (in
   * `context.workdir`): `true` puts it under the codebase root (or the
   * current folder), a string names the base. @default none
   */
  workdir?: boolean | string;
  /**
   * Tools of the team's MCP servers (`mcpServers`) for this agent's model: a
   * server's name for all its tools, or `{ server, tools: [names] }` for some.
   * They are named `<server>__<tool>`.
   */
  mcp?: McpToolSelection[];
  /** Model/tool round trips per task when tools are available. @default 8 */
  maxSteps?: number;
  /**
   * Ask the provider to cache the stable prefix of this agent's calls (system
   * prompt, tools, and the tool loop's conversation so far); `false` turns it off.
   * @default true
   */
  cache?: boolean;
}

const sharedLocks = new Map<string, ResourceLocks>();

/** One ResourceLocks per (root, lock folder) in a process, so its agents see each other's locks at once. */
/** The rules of {@link AgentOptions}' numbers, checked when the agent is built. */
export const AGENT_OPTIONS = {
  concurrency: rules.int({ min: 1, max: 256 }),
  temperature: rules.number({ min: 0, max: 2 }),
  maxTokens: rules.int({ min: 1, max: 10_000_000 }),
  maxSteps: rules.int({ min: 1, max: 1000 }),
  takePlainTasks: rules.boolean(),
};

/**
 * What an agent does when the workspace cannot be written: a full disk is
 * reported in one line (an in-process event, since the log cannot be written
 * either), then it waits, doubling from 0.5 s to 30 s, and tries again, and
 * says when it resumed; a read-only or forbidden workspace ends the run with
 * the reason (the CLI worker exits 1).
 */
class StorageBackoff {
  private delayMs = 0;

  constructor(
    private readonly agentId: string,
    private readonly runtime: AgentRuntime,
  ) {}

  ok(): void {
    if (this.delayMs === 0) return;
    this.delayMs = 0;
    this.runtime.notify({ type: 'agent.error', agentId: this.agentId, error: 'the workspace is writable again: resuming' });
  }

  /** Waits after a storage error; returns a stop reason when waiting cannot help. Rethrows anything else. */
  async failed(err: unknown, signal: AbortSignal, taskId?: string): Promise<string | null> {
    if (!(err instanceof StorageError)) throw err;
    if (!err.transient) {
      const reason = `agent "${this.agentId}" stopped: ${err.message}`;
      this.runtime.halt?.(reason);
      return reason;
    }
    const first = this.delayMs === 0;
    this.delayMs = Math.min(30_000, this.delayMs === 0 ? 500 : this.delayMs * 2);
    if (first) {
      this.runtime.notify({
        type: 'agent.error',
        agentId: this.agentId,
        ...(taskId ? { taskId } : {}),
        error: `${err.message.split(';')[0]}: waiting for space, retrying every ${Math.round(this.delayMs / 100) / 10}-30 s`,
      });
    }
    try {
      await sleep(this.delayMs, undefined, { signal });
    } catch {
      return signal.reason instanceof Error ? signal.reason.message : 'aborted';
    }
    return null;
  }
}

function locksFor(root: string, lockDir?: string): ResourceLocks {
  const key = `${path.resolve(root)}\0${lockDir ? path.resolve(lockDir) : ''}`;
  let locks = sharedLocks.get(key);
  if (!locks) {
    locks = new ResourceLocks({ root, ...(lockDir ? { lockDir } : {}) });
    sharedLocks.set(key, locks);
  }
  return locks;
}

export interface RunLoopOptions {
  signal?: AbortSignal;
  /** Stop after this many tasks. @default no limit */
  maxIterations?: number;
  /** Return once no task is claimable and none is in flight. @default false */
  stopWhenIdle?: boolean;
}

/**
 * An agent: claims the tasks its role can do, runs {@link execute} with a
 * heartbeat keeping its lease, and records the outcome. Subclass it and
 * override `execute` for domain-specific behaviour (the seed's
 * `execute_task`).
 *
 * @example
 * class SecurityAgent extends Agent {
 *   override async execute(task: TaskRecord, ctx: TaskContext) {
 *     const res = await ctx.model.generate({ messages: [{ role: 'user', content: `Audit: ${task.description}` }] });
 *     return res.text;
 *   }
 * }
 */
export class Agent {
  readonly id: string;
  readonly role: AgentRole;
  readonly model: LanguageModel;
  readonly options: AgentOptions;
  readonly concurrency: number;
  private runtimeRef: AgentRuntime | null = null;
  private readonly controller = new AbortController();
  private readonly inFlight = new Map<string, Claim>();
  /** OpenTelemetry, when the application has it (see telemetry/tracing.ts). */
  private tracing: Tracing = NO_TRACING;
  private readonly traces = new Map<string, AttemptTrace>();
  private idleAnnounced = false;
  private startedAt = 0;
  private lastReport: { status: AgentRecord['status']; at: number; current: string } | null = null;
  /** Tasks this agent finished, for the summary. */
  completedCount = 0;
  /** The codebase this agent works on, if any. */
  readonly codebase: Codebase | undefined;
  /** With a shared team working tree: per task, its codebase (holding its path locks) and the files it wrote. */
  private readonly sharedWork = new Map<string, { codebase: Codebase; touched: Set<string> }>();
  /** The tools its model may call. */
  readonly tools: ExecutableTool[];

  constructor(id: string, role: AgentRole, model: LanguageModel, options: AgentOptions = {}) {
    assertValidId('agent', id);
    if (!isAgentRole(role)) {
      throw new ValidationError(`unknown role ${JSON.stringify(role)} for agent "${id}": use lead, worker, reviewer or specialist`);
    }
    if (role === 'specialist' && !options.specialty) {
      throw new ValidationError(`specialist "${id}" needs a specialty (e.g. { specialty: 'security' })`);
    }
    if (options.specialty !== undefined) assertValidId('specialty', options.specialty);
    checkOptions(options, AGENT_OPTIONS, `agent "${id}"`);
    const concurrency = options.concurrency ?? 1;
    this.id = id;
    this.role = role;
    this.model = model;
    this.options = options;
    this.concurrency = concurrency;
    this.codebase = typeof options.codebase === 'object'
      ? new Codebase(options.codebase.root, {
          owner: id,
          allowWrite: options.codebase.allowWrite ?? false,
          locks: locksFor(options.codebase.root, options.codebase.lockDir),
        })
      : undefined;
    const cb = typeof options.codebase === 'object' ? options.codebase : undefined;
    this.tools = this.codebase
      ? codebaseTools(this.codebase, {
          ...(cb?.commands ? { commands: cb.commands } : {}),
          ...(cb?.env ? { env: cb.env } : {}),
          ...(cb?.commandTimeoutMs !== undefined ? { timeoutMs: cb.commandTimeoutMs } : {}),
        })
      : [];
  }

  /** The agent's scratch folder (created on first use), or undefined without the `workdir` option. */
  workdir(): string | undefined {
    const opt = this.options.workdir;
    if (!opt) return undefined;
    const base = typeof opt === 'string' ? opt : ((typeof this.options.codebase === 'object' ? this.options.codebase.root : undefined) ?? process.cwd());
    return agentWorkdir(base, this.id);
  }

  /** What this agent claims: its role's filter, adjusted by its options. */
  claimFilter(): ClaimFilter {
    const base = roleClaimFilter(this.role, this.options);
    return {
      ...base,
      ...(this.options.types ? { types: this.options.types } : {}),
      capabilities: [...(base.capabilities ?? []), ...(this.options.capabilities ?? [])],
    };
  }

  /** Requirements this agent satisfies. */
  capabilities(): string[] {
    return this.claimFilter().capabilities as string[];
  }

  protected get runtime(): AgentRuntime {
    if (!this.runtimeRef) throw new ValidationError(`agent "${this.id}" is not attached to a team or workspace`);
    return this.runtimeRef;
  }

  /** The system prompt for this agent's calls. */
  systemPrompt(): string {
    if (this.options.system) return this.options.system;
    if (this.role === 'specialist') return SYSTEM_PROMPTS.specialist(this.options.specialty ?? 'domain');
    return SYSTEM_PROMPTS[this.role]();
  }

  /**
   * Does one task and returns its result (any JSON value). Override for your
   * own behaviour. The default asks the model, with the task, its
   * dependencies' results, earlier feedback and messages in the prompt.
   */
  async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
    const request = {
      system: this.systemPrompt(),
      messages: [{ role: 'user' as const, content: taskPrompt(task, ctx) }],
      purpose: 'task',
      signal: ctx.signal,
      ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
      ...(this.options.maxTokens !== undefined ? { maxTokens: this.options.maxTokens } : {}),
    };
    if (ctx.tools.length > 0) {
      // With a codebase, the model reads (and maybe edits) the code through its tools.
      const result = await runTools(ctx.model, request, ctx.tools, { maxSteps: this.options.maxSteps ?? 8 });
      return result.response.text;
    }
    const response = await ctx.model.generate(request);
    return response.text;
  }

  /** Stops claiming; in-flight tasks are handed back. */
  stop(): void {
    this.controller.abort(new AbortError(`agent "${this.id}" stopped`));
  }

  get busy(): number {
    return this.inFlight.size;
  }

  /** Claims held right now. */
  heldClaims(): Claim[] {
    return [...this.inFlight.values()];
  }

  /**
   * Claims and runs tasks until the signal aborts, {@link stop} is called,
   * the runtime says to stop claiming, or (with `stopWhenIdle`) nothing is
   * left. Returns the number of tasks it ran.
   */
  async runLoop(runtime: AgentRuntime, options: RunLoopOptions = {}): Promise<number> {
    this.runtimeRef = runtime;
    this.tracing = await loadTracing();
    const signal = options.signal ? AbortSignal.any([options.signal, this.controller.signal]) : this.controller.signal;
    const running = new Set<Promise<void>>();
    let started = 0;
    runtime.emit({ type: 'agent.started', agentId: this.id, role: this.role, model: this.model.id, concurrency: this.concurrency });
    this.startedAt = Date.now();
    await this.report('starting');
    // A report every few seconds, so `status` can tell a live agent from a dead one.
    const keepAlive = setInterval(() => void this.report(this.inFlight.size > 0 ? 'working' : 'idle', true).catch(() => {}), 5000);
    keepAlive.unref();
    await runtime.bus.register(this.id);
    let stopReason = 'stopped';
    const storage = new StorageBackoff(this.id, runtime);
    try {
      while (!signal.aborted) {
        if (options.maxIterations !== undefined && started >= options.maxIterations) {
          stopReason = 'max iterations reached';
          break;
        }
        const blocked = runtime.claimStop();
        if (blocked) {
          stopReason = blocked;
          break;
        }
        if (running.size >= this.concurrency) {
          await Promise.race(running);
          continue;
        }
        // Asked each time, so a subclass can change what it takes as it goes.
        const filter = this.claimFilter();
        // Every free slot is filled in one step (one script call on Redis).
        const free = this.concurrency - running.size;
        const want = options.maxIterations === undefined ? free : Math.min(free, options.maxIterations - started);
        let claims: Claim[];
        try {
          const request = { agentId: this.id, ...filter, leaseMs: runtime.settings.leaseMs };
          if (want > 1) {
            claims = await runtime.queue.claimMany(request, want);
          } else {
            const claim = await runtime.queue.claim(request);
            claims = claim ? [claim] : [];
          }
          storage.ok();
        } catch (err) {
          const stop = await storage.failed(err, signal);
          if (stop) {
            stopReason = stop;
            break;
          }
          continue;
        }
        if (claims.length > 0) {
          this.idleAnnounced = false;
          for (const claim of claims) {
            started += 1;
            const job: Promise<void> = this.process(claim, signal).finally(() => running.delete(job));
            running.add(job);
          }
          await this.report('working');
          continue;
        }
        if (running.size === 0) {
          await this.report('idle');
          await this.announceIdle();
          if (options.stopWhenIdle) {
            stopReason = 'no work left';
            break;
          }
        }
        try {
          await Promise.race([
            runtime.queue.waitForWork({ agentId: this.id, ...this.claimFilter() }, { signal, timeoutMs: 1000 }),
            ...running,
          ]);
        } catch (err) {
          if (err instanceof AbortError) continue;
          const stop = await storage.failed(err, signal);
          if (stop) {
            stopReason = stop;
            break;
          }
        }
      }
      if (signal.aborted) stopReason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
    } finally {
      await Promise.allSettled(running);
      clearInterval(keepAlive);
      await this.report('stopped', true, stopReason).catch(() => {});
      runtime.emit({ type: 'agent.stopped', agentId: this.id, reason: stopReason, tasks: started });
    }
    return started;
  }

  /** Tells the agent directory what this agent is doing (on a change, or when forced). */
  private async report(status: AgentRecord['status'], force = false, stoppedReason?: string): Promise<void> {
    const current = [...this.inFlight.keys()];
    const key = current.join(',');
    const now = Date.now();
    const last = this.lastReport;
    if (!force && last && last.status === status && last.current === key && now - last.at < 250) return;
    this.lastReport = { status, at: now, current: key };
    await this.runtime.agents.report({
      id: this.id,
      role: this.role,
      model: this.model.id,
      capabilities: this.capabilities(),
      status,
      current,
      tasksDone: this.completedCount,
      pid: process.pid,
      host: os.hostname(),
      startedAt: this.startedAt,
      lastSeen: now,
      ...(stoppedReason ? { stoppedReason } : {}),
    });
  }

  private async announceIdle(): Promise<void> {
    if (this.idleAnnounced) return;
    this.idleAnnounced = true;
    const runtime = this.runtime;
    runtime.emit({ type: 'agent.idle', agentId: this.id });
    for (const lead of runtime.leads()) {
      if (lead !== this.id) await runtime.bus.send({ from: this.id, to: lead, kind: 'idle', body: { agentId: this.id } });
    }
  }

  /** Runs one claimed task to its recorded outcome. Never throws. */
  private async process(claim: Claim, loopSignal: AbortSignal): Promise<void> {
    const runtime = this.runtime;
    const task = claim.task;
    const signal = AbortSignal.any([loopSignal, claim.signal]);
    this.inFlight.set(task.id, claim);
    const trace = this.tracing.attempt(task, { agentId: this.id, role: this.role, teamId: runtime.teamId });
    this.traces.set(task.id, trace);
    runtime.emit({ type: 'task.started', taskId: task.id, agentId: this.id, attempt: task.attempt });
    try {
      let result: unknown;
      try {
        const ctx = await this.createContext(task, signal);
        result = await trace.run(() => this.execute(task, ctx));
        if (this.repoAccess() === 'write' && !(result instanceof Deferral) && !claim.signal.aborted) {
          result = await this.finishInRepo(task, result, signal);
        }
      } catch (err) {
        await this.afterError(claim, err, loopSignal);
        return;
      }
      if (claim.signal.aborted) {
        // The lease was lost while we worked: whatever we produced is void, another agent has the task.
        trace.outcome('lost');
        runtime.emit({ type: 'task.lost', taskId: task.id, agentId: this.id, reason: errorMessage(claim.signal.reason) });
        return;
      }
      await this.record(claim, result);
    } catch (err) {
      // Recording itself failed (the lease was lost meanwhile, the workspace is not writable): report and move on.
      if (err instanceof StorageError && !err.transient) runtime.halt?.(`agent "${this.id}" cannot record task "${task.id}": ${err.message}`);
      const event = { type: 'agent.error' as const, agentId: this.id, taskId: task.id, error: errorMessage(err) };
      try {
        runtime.emit(event);
      } catch {
        runtime.notify(event);
      }
    } finally {
      if (this.sharedWork.has(task.id)) await this.releaseSharedWork(task.id).catch(() => {});
      this.inFlight.delete(task.id);
      this.traces.delete(task.id);
      trace.end();
    }
  }

  private async afterError(claim: Claim, err: unknown, loopSignal: AbortSignal): Promise<void> {
    const runtime = this.runtime;
    const trace = this.traces.get(claim.taskId);
    if (claim.signal.aborted || err instanceof LeaseLostError) {
      trace?.outcome('lost');
      runtime.emit({ type: 'task.lost', taskId: claim.taskId, agentId: this.id, reason: errorMessage(claim.signal.reason ?? err) });
      return;
    }
    if (loopSignal.aborted) {
      // The run is ending: hand the task back without using an attempt.
      await claim.release();
      trace?.outcome('handed_back');
      runtime.emit({ type: 'task.handed_back', taskId: claim.taskId, agentId: this.id });
      return;
    }
    // Whatever the error says goes to disk (failed record, event log, export): without the secrets.
    const message = redactSecrets(errorMessage(err));
    trace?.outcome('failed', message);
    await this.untilStored(claim, () => claim.fail(message, { retryable: isRetryable(err) }));
  }

  /**
   * Runs a commit; while the disk is full it waits and tries again (the claim
   * is put back as it was and kept alive meanwhile), so a result is not lost
   * to a full disk. Other errors, and a workspace that is not writable, go up.
   */
  private async untilStored<T>(claim: Claim, commit: () => Promise<T>): Promise<T> {
    const backoff = new StorageBackoff(this.id, this.runtime);
    for (;;) {
      try {
        const done = await commit();
        backoff.ok();
        return done;
      } catch (err) {
        if (!(err instanceof StorageError) || !err.transient || claim.signal.aborted) throw err;
        claim.startHeartbeat();
        const stop = await backoff.failed(err, claim.signal, claim.taskId);
        if (stop) throw err;
      }
    }
  }

  private async record(claim: Claim, result: unknown): Promise<void> {
    const runtime = this.runtime;
    const task = claim.task;
    const trace = this.traces.get(task.id);
    const verdict = await runtime.hooks.onTaskCompleted?.(task, result, { agentId: this.id });
    if (verdict && typeof verdict === 'object' && 'veto' in verdict) {
      trace?.outcome('vetoed');
      runtime.emit({ type: 'task.vetoed', taskId: task.id, agentId: this.id, feedback: verdict.veto });
      if (task.feedback.length >= runtime.settings.maxVetoes) {
        await claim.fail(`vetoed ${task.feedback.length + 1} times; last: ${verdict.veto}`, { retryable: false });
      } else {
        await claim.release({ feedback: verdict.veto });
      }
      return;
    }
    if (result instanceof MergeRefused) {
      await this.reopenAfterMerge(claim, result);
      return;
    }
    if (result instanceof Deferral) {
      await claim.defer(result.dependencies);
      trace?.outcome('deferred');
      return;
    }
    const review = task.metadata.review === true && task.type !== 'review';
    await this.untilStored(claim, () => claim.complete(result, { review }));
    trace?.outcome(review ? 'review' : 'completed');
    this.completedCount += 1;
    if (review) {
      const reviewTask = await runtime.queue.add(withTraceparent(reviewTaskFor(task), trace?.traceparent()));
      await runtime.taskAdded(reviewTask);
    }
    for (const lead of runtime.leads()) {
      if (lead === this.id) continue;
      await runtime.bus.send({
        from: this.id,
        to: lead,
        kind: 'task_completed',
        taskId: task.id,
        body: { taskId: task.id, status: review ? 'review' : 'completed' },
      });
    }
  }

  /**
   * Whether this agent changes files only through the file tools, so a shared
   * working tree knows what each task wrote (a command agent changes them on its own).
   */
  get writesThroughTools(): boolean {
    return true;
  }

  /** This agent's access to the team's repository, when the team has one. */
  protected repoAccess(): 'write' | 'read' | undefined {
    const access = this.options.codebase;
    return this.runtimeRef?.repo && (access === 'write' || access === 'read') ? access : undefined;
  }

  /** The file tools on the task's worktree (write) or on `mergeInto` (read). */
  private async repoTools(task: TaskRecord): Promise<{ codebase: Codebase; tools: ExecutableTool[] } | undefined> {
    const access = this.repoAccess();
    const repo = this.runtime.repo;
    if (!access || !repo) return undefined;
    if (access === 'write' && repo.shared) return this.sharedTools(task, repo, repo.shared);
    const root = access === 'write' ? await repo.worktreeFor(task.id, this.id) : await repo.snapshotFor(this.id);
    const codebase = new Codebase(root, { owner: this.id, allowWrite: access === 'write' });
    const tools = codebaseTools(codebase, { commands: repo.commands, env: repo.env });
    return { codebase, tools };
  }

  /**
   * The file tools in the team's shared working tree (`isolation: shared`): a
   * write or edit first takes the file's path lock (owner: the task), held
   * until the task is committed, so no two tasks change one file at once; the
   * second waits up to the lock wait, then gets an error naming the task that
   * holds it. The files written are what the task's commit holds.
   */
  private sharedTools(task: TaskRecord, repo: TeamRepo, shared: NonNullable<TeamRepo['shared']>): { codebase: Codebase; tools: ExecutableTool[] } {
    const existing = this.sharedWork.get(task.id);
    const codebase = existing?.codebase ?? new Codebase(shared.dir, { owner: task.id, allowWrite: true, locks: shared.locks });
    // What earlier attempts of the task wrote (a killed worker's edits) is the task's too.
    const touched = existing?.touched ?? new Set<string>(repo.touchedBy(task.id));
    this.sharedWork.set(task.id, { codebase, touched });
    const tools = codebaseTools(codebase, { commands: repo.commands, env: repo.env }).map((tool): ExecutableTool => {
      if (tool.name !== 'write_file' && tool.name !== 'edit_file') return tool;
      return {
        ...tool,
        execute: async (args, context) => {
          const target = (args as { path?: unknown }).path;
          if (typeof target === 'string') {
            try {
              await codebase.lock(target);
            } catch (err) {
              if (!(err instanceof ResourceLockedError)) throw err;
              const holder = err.holder?.owner;
              throw new CodebaseAccessError(
                `${target} is being changed by ${holder ? `task "${holder}"` : 'another task'} in the team's shared working tree, which holds it until that task is committed ` +
                  `(waited ${Math.round(err.waitedMs)} ms). Work on other files first, or try this one again later.`,
              );
            }
            const file = codebase.relative(target);
            if (!touched.has(file)) repo.noteTouched(task.id, file);
            touched.add(file);
          }
          return tool.execute(args, context);
        },
      };
    });
    return { codebase, tools };
  }

  /** Gives up a task's path locks in the shared working tree (after its commit, or when the attempt ends otherwise). */
  private async releaseSharedWork(taskId: string): Promise<void> {
    const work = this.sharedWork.get(taskId);
    this.sharedWork.delete(taskId);
    await work?.codebase.unlockAll();
  }

  /**
   * With `isolation: shared`: the test command runs in the shared tree, then
   * the files the task wrote are committed on `mergeInto` (by path, so the
   * commit is this task's alone), and its path locks are released.
   */
  private async finishShared(task: TaskRecord, result: unknown, signal: AbortSignal): Promise<unknown> {
    const repo = this.runtime.repo as TeamRepo;
    const shared = repo.shared as NonNullable<TeamRepo['shared']>;
    const work = this.sharedWork.get(task.id);
    const touched = [...(work?.touched ?? [])];
    // The files to commit are this task's: their locks are held (taken again for files an earlier attempt wrote).
    for (const file of touched) await work?.codebase.lock(file, { signal });
    const test = touched.length > 0 ? await repo.runTest(shared.dir, signal) : undefined;
    const info = await repo.commitPaths(task.id, task.description, this.id, touched);
    await this.releaseSharedWork(task.id);
    this.runtime.emit({ type: 'git.committed', taskId: task.id, agentId: this.id, branch: info.branch, commit: info.commit ?? null, diffStat: info.diffStat });
    const summary = { summary: result, repo: info.repo, branch: info.branch, base: info.base, commit: info.commit ?? null, diffStat: info.diffStat, ...(test ? { test } : {}) };
    if (!info.commit) return summary;
    this.runtime.emit({ type: 'git.merged', taskId: task.id, agentId: this.id, into: repo.mergeInto, commit: info.commit });
    return { ...summary, merged: { commit: info.commit, into: repo.mergeInto } };
  }

  /**
   * After a coding task's work: commit it on the task's branch and, unless the
   * task is held for review, merge it (with the tests) through the merge queue.
   * The result carries the commit, the diff stat and the test outcome.
   */
  private async finishInRepo(task: TaskRecord, result: unknown, signal: AbortSignal): Promise<unknown> {
    const repo = this.runtime.repo as TeamRepo;
    if (repo.shared) return this.finishShared(task, result, signal);
    const worktree = await repo.worktreeFor(task.id, this.id);
    const info = await repo.commit(worktree, task.id, task.description, this.id);
    const summary = { summary: result, repo: info.repo, branch: info.branch, base: info.base, commit: info.commit ?? null, diffStat: info.diffStat };
    this.runtime.emit({ type: 'git.committed', taskId: task.id, agentId: this.id, branch: info.branch, commit: info.commit ?? null, diffStat: info.diffStat });
    const review = task.metadata.review === true && task.type !== 'review';
    if (!info.commit) {
      await repo.park(task.id, this.id);
      // Nothing to merge. Its work may be merged already (a worker killed between its merge and its result): say so.
      const mergedAs = await repo.mergedAs(task.id);
      return mergedAs ? { ...summary, merged: { commit: mergedAs, into: repo.mergeInto } } : summary;
    }
    if (review) {
      // Held for review: the reviewer sees the diff and this test run; the merge waits for the approval.
      const test = await repo.runTest(worktree, signal);
      if (test && !test.passed && (await repo.probeTestStatus(info.base, this.id, signal)) === false) test.baseFailed = true;
      return { ...summary, ...(test ? { test } : {}) };
    }
    const merged = await repo.merge(task.id, this.id, signal);
    if (!merged.merged) return new MergeRefused(merged);
    await repo.park(task.id, this.id);
    this.runtime.emit({ type: 'git.merged', taskId: task.id, agentId: this.id, into: merged.into, commit: merged.commit });
    return { ...summary, merged: { commit: merged.commit, into: merged.into }, ...(merged.test ? { test: merged.test } : {}) };
  }

  /** A merge that failed: the task starts over from the new `mergeInto` with why as feedback, or fails after its attempts. */
  private async reopenAfterMerge(claim: Claim, refused: MergeRefused): Promise<void> {
    const task = claim.task;
    const repo = this.runtime.repo as TeamRepo;
    const outcome = refused.outcome;
    const feedback =
      outcome.reason === 'conflict'
        ? `Merge conflict: your change to ${outcome.files.join(', ') || 'the files'} conflicts with work merged meanwhile. ` +
          'You start again from the merged code: read the files again and make your change on top of it.'
        : `Tests failed after merging your change into ${repo.mergeInto} (${outcome.test.command}, exit ${String(outcome.test.exitCode)}):\n${outcome.test.output.slice(-1500)}`;
    this.runtime.emit({ type: 'git.merge_refused', taskId: task.id, agentId: this.id, reason: outcome.reason, detail: feedback.split('\n')[0] ?? '' });
    const earlier = task.feedback.filter((f) => f.startsWith('Merge conflict') || f.startsWith('Tests failed after merging')).length;
    await repo.startOver(task.id, task.attempt);
    if (earlier + 1 >= task.maxAttempts) {
      await claim.fail(`${feedback.split('\n')[0]} (after ${earlier + 1} merge attempts)`, { retryable: false });
      return;
    }
    await claim.release({ feedback });
  }

  /** Builds what `execute` sees: dependencies, messages, a usage-counting model, helpers. */
  protected async createContext(task: TaskRecord, signal: AbortSignal): Promise<TaskContext> {
    const runtime = this.runtime;
    const { dependencies, results } = await gatherDependencies(runtime.queue, task);
    const messages = await runtime.bus.receive(this.id);
    if (messages.length > 0) await runtime.bus.ack(this.id, messages);
    const attribution = { agentId: this.id, taskId: task.id, teamId: runtime.teamId };
    const trace = this.traces.get(task.id);
    const track = (model: LanguageModel, extra: Attribution = {}) => {
      const counted = withUsage(model, runtime.usage, { attribution: { ...attribution, ...extra } });
      return trace ? trace.model(counted) : counted;
    };
    const inRepo = await this.repoTools(task);
    const mcpTools = this.options.mcp?.length && runtime.mcp ? await runtime.mcp.toolsFor(this.options.mcp, signal) : [];
    const baseTools = [...(inRepo?.tools ?? this.tools), ...mcpTools];
    // Tasks this attempt adds carry its trace, so their attempts (in any process) join it.
    const traced = <T extends { metadata?: Record<string, unknown> }>(input: T): T => withTraceparent(input, trace?.traceparent());
    // Cache hints keyed by team and role, so agents of one role share the provider's cache.
    const cacheKey = promptCacheKey(runtime.teamId, this.role, this.options.specialty);
    const model = track(withPromptCache(this.model, { enabled: this.options.cache ?? true, key: cacheKey }));
    return {
      task,
      agentId: this.id,
      model,
      attempt: task.attempt,
      feedback: task.feedback,
      dependencies,
      results,
      messages,
      signal,
      addTask: async (input) => {
        const added = await runtime.queue.add(traced(input));
        await runtime.taskAdded(added);
        return added;
      },
      addTasks: async (inputs) => {
        const added = await runtime.queue.addMany(inputs.map(traced));
        for (const t of added) await runtime.taskAdded(t);
        return added;
      },
      send: (to, body, kind = 'text') => runtime.bus.send({ from: this.id, to, kind, body, taskId: task.id }),
      get: (taskId) => runtime.queue.get(taskId),
      tools: trace ? trace.tools(baseTools) : baseTools,
      ...(inRepo ? { codebase: inRepo.codebase } : this.codebase ? { codebase: this.codebase } : {}),
      ...(this.options.workdir ? { workdir: this.workdir() as string } : {}),
      track,
      defer: (deps) => new Deferral(deps),
    };
  }
}

/** A task's dependencies as an agent sees them, and the results of those that completed. */
export async function gatherDependencies(
  queue: Pick<AgentRuntime['queue'], 'get'>,
  task: TaskRecord,
): Promise<{ dependencies: DependencyResult[]; results: Record<string, unknown> }> {
  const dependencies: DependencyResult[] = [];
  const results: Record<string, unknown> = {};
  for (const id of task.dependencies) {
    const dep = await queue.get(id);
    if (!dep) continue;
    dependencies.push({ id, description: dep.description, status: dep.status, result: dep.result, reason: dep.reason });
    if (dep.status === 'completed') results[id] = dep.result;
  }
  return { dependencies, results };
}

/** The review task for a task held for review; the key makes re-adding it harmless. */
export function reviewTaskFor(task: TaskRecord): Parameters<AgentRuntime['queue']['add']>[0] {
  const requires = typeof task.metadata.reviewRequires === 'string' ? task.metadata.reviewRequires : undefined;
  const id = `${task.id}.review-${task.attempt}`;
  return {
    ...(id.length <= 128 ? { id } : {}),
    description: `Review the result of task "${task.id}": ${task.description}`,
    type: 'review',
    priority: task.priority + 1,
    idempotencyKey: `review:${task.id}:${task.attempt}`,
    metadata: { reviewOf: task.id, round: task.feedback.length + 1 },
    ...(requires ? { requires } : {}),
  };
}

/** Errors that say the same call would fail again (bad key, bad request) are not retried. */
export function isRetryable(err: unknown): boolean {
  if (typeof err === 'object' && err !== null && 'isRetryable' in err) return Boolean(err.isRetryable);
  if (err instanceof ValidationError) return false;
  return true;
}

/** What a coding task's attempt returns when its merge was refused (a conflict, or tests failing after the merge). */
class MergeRefused {
  constructor(readonly outcome: Exclude<MergeOutcome, { merged: true }>) {}
}

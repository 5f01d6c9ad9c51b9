import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AbortError, AgentTeamError, type TaskRecord, ValidationError, checkOptions, errorMessage, rules } from '@agent-team/core';
import { Agent, type AgentOptions } from '../agent/agent.js';
import { taskPrompt } from '../agent/prompts.js';
import type { TaskContext } from '../agent/task-context.js';
import type { GenerateResponse, LanguageModel, StreamEvent } from '../models/index.js';
import { redactSecrets } from '../models/secrets.js';
import { formatCommandLine, splitCommandLine } from './command-line.js';
import './events.js';
import { expandEnv, minimalEnv, registerEnvSecrets } from './env.js';
import { type CommandPreset, PRESETS, PRESET_NAMES, type PresetName, type ToolUsage, isPresetName } from './presets.js';
import { type ProcessOutcome, runProcess } from './process-runner.js';

export interface CommandAgentOptions extends Omit<AgentOptions, 'temperature' | 'maxTokens' | 'maxSteps'> {
  /**
   * The program to run for each task: a command line (split into words like a
   * shell would, but run without one) or a list of arguments.
   */
  command?: string | readonly string[];
  /** A known tool's documented non-interactive invocation: `claude-code`, `codex`, `aider`, `gemini`. */
  preset?: PresetName;
  /** Arguments added after the command's or the preset's (e.g. `['--model', 'sonnet']`). */
  args?: readonly string[];
  /** Run `command` (a string) through `/bin/sh -c`. @default false */
  shell?: boolean;
  /** Variables added to the command's environment; `${VAR}` and `${VAR:-default}` expand from this process's. */
  env?: Readonly<Record<string, string>>;
  /**
   * Pass this process's environment on (the tool needs its own API key and
   * configuration). False passes only PATH, HOME, USER, LANG and the like,
   * plus `env` and the AGENT_TEAM_* variables.
   * @default true
   */
  inheritEnv?: boolean;
  /** Time limit of one attempt; the process group is then killed. @default 1800000 (30 min) */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL when it must stop. @default 3000 */
  killGraceMs?: number;
  /** Standard output kept as the result; more is dropped with a note. @default 4 MiB */
  maxOutputBytes?: number;
  /** Output lines written to the event log per attempt (the rest are counted). @default 1000 */
  maxProgressLines?: number;
  /**
   * Where it runs when the task has no worktree and the agent no codebase.
   * @default the agent's own folder, `<workdir base or current folder>/.agents/<id>`
   */
  cwd?: string;
}

/** A command's failure: the message holds the tail of its standard error. */
export class CommandFailedError extends AgentTeamError {
  constructor(
    message: string,
    readonly isRetryable: boolean,
    readonly outcome?: Pick<ProcessOutcome, 'exitCode' | 'signal' | 'timedOut' | 'durationMs'>,
  ) {
    super(message);
  }
}

/** What a command agent's `model` is: a name for status and usage; it answers no prompts. */
function commandModel(id: string): LanguageModel {
  const refuse = (): never => {
    throw new ValidationError(`${id} runs a program for each task and has no model to ask`);
  };
  return {
    id,
    provider: 'command',
    generate: async (): Promise<GenerateResponse> => refuse(),
    // eslint-disable-next-line require-yield -- it refuses before yielding anything
    stream: async function* (): AsyncIterable<StreamEvent> {
      refuse();
    },
  };
}

const PROGRESS_PER_SECOND = 20;

/**
 * An agent whose work is done by an outside program: Claude Code, Codex CLI,
 * aider, Gemini CLI (presets) or any command. Each task runs it once, in the
 * task's worktree (or the agent's codebase, or its own folder), with the
 * task's full prompt on standard input and `AGENT_TEAM_TASK_ID`,
 * `AGENT_TEAM_AGENT_ID`, `AGENT_TEAM_ATTEMPT` and `AGENT_TEAM_WORKSPACE` in
 * its environment. Its standard output is the result (parsed as JSON when it
 * is JSON; a preset reads the tool's own output format and its token use).
 * A non-zero exit fails the attempt with the tail of standard error; the
 * timeout, a lost lease, the end of the run or the death of this process
 * kill its whole process group. Output lines go to the event log as
 * `command.output` progress. See docs/command-agents.md.
 *
 * @example
 * team.addAgent(new CommandAgent('claude-1', 'worker', { preset: 'claude-code', args: ['--model', 'sonnet'] }));
 * team.addAgent(new CommandAgent('fmt', 'worker', { command: ['./scripts/fix.sh', '--quiet'] }));
 */
export class CommandAgent extends Agent {
  readonly preset: CommandPreset | undefined;
  /** Program and arguments (with `shell`, one command string). */
  readonly argv: readonly string[];
  readonly shell: boolean;
  private readonly extraEnv: Record<string, string>;
  private readonly commandOptions: CommandAgentOptions;

  constructor(id: string, role: 'worker' | 'specialist', options: CommandAgentOptions) {
    if (role !== 'worker' && role !== 'specialist') {
      throw new ValidationError(`command agent "${id}" must be a worker or a specialist, got ${JSON.stringify(role)}: leads and reviewers need a model`);
    }
    const { preset, argv, shell } = resolveInvocation(id, options);
    const label = preset ? `preset:${preset.name}` : `command:${path.basename(argv[0] ?? 'command').split(' ')[0]}`;
    // Only plain tasks: proposals and reviews need answers in a form a program cannot be held to.
    super(id, role, commandModel(label), { types: ['task'], ...options, workdir: options.workdir ?? true });
    this.preset = preset;
    this.argv = argv;
    this.shell = shell;
    this.commandOptions = options;
    this.extraEnv = expandEnv(options.env, `env of agent "${id}"`);
    checkOptions(options, {
      timeoutMs: rules.duration(),
      killGraceMs: rules.duration(),
      maxOutputBytes: rules.int({ min: 1 }),
      maxProgressLines: rules.int({ min: 0 }),
    }, `agent "${id}"`);
  }

  /** The command as it is shown in events and errors. */
  describeCommand(): string {
    return this.shell ? (this.argv[0] as string) : formatCommandLine(this.argv);
  }

  /** A command agent's program changes files by itself, out of sight of the file tools. */
  override get writesThroughTools(): boolean {
    return false;
  }

  /** Where the command runs for this task: the worktree, the codebase, the agent's own folder. */
  workingFolder(ctx: TaskContext): string {
    const worktree = 'worktree' in ctx && typeof ctx.worktree === 'string' ? ctx.worktree : undefined;
    if (worktree) return worktree;
    if (ctx.codebase) return ctx.codebase.root;
    if (this.commandOptions.cwd) return path.resolve(this.commandOptions.cwd);
    return ctx.workdir ?? (this.workdir() as string);
  }

  /** What goes on standard input: the prompt our own agents get for the task. */
  prompt(task: TaskRecord, ctx: TaskContext): string {
    const user = taskPrompt(task, ctx);
    return this.options.system ? `${this.options.system}\n\n${user}\n` : `${user}\n`;
  }

  override async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
    const runtime = this.runtime;
    const cwd = this.workingFolder(ctx);
    if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) {
      throw new CommandFailedError(`agent "${this.id}" cannot run its command in ${cwd}: no such folder`, false);
    }
    const prompt = this.prompt(task, ctx);
    const env = this.environment(task, ctx);
    const display = redactSecrets(this.describeCommand());
    let promptFile: string | null = null;
    let args = this.argv.slice(1);
    if (args.some((a) => a.includes('{promptFile}'))) {
      promptFile = writePromptFile(prompt);
      args = args.map((a) => a.split('{promptFile}').join(promptFile as string));
    }
    const progress = this.progressWriter(task);
    const timeoutMs = this.commandOptions.timeoutMs ?? 30 * 60_000;
    let outcome: ProcessOutcome;
    try {
      outcome = await runProcess({
        file: this.argv[0] as string,
        args,
        shell: this.shell,
        cwd,
        env,
        stdin: prompt,
        timeoutMs,
        ...(this.commandOptions.killGraceMs !== undefined ? { killGraceMs: this.commandOptions.killGraceMs } : {}),
        ...(this.commandOptions.maxOutputBytes !== undefined ? { maxStdoutBytes: this.commandOptions.maxOutputBytes } : {}),
        signal: ctx.signal,
        onStart: (pid) => runtime.emit({ type: 'command.started', taskId: task.id, agentId: this.id, attempt: task.attempt, command: display, cwd, pid }),
        onLine: progress.line,
      });
    } finally {
      if (promptFile) fs.rmSync(path.dirname(promptFile), { recursive: true, force: true });
    }
    progress.end();
    runtime.emit({
      type: 'command.finished',
      taskId: task.id,
      agentId: this.id,
      attempt: task.attempt,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut,
      durationMs: outcome.durationMs,
      outputBytes: Buffer.byteLength(outcome.stdout) + outcome.stdoutDropped,
    });
    if (outcome.spawnError) {
      const notFound = outcome.spawnError.code === 'ENOENT';
      throw new CommandFailedError(
        notFound
          ? `agent "${this.id}" cannot run "${this.argv[0]}": no such program on PATH or at that path${this.preset ? ` (install ${this.preset.tool})` : ''}`
          : `agent "${this.id}" cannot run "${this.argv[0]}": ${redactSecrets(outcome.spawnError.message)}`,
        false,
      );
    }
    if (outcome.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new AbortError(`${display} was stopped`);
    const parsed = this.preset ? this.preset.parse(outcome.stdout, outcome.stderrTail) : null;
    if (parsed) this.recordUsage(task, parsed.usage, outcome.durationMs);
    const tail = stderrTail(outcome.stderrTail);
    if (outcome.timedOut) {
      throw new CommandFailedError(`${display} timed out after ${timeoutMs} ms; its process group was killed${tail}`, true, outcome);
    }
    if (outcome.exitCode !== 0) {
      const how = outcome.exitCode === null ? `was killed by ${outcome.signal ?? 'a signal'}` : `exited with code ${outcome.exitCode}`;
      throw new CommandFailedError(`${display} ${how}${tail || (parsed?.error ? `: ${redactSecrets(parsed.error)}` : '')}`, true, outcome);
    }
    if (parsed?.error) throw new CommandFailedError(`${display}: ${redactSecrets(parsed.error)}${tail}`, true, outcome);
    const note = outcome.stdoutDropped > 0 ? `\n[... ${outcome.stdoutDropped} more bytes of output dropped: over the ${this.commandOptions.maxOutputBytes ?? 4 * 1024 * 1024}-byte limit]` : '';
    if (parsed) return typeof parsed.result === 'string' ? redactSecrets(parsed.result) + note : parsed.result;
    return resultOf(redactSecrets(outcome.stdout), note);
  }

  /** The command's environment (see docs/command-agents.md for what is passed and why). */
  private environment(task: TaskRecord, ctx: TaskContext): Record<string, string> {
    const base: Record<string, string> = {};
    if (this.commandOptions.inheritEnv === false) Object.assign(base, minimalEnv());
    else for (const [k, v] of Object.entries(process.env)) if (v !== undefined) base[k] = v;
    const location = this.runtime.backendLocation;
    const env: Record<string, string> = {
      ...base,
      ...this.extraEnv,
      AGENT_TEAM_TASK_ID: task.id,
      AGENT_TEAM_AGENT_ID: this.id,
      AGENT_TEAM_ATTEMPT: String(ctx.attempt),
      ...(location ? { AGENT_TEAM_WORKSPACE: location.location } : {}),
    };
    // A tool may echo what it was given: whatever looks like a credential is masked in what we record.
    registerEnvSecrets(env);
    return env;
  }

  private recordUsage(task: TaskRecord, usage: readonly ToolUsage[], durationMs: number): void {
    const runtime = this.runtime;
    const provider = this.preset?.name ?? 'command';
    for (const u of usage) {
      runtime.usage.record({
        modelId: `${provider}:${u.model}`,
        provider,
        model: u.model,
        purpose: 'task',
        attribution: { agentId: this.id, taskId: task.id, teamId: runtime.teamId },
        usage: { inputTokens: u.inputTokens, outputTokens: u.outputTokens },
        costUsd: u.costUsd,
        durationMs,
        at: Date.now(),
        cached: false,
      });
    }
  }

  /** Output lines as `command.output` events: summarised by the preset, masked, clipped and rate-limited. */
  private progressWriter(task: TaskRecord): { line: (stream: 'stdout' | 'stderr', line: string) => void; end: () => void } {
    const runtime = this.runtime;
    const max = this.commandOptions.maxProgressLines ?? 1000;
    let written = 0;
    let skipped = 0;
    let windowStart = 0;
    let inWindow = 0;
    const emit = (stream: 'stdout' | 'stderr' | 'note', line: string) =>
      runtime.emit({ type: 'command.output', taskId: task.id, agentId: this.id, attempt: task.attempt, stream, line });
    return {
      line: (stream, raw) => {
        let text: string | null;
        try {
          text = this.preset ? this.preset.describe(raw, stream) : raw.trimEnd();
        } catch (err) {
          text = `(unreadable line: ${errorMessage(err)})`;
        }
        if (text === null || text.trim() === '') return;
        const now = Date.now();
        if (now - windowStart >= 1000) {
          windowStart = now;
          inWindow = 0;
        }
        if (written >= max || inWindow >= PROGRESS_PER_SECOND) {
          skipped += 1;
          return;
        }
        written += 1;
        inWindow += 1;
        emit(stream, redactSecrets(text).slice(0, 500));
      },
      end: () => {
        if (skipped > 0) emit('note', `(${skipped} more output line${skipped === 1 ? '' : 's'} not logged)`);
      },
    };
  }
}

function resolveInvocation(id: string, options: CommandAgentOptions): { preset: CommandPreset | undefined; argv: string[]; shell: boolean } {
  const where = `agent "${id}"`;
  if ((options.command === undefined) === (options.preset === undefined)) {
    throw new ValidationError(`${where} needs exactly one of command or preset (${PRESET_NAMES.join(', ')})`);
  }
  const extra = [...(options.args ?? [])];
  if (extra.some((a) => typeof a !== 'string')) throw new ValidationError(`args of ${where} must be strings`);
  if (options.preset !== undefined) {
    if (!isPresetName(options.preset)) {
      throw new ValidationError(`${where}: unknown preset ${JSON.stringify(options.preset)}: use one of ${PRESET_NAMES.join(', ')}, or give a command`);
    }
    if (options.shell) throw new ValidationError(`${where}: shell applies to a command, not to a preset`);
    const preset = PRESETS[options.preset];
    return { preset, argv: [...preset.argv, ...extra], shell: false };
  }
  const command = options.command as string | readonly string[];
  if (options.shell) {
    if (typeof command !== 'string' || command.trim() === '') throw new ValidationError(`${where}: with shell: true, command must be one non-empty string`);
    return { preset: undefined, argv: [extra.length ? `${command} ${formatCommandLine(extra)}` : command], shell: true };
  }
  if (Array.isArray(command)) {
    if (command.length === 0 || command.some((a) => typeof a !== 'string') || command[0] === '') {
      throw new ValidationError(`command of ${where} must be a non-empty list of strings, the program first`);
    }
    return { preset: undefined, argv: [...(command as string[]), ...extra], shell: false };
  }
  return { preset: undefined, argv: [...splitCommandLine(command as string, `command of ${where}`), ...extra], shell: false };
}

/** Output that is JSON becomes that value; anything else is the text. */
function resultOf(stdout: string, note: string): unknown {
  const text = stdout.trim();
  if (note === '' && (text.startsWith('{') || text.startsWith('[') || text.startsWith('"') || /^(-?\d|true$|false$|null$)/.test(text))) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // not JSON after all
    }
  }
  return text + note;
}

function stderrTail(tail: string): string {
  const lines = redactSecrets(tail).trimEnd().split('\n');
  const last = lines.slice(-20).join('\n');
  const clipped = last.length > 2000 ? `…${last.slice(-2000)}` : last;
  return clipped.trim() ? `; the end of its standard error:\n${clipped}` : '';
}

/** The prompt in a private temporary file, for tools that take it as a file. */
function writePromptFile(prompt: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-team-prompt-'));
  const file = path.join(dir, 'prompt.md');
  fs.writeFileSync(file, prompt, { mode: 0o600 });
  return file;
}


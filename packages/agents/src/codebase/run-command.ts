import { ValidationError, describeValue } from '@agent-team/core';
import { splitCommandLine } from '../command/command-line.js';
import { minimalEnv } from '../command/env.js';
import { runProcess } from '../command/process-runner.js';
import type { ExecutableTool } from '../models/index.js';
import { redactSecrets } from '../models/secrets.js';
import { linearPattern } from './patterns.js';

/**
 * What `run_command` may start. A string is a command line matched word by
 * word against the model's command, run without a shell: `npm test` allows
 * exactly that; a `*` word at the end allows any further arguments
 * (`node *`); a `*` inside a word matches any characters there
 * (`node scripts/*.mjs`). `{ shell: "..." }` allows that exact line through
 * `/bin/sh -c`, for an entry that needs pipes or `&&`.
 */
export type CommandRule = string | { shell: string };

export interface RunCommandOptions {
  /** The folder commands run in (the task's worktree, or the codebase root). */
  cwd: string;
  commands: readonly CommandRule[];
  /**
   * Variables passed on to commands besides the minimal set (PATH, HOME, USER,
   * LOGNAME, SHELL, TERM, LANG, LC_*, TMPDIR, TZ). Nothing else of this
   * process's environment (API keys included) reaches a command.
   */
  env?: Readonly<Record<string, string>>;
  /** @default 120_000 (2 minutes); a call may ask for less or more, up to `maxTimeoutMs` */
  timeoutMs?: number;
  /** @default 600_000 */
  maxTimeoutMs?: number;
  /** Output kept for the model: this much of the start and this much of the end. @default 8_000 each */
  headChars?: number;
  tailChars?: number;
}

/** The read-only git commands, and the test command (with any further arguments), as rules. */
export function defaultCommandRules(test?: string): CommandRule[] {
  const rules: CommandRule[] = ['git status *', 'git diff *', 'git log *', 'git show *'];
  if (test !== undefined && test.trim() !== '') rules.unshift(/[|&;<>()$`]/.test(test) ? { shell: test } : `${test} *`);
  return rules;
}

interface Compiled {
  rule: CommandRule;
  matches(argv: readonly string[], line: string): boolean;
  shell: boolean;
}

function compileRule(rule: CommandRule): Compiled {
  if (typeof rule === 'object' && rule !== null && typeof rule.shell === 'string' && rule.shell.trim() !== '') {
    const exact = rule.shell.trim();
    return { rule, shell: true, matches: (_argv, line) => line.trim() === exact };
  }
  if (typeof rule !== 'string' || rule.trim() === '') {
    throw new ValidationError(`a command rule must be a command line such as "npm test" or "node *", or { shell: "..." }; got ${describeValue(rule)}`);
  }
  // Every "*" of a rule is a wildcard: hide it from the splitter, which refuses globs.
  const STAR = '\u0000';
  const words = splitCommandLine(rule.replaceAll('*', STAR), `command rule ${describeValue(rule)}`).map((w) => w.replaceAll(STAR, '*'));
  const open = words.at(-1) === '*';
  const fixed = (open ? words.slice(0, -1) : words).map((word) =>
    word.includes('*') ? linearPattern(`^${word.split('*').map(escapeRe2).join('.*')}$`, { what: `command rule ${describeValue(rule)}` }) : word,
  );
  if (fixed.length === 0) throw new ValidationError(`command rule ${describeValue(rule)} names no program`);
  return {
    rule,
    shell: false,
    matches(argv) {
      if (argv.length < fixed.length || (!open && argv.length !== fixed.length)) return false;
      return fixed.every((want, i) => (typeof want === 'string' ? argv[i] === want : want.test(argv[i] as string)));
    },
  };
}

function escapeRe2(text: string): string {
  return text.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');
}

/** Arguments that make a read-only git command write files or run programs. */
const GIT_REFUSED = /^(?:--output(?:=|$)|--ext-diff$|-c$|--config-env|--exec-path|--upload-pack|--receive-pack|--textconv$)/;

/**
 * `run_command { command, timeout_ms? }`: runs an allowed command in `cwd`
 * without a shell (unless its rule asks for one), in a process group that a
 * timeout, an abort or the agent's death ends whole, with an environment
 * stripped to the minimal set plus what `env` passes on. Returns the exit
 * code, the duration and the output (stdout and stderr as they came), its
 * middle cut when long. Not a sandbox: see docs/codebase.md.
 */
export function runCommandTool(options: RunCommandOptions): ExecutableTool {
  const rules = options.commands.map(compileRule);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const maxTimeoutMs = options.maxTimeoutMs ?? 600_000;
  const head = options.headChars ?? 8000;
  const tail = options.tailChars ?? 8000;
  const allowed = options.commands.map((r) => (typeof r === 'string' ? r : `${r.shell} (through a shell)`)).join('; ');
  return {
    name: 'run_command',
    description:
      `Run a command in the working folder, such as the tests. Allowed: ${allowed}. A "*" at the end allows further ` +
      'arguments. No shell: pipes, redirections, "&&" and variables are not interpreted unless an allowed entry says ' +
      `"through a shell". Returns the exit code, the time taken and the output (stdout and stderr); long output keeps its ` +
      `start and end. Default timeout ${Math.round(timeoutMs / 1000)} s (timeout_ms to change it, at most ${Math.round(maxTimeoutMs / 1000)} s); ` +
      'at the timeout the command and everything it started are killed.',
    parameters: {
      type: 'object',
      properties: {
        command: { type: 'string', minLength: 1, description: 'The command line, e.g. "npm test".' },
        timeout_ms: { type: 'integer', minimum: 1000, maximum: maxTimeoutMs, description: `Milliseconds before it is killed. Default ${timeoutMs}.` },
      },
      required: ['command'],
      additionalProperties: false,
    },
    execute: async (args, context) => {
      context.signal?.throwIfAborted();
      const line = args.command;
      if (typeof line !== 'string' || line.trim() === '') throw new ValidationError(`argument "command" must be a command line, got ${describeValue(line)}`);
      const limit = args.timeout_ms === undefined ? timeoutMs : args.timeout_ms;
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1000 || limit > maxTimeoutMs) {
        throw new ValidationError(`argument "timeout_ms" must be a whole number from 1000 to ${maxTimeoutMs}, got ${describeValue(limit)}`);
      }
      const shellRule = rules.find((r) => r.shell && r.matches([], line));
      let argv: string[] = [];
      if (!shellRule) {
        try {
          argv = splitCommandLine(line, 'command');
        } catch (err) {
          // The splitter's advice (set shell: true) is for spec writers; the model is told what it can do.
          const why = (err as Error).message.replace(/: it runs without a shell; quote the character, or set shell: true$/, '');
          throw new ValidationError(`${why}: commands run without a shell here (no pipes, redirections, "&&", globs or $VARS); allowed: ${allowed}`);
        }
        const rule = rules.find((r) => !r.shell && r.matches(argv, line));
        if (!rule) {
          throw new ValidationError(`command ${describeValue(line)} is not allowed here; allowed: ${allowed}`);
        }
        if (argv[0] === 'git') {
          const bad = argv.find((a) => GIT_REFUSED.test(a));
          if (bad) throw new ValidationError(`git argument ${describeValue(bad)} is refused: it writes files or runs programs`);
        }
      }
      const output = new HeadTail(head, tail);
      const outcome = await runProcess({
        file: shellRule ? line.trim() : (argv[0] as string),
        args: shellRule ? [] : argv.slice(1),
        shell: shellRule !== undefined,
        cwd: options.cwd,
        env: { ...minimalEnv(), NO_COLOR: '1', ...(options.env ?? {}) },
        stdin: '',
        timeoutMs: limit,
        killGraceMs: 2000,
        ...(context.signal ? { signal: context.signal } : {}),
        // The output is collected line by line below; the runner's own copies are not needed.
        maxStdoutBytes: 1,
        maxStderrBytes: 1,
        onLine: (_stream, text) => output.push(text),
      });
      const seconds = (outcome.durationMs / 1000).toFixed(1);
      let status: string;
      if (outcome.spawnError) status = `could not start: ${outcome.spawnError.message}`;
      else if (outcome.timedOut) status = `timed out after ${seconds} s: the command and every process it started were killed`;
      else if (outcome.aborted) status = `stopped after ${seconds} s: the task was cancelled`;
      else if (outcome.exitCode === null) status = `ended by ${outcome.signal ?? 'a signal'} after ${seconds} s`;
      else status = `exit code ${outcome.exitCode} after ${seconds} s`;
      return redactSecrets(`$ ${line.trim()}\n${status}\n${output.render()}`);
    },
  };
}

/** Keeps the first and the last characters of a stream of lines, and counts what falls between. */
class HeadTail {
  private readonly first: string[] = [];
  private firstChars = 0;
  private last: string[] = [];
  private lastChars = 0;
  private cutLines = 0;
  private cutChars = 0;
  private total = 0;

  constructor(
    private readonly headChars: number,
    private readonly tailChars: number,
  ) {}

  push(line: string): void {
    this.total += 1;
    if (this.firstChars + line.length + 1 <= this.headChars && this.last.length === 0) {
      this.first.push(line);
      this.firstChars += line.length + 1;
      return;
    }
    this.last.push(line);
    this.lastChars += line.length + 1;
    while (this.lastChars > this.tailChars && this.last.length > 1) {
      const dropped = this.last.shift() as string;
      this.lastChars -= dropped.length + 1;
      this.cutLines += 1;
      this.cutChars += dropped.length + 1;
    }
  }

  render(): string {
    if (this.total === 0) return '(no output)';
    const parts = [...this.first];
    if (this.cutLines > 0) parts.push(`[... ${this.cutLines} lines (${this.cutChars} characters) of output cut here; the last lines follow ...]`);
    parts.push(...this.last);
    return parts.join('\n');
  }
}

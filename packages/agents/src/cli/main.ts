/**
 * The `agent-team` command line. Exit codes: 0 success, 1 a failed run, 2 bad
 * usage or input, 130/143 interrupted (SIGINT/SIGTERM). Data goes to stdout,
 * progress and diagnostics to stderr; colour follows Node's rules (off under
 * NO_COLOR, TERM=dumb or when the stream is not a terminal). Heavy modules (model SDKs) load only for the
 * commands that need them, so `status` and friends start fast.
 */
import { readFileSync } from 'node:fs';
import { styleText } from 'node:util';
import { Command, CommanderError, Option } from 'commander';
import type { GlobalOptions } from './context.js';
import { useColor } from './color.js';
import { CliError } from './errors.js';

/** The package's version: package.json sits two folders up from both src/cli and dist/cli. */
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function common(cmd: Command, options: { json?: boolean } = {}): Command {
  cmd
    .addOption(new Option('-w, --workspace <dir>', 'workspace folder').env('AGENT_TEAM_WORKSPACE').default('./workspace'))
    .addOption(new Option('--backend <url>', 'a redis:// URL instead of a workspace folder').env('AGENT_TEAM_BACKEND'))
    .addOption(new Option('--namespace <name>', "the team's keys in a shared Redis").env('AGENT_TEAM_NAMESPACE').default('team'))
    .option('--no-color', 'no colours (also NO_COLOR=1 or a non-terminal)')
    .option('-q, --quiet', 'less output');
  if (options.json !== false) cmd.option('--json', 'machine-readable output on stdout');
  return cmd;
}

/** The longest timer Node.js runs (2^31 - 1 ms); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * An integer flag, refused (exit 2, before anything is written) outside its
 * range: `--concurrency 0` is an error, not the default.
 */
const int =
  (name: string, range: { min?: number; max?: number } = {}) =>
  (value: string): number => {
    const n = /^[+-]?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    const { min, max } = range;
    if (!Number.isSafeInteger(n) || (min !== undefined && n < min) || (max !== undefined && n > max)) {
      const bounds = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` of at least ${min}` : max !== undefined ? ` of at most ${max}` : '';
      throw new CliError(`${name} must be an integer${bounds}, got "${value}"`);
    }
    return n;
  };

function globals(cmd: Command): GlobalOptions {
  return cmd.opts<GlobalOptions>();
}

export function buildProgram(): Command {
  const program = new Command('agent-team')
    .description('Run teams of LLM agents that share work through a workspace on disk.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  common(program.command('init').argument('[dir]', 'workspace folder to create (default: --workspace)'))
    .description('create a workspace and a sample team spec')
    .option('--spec <file>', 'where to write the sample spec', 'team.yaml')
    .action(async (dir: string | undefined, _o, cmd: Command) => {
      const { initCommand } = await import('./commands/init.js');
      await initCommand(dir, cmd.opts());
    });

  common(program.command('run').argument('<spec>', 'team spec file (JSON or YAML)'))
    .description('run a team from a spec file with live progress; results stay in the workspace')
    .addHelpText('after', '\nExit status: 0 when every task completed, 1 when the run failed, stalled or was cut short, 2 for a bad spec.')
    .action(async (spec: string, _o, cmd: Command) => {
      const { runCommand } = await import('./commands/run.js');
      process.exitCode = await runCommand(spec, globals(cmd), cmd.getOptionValueSource('workspace') !== 'default');
    });

  program
    .command('experiment')
    .argument('<matrix>', 'experiment matrix file (YAML or JSON): a spec, cases, axes, scorers')
    .description('run a team spec across a matrix of models, seeds and settings, score every case, compare the cells (docs/experiments.md)')
    .addOption(new Option('-w, --workspace <dir>', "the experiment's folder (default: the matrix's workspace, else experiments/<name> beside it)"))
    .option('--replay', 'answer every model call from the recordings: no key, no network')
    .option('--cell <id>', 'run (again) only this cell')
    .option('--dry-run', 'print the cells, the model calls expected and an estimated cost; run nothing')
    .option('--concurrency <n>', 'cases at once in this process', int('--concurrency'))
    .addOption(new Option('--backend <url>', "a redis:// URL for the experiment's queue, shared by runners on other machines").env('AGENT_TEAM_BACKEND'))
    .option('--namespace <name>', "the experiment's keys in a shared Redis (default experiment-<name>)")
    .option('--json', 'the summary as one JSON object on the last line of stdout')
    .option('--no-color', 'no colours (also NO_COLOR=1 or a non-terminal)')
    .option('-q, --quiet', 'no line per case')
    .addHelpText('after', '\nExit status: 0 when every case ran, 1 when the run stopped early (budget, interrupt) or a replay differs from its recording, 2 for a bad matrix.')
    .action(async (file: string, _o, cmd: Command) => {
      const { experimentCommand } = await import('./commands/experiment.js');
      process.exitCode = await experimentCommand(file, cmd.opts());
    });

  common(program.command('worker'))
    .description('join a workspace as one agent, from this process; exits when no work is left for it')
    .requiredOption('--id <id>', 'agent id')
    .option('--role <role>', 'lead, worker, reviewer or specialist (a command agent: worker by default)')
    .option('--specialty <name>', "a specialist's specialty (security, performance, docs, ...)")
    .option('--model <spec>', 'offline, offline:<seed>, anthropic:<model>, openai:<model>', 'offline')
    .option('--concurrency <n>', 'tasks at once', int('--concurrency', { min: 1, max: 256 }))
    .option('--lease-ms <ms>', 'lease of each claim', int('--lease-ms', { min: 10, max: MAX_TIMER_MS }))
    .option('--take-plain-tasks', 'a specialist also takes tasks that require nothing')
    .option('--max-tokens <n>', 'output tokens per model call', int('--max-tokens', { min: 1 }))
    .option('--latency <ms>', 'simulated latency of the offline model: ms, or min-max (demos, chaos tests)')
    .option('--follow', 'keep waiting for new work instead of exiting when idle')
    // Command agents: an outside program does each task (docs/command-agents.md).
    .option('--command <cmd>', 'run this program for each task (prompt on stdin, result on stdout), instead of a model')
    .option('--preset <name>', 'run a known coding agent: claude-code, codex, aider or gemini')
    .option('--args <args>', 'extra arguments for the command or preset, as one command line')
    .option('--shell', 'run --command through /bin/sh -c')
    .option('--cwd <dir>', 'where the command runs when the task has no worktree (default: .agents/<id>)')
    .option('--timeout <duration>', 'time limit of one attempt of the command, e.g. 90s, 10m (default 30m)')
    .option('--codebase <spec>', "join the git codebase of this spec's team (its codebase section and team id): a worktree per task, commits, the merge queue")
    .option('--access <mode>', 'with --codebase: write (default) or read')
    .option('--experiment', "run the cases of an experiment's queue (agent-team experiment --workspace <dir>: its queue/ folder)")
    .action(async (_o, cmd: Command) => {
      const { workerCommand } = await import('./commands/worker.js');
      process.exitCode = await workerCommand(cmd.opts());
    });

  common(program.command('mcp'), { json: false })
    .description('serve the team over MCP on stdio, for Claude Code, Cursor or any MCP client (docs/mcp.md)')
    .option('--lease-ms <ms>', 'lease of each claim a client takes; renewed while it holds the claim', int('--lease-ms', { min: 10, max: MAX_TIMER_MS }))
    .option('--idle <duration>', 'a client silent this long loses its claims (they expire), e.g. 30m (default 1h)')
    .action(async (_o, cmd: Command) => {
      const { mcpCommand } = await import('./commands/mcp.js');
      process.exitCode = await mcpCommand(cmd.opts());
    });

  common(program.command('status'))
    .description('tasks by state, the agents seen and their last report, and the tasks')
    .option('--status <state>', 'only tasks in this state')
    .option('--limit <n>', 'at most this many tasks', int('--limit', { min: 1 }))
    .action(async (_o, cmd: Command) => {
      const { statusCommand } = await import('./commands/status.js');
      await statusCommand(cmd.opts());
    });

  const tasks = program.command('tasks').description('add, list, show, cancel and retry tasks');
  common(tasks.command('add').argument('<description>', 'what to do'))
    .description('add a task and print its id')
    .option('--id <id>', 'your own id (default: generated)')
    .option('--deps <ids>', 'comma-separated ids of tasks that must complete first')
    .option('--requires <name>', 'a role or specialty the claimer must have')
    .option('--type <type>', 'task, plan, review, synthesize, ... (default task)')
    .option('--priority <n>', 'higher runs first', int('--priority', { min: -999999, max: 999999 }))
    .option('--max-attempts <n>', 'attempts before it fails for good', int('--max-attempts', { min: 1, max: 1000 }))
    .option('--review', 'hold the result for a reviewer')
    .option('--key <key>', 'idempotency key: adding the same key again yields the same task')
    .option('--metadata <json>', 'a JSON object carried with the task')
    .action(async (description: string, _o, cmd: Command) => {
      const { taskAddCommand } = await import('./commands/tasks.js');
      await taskAddCommand(description, cmd.opts());
    });
  common(tasks.command('list'))
    .description('list tasks')
    .option('--status <states>', 'comma-separated states')
    .option('--type <type>', 'only this type')
    .option('--owner <agent>', 'only tasks held or finished by this agent')
    .option('--limit <n>', 'at most this many', int('--limit', { min: 1 }))
    .action(async (_o, cmd: Command) => {
      const { taskListCommand } = await import('./commands/tasks.js');
      await taskListCommand(cmd.opts());
    });
  common(tasks.command('show').argument('<id>', 'task id'))
    .description('a task with its result, errors, feedback and history')
    .action(async (id: string, _o, cmd: Command) => {
      const { taskShowCommand } = await import('./commands/tasks.js');
      await taskShowCommand(id, cmd.opts());
    });
  common(tasks.command('cancel').argument('<id>', 'task id'))
    .description('cancel a task that is not finished (its dependents follow their policy)')
    .option('--reason <text>', 'why')
    .action(async (id: string, _o, cmd: Command) => {
      const { taskCancelCommand } = await import('./commands/tasks.js');
      await taskCancelCommand(id, cmd.opts());
    });
  common(tasks.command('retry').argument('<id>', 'task id'))
    .description('put a failed, blocked or cancelled task back in line with fresh attempts')
    .action(async (id: string, _o, cmd: Command) => {
      const { taskRetryCommand } = await import('./commands/tasks.js');
      await taskRetryCommand(id, cmd.opts());
    });

  common(program.command('send').argument('<text>', 'the message'))
    .description("send a message to an agent, or to everyone with --to '*'")
    .requiredOption('--to <agent>', "recipient agent id, or '*' for every agent")
    .option('--from <id>', 'sender id', 'cli')
    .option('--kind <kind>', 'message kind', 'text')
    .option('--task <id>', 'the task it is about')
    .option('--json-body', 'parse <text> as JSON')
    .action(async (text: string, _o, cmd: Command) => {
      const { sendCommand } = await import('./commands/messages.js');
      await sendCommand(text, cmd.opts());
    });

  common(program.command('inbox').argument('<agent>', 'agent id'))
    .description("an agent's unread messages (left unread unless --ack)")
    .option('--all', 'read messages too')
    .option('--ack', 'mark the shown messages read')
    .option('--limit <n>', 'at most this many', int('--limit', { min: 1 }))
    .action(async (agent: string, _o, cmd: Command) => {
      const { inboxCommand } = await import('./commands/messages.js');
      await inboxCommand(agent, cmd.opts());
    });

  common(program.command('events'))
    .description('the event log, merged across processes in time order')
    .option('-f, --follow', 'keep printing new events')
    .option('--since <when>', 'only newer events: -10m, -2h, an ISO date or epoch ms')
    .option('--type <types>', 'comma-separated event types')
    .option('--task <id>', 'only this task')
    .option('--agent <id>', 'only this agent')
    .option('--limit <n>', 'only the last n', int('--limit', { min: 1 }))
    .action(async (_o, cmd: Command) => {
      const { eventsCommand } = await import('./commands/events.js');
      await eventsCommand(cmd.opts());
    });

  common(program.command('watch'), { json: false })
    .description('a live dashboard: agents and what each is doing, tasks by state, recent events, tokens and cost')
    .option('--once', 'print one frame and exit')
    .option('--interval <ms>', 'refresh interval', int('--interval', { min: 10, max: MAX_TIMER_MS }), 500)
    .action(async (_o, cmd: Command) => {
      const { watchCommand } = await import('./commands/watch.js');
      await watchCommand(cmd.opts());
    });

  common(program.command('serve'))
    .description('a live web dashboard of the team: task graph, timeline, usage, agents and events, updated as events arrive (read-only)')
    .option('--port <n>', 'port to listen on (0: any free port)', int('--port', { min: 0, max: 65535 }), 7070)
    .option('--host <address>', 'address to listen on; anything but loopback must be asked for here, and is warned about', '127.0.0.1')
    .option('--allowed-host <name>', 'with --host: a host name browsers reach the dashboard by, besides IP addresses and this machine\'s name (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .addHelpText(
      'after',
      [
        '',
        'Endpoints (GET and HEAD only; anything else is 405):',
        '  /             the dashboard',
        '  /api/status   what status --json prints',
        "  /api/report   the page's data (export --format json, plus attempts, budget, diffs)",
        '  /api/events   the event log as Server-Sent Events; resumes after Last-Event-ID,',
        '                or from ?since=<epoch ms|ISO date|event id>; ?type=a,b ?task=ID ?agent=ID',
        '',
        '--json prints {"url", "host", "port", "location"} once listening.',
        'Exit status: 0 after Ctrl-C or SIGTERM, 1 when the port is in use, 2 for a bad --port or --host.',
        'See docs/dashboard.md.',
      ].join('\n'),
    )
    .action(async (_o, cmd: Command) => {
      const { serveCommand } = await import('./commands/serve.js');
      process.exitCode = await serveCommand(cmd.opts(), cmd.getOptionValueSource('host') === 'cli');
    });

  common(program.command('diff'))
    .description("the change a coding task made (its commit against where its branch started), merged or not")
    .argument('<task>', 'the task id')
    .option('--stat', 'only the diff stat')
    .action(async (task: string, _o, cmd: Command) => {
      const { diffCommand } = await import('./commands/diff.js');
      await diffCommand(task, cmd.opts());
    });

  common(program.command('recover'))
    .description('take over expired leases, repair interrupted transitions, sweep temp files, report quarantined files')
    .option('--codebase <spec>', "also tidy the worktrees of this spec's git codebase: remove those of finished tasks and broken ones, prune git's records")
    .action(async (_o, cmd: Command) => {
      const { recoverCommand } = await import('./commands/recover.js');
      await recoverCommand(cmd.opts());
    });

  common(program.command('export'), { json: false })
    .description("a report of the run's tasks, results, reviews, usage and cost")
    .option('--format <format>', 'md, json or html (one self-contained file: task graph, timeline, usage)', 'md')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (_o, cmd: Command) => {
      const { exportCommand } = await import('./commands/export.js');
      await exportCommand(cmd.opts());
    });

  return program;
}

/** Bad input (exit 2) as opposed to a failure while running (exit 1). Loaded on the error path only, to keep start-up light. */
async function isInputError(err: unknown): Promise<boolean> {
  const { TaskNotFoundError, TaskStateError, ValidationError } = await import('@agent-team/core');
  const { ModelConfigError } = await import('../models/errors.js');
  return (
    err instanceof ValidationError ||
    err instanceof TaskNotFoundError ||
    err instanceof TaskStateError ||
    err instanceof ModelConfigError ||
    (err instanceof Error && err.name === 'WorkspaceError')
  );
}

/**
 * A reader that went away (`agent-team status | head -1`) is not an error: the
 * command stops quietly, as Unix tools do on SIGPIPE, with no stack trace.
 * Node ignores SIGPIPE and reports EPIPE as an 'error' event on the stream
 * instead, which would otherwise be an uncaught exception in every command.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
}

export async function main(argv: string[] = process.argv): Promise<number> {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  const program = buildProgram();
  const red = (s: string) => (useColor(process.stderr) ? styleText('red', s, { validateStream: false }) : s);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; anything else is bad usage (commander printed why).
      return err.exitCode === 0 ? 0 : 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof CliError) {
      process.stderr.write(`${red('error:')} ${message}\n`);
      return err.exitCode;
    }
    if (await isInputError(err)) {
      process.stderr.write(`${red('error:')} ${message}\n`);
      return 2;
    }
    process.stderr.write(`${red('error:')} ${message}\n`);
    if (process.env.AGENT_TEAM_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    else if (!(err instanceof (await import('@agent-team/core')).AgentTeamError)) process.stderr.write('(set AGENT_TEAM_DEBUG=1 for the stack trace)\n');
    return 1;
  }
}

process.exitCode = await main();

/**
 * Presets: the documented non-interactive invocation of well-known coding
 * agents, and how each reports its answer and its token use. See
 * docs/command-agents.md for the documentation (and versions) they follow.
 */

/** Tokens (and cost, where the tool says) of one model a tool used. */
export interface ToolUsage {
  /** The model as the tool names it, or the tool's name when it does not say. */
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** What the tool says it cost; null when it does not report cost. */
  costUsd: number | null;
}

/** What a preset reads from a finished run. */
export interface PresetOutcome {
  /** The answer: the task's result. */
  result: unknown;
  /** The tool reported a failure although it exited 0. */
  error?: string;
  usage: ToolUsage[];
}

export interface CommandPreset {
  readonly name: PresetName;
  /** The tool, for messages. */
  readonly tool: string;
  /** Program and arguments. `{promptFile}` stands for a file holding the prompt. */
  readonly argv: readonly string[];
  /** Turns one line of output into a progress line; null when it is not worth showing. */
  describe(line: string, stream: 'stdout' | 'stderr'): string | null;
  /** Reads the answer and the usage out of what the tool printed. */
  parse(stdout: string, stderr: string): PresetOutcome;
}

export const PRESET_NAMES = ['claude-code', 'codex', 'aider', 'gemini'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export function isPresetName(value: unknown): value is PresetName {
  return typeof value === 'string' && (PRESET_NAMES as readonly string[]).includes(value);
}

type Json = Record<string, unknown>;

function jsonLines(text: string): Json[] {
  const out: Json[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(t);
      if (value && typeof value === 'object' && !Array.isArray(value)) out.push(value as Json);
    } catch {
      // a line that is not JSON: the tool's own chatter
    }
  }
  return out;
}

function parseLine(line: string): Json | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(t);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : null;
  } catch {
    return null;
  }
}

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const obj = (value: unknown): Json => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {});
const oneLine = (text: string, max = 200): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** A tool call as a short line: its name and the argument that says most (a path, a command). */
function describeTool(name: string, input: Json): string {
  const key = ['file_path', 'path', 'command', 'pattern', 'url', 'query'].find((k) => typeof input[k] === 'string');
  return `${name}${key ? ` ${oneLine(str(input[key]), 120)}` : ''}`;
}

/**
 * Claude Code: `claude -p` reads the prompt from standard input; with
 * `--output-format stream-json` (which needs `--verbose` in print mode) it
 * prints one JSON event per line and ends with a `result` event carrying the
 * answer, `is_error`, `total_cost_usd`, `usage` and a per-model `modelUsage`.
 * `--permission-mode acceptEdits` lets it edit files without asking (other
 * tools, such as Bash, still need `--allowedTools`).
 */
const claudeCode: CommandPreset = {
  name: 'claude-code',
  tool: 'Claude Code',
  argv: ['claude', '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits'],
  describe(line, stream) {
    if (stream === 'stderr') return oneLine(line);
    const event = parseLine(line);
    if (!event) return oneLine(line);
    if (event.type === 'assistant') {
      const parts: string[] = [];
      const content = obj(event.message).content;
      for (const block of Array.isArray(content) ? content : []) {
        const b = obj(block);
        if (b.type === 'text' && str(b.text).trim()) parts.push(oneLine(str(b.text)));
        if (b.type === 'tool_use') parts.push(describeTool(str(b.name), obj(b.input)));
      }
      return parts.length ? parts.join(' · ') : null;
    }
    if (event.type === 'result') return `result: ${str(event.subtype) || 'done'}${typeof event.num_turns === 'number' ? ` after ${event.num_turns} turns` : ''}`;
    return null;
  },
  parse(stdout) {
    const events = jsonLines(stdout);
    const result = [...events].reverse().find((e) => e.type === 'result');
    if (!result) return { result: stdout.trim(), error: 'Claude Code printed no result event', usage: [] };
    const usage: ToolUsage[] = [];
    const byModel = obj(result.modelUsage);
    for (const [model, raw] of Object.entries(byModel)) {
      const m = obj(raw);
      usage.push({
        model,
        inputTokens: num(m.inputTokens) + num(m.cacheReadInputTokens) + num(m.cacheCreationInputTokens),
        outputTokens: num(m.outputTokens),
        costUsd: typeof m.costUSD === 'number' ? m.costUSD : null,
      });
    }
    if (usage.length === 0) {
      const u = obj(result.usage);
      const init = events.find((e) => e.type === 'system' && e.subtype === 'init');
      usage.push({
        model: str(init?.model) || 'claude-code',
        inputTokens: num(u.input_tokens) + num(u.cache_read_input_tokens) + num(u.cache_creation_input_tokens),
        outputTokens: num(u.output_tokens),
        costUsd: typeof result.total_cost_usd === 'number' ? result.total_cost_usd : null,
      });
    }
    const text = str(result.result);
    if (result.is_error === true || (typeof result.subtype === 'string' && result.subtype !== 'success')) {
      return { result: text, error: `Claude Code reported ${str(result.subtype) || 'an error'}${text ? `: ${text}` : ''}`, usage };
    }
    return { result: text, usage };
  },
};

/**
 * Codex CLI: `codex exec` reads the prompt from standard input when it is
 * `-`; `--json` prints JSONL events (`item.completed` with `agent_message`
 * items, `turn.completed` with `usage`, `turn.failed`); `--full-auto` lets
 * it edit the workspace; `--skip-git-repo-check` lets it run outside a
 * repository (an agent's own folder). Codex does not report cost.
 */
const codex: CommandPreset = {
  name: 'codex',
  tool: 'Codex CLI',
  argv: ['codex', 'exec', '--json', '--full-auto', '--skip-git-repo-check', '-'],
  describe(line, stream) {
    if (stream === 'stderr') return oneLine(line);
    const event = parseLine(line);
    if (!event) return oneLine(line);
    if (event.type !== 'item.completed' && event.type !== 'item.started') return event.type === 'turn.failed' ? `turn failed: ${oneLine(str(obj(event.error).message))}` : null;
    const item = obj(event.item);
    switch (item.type) {
      case 'agent_message':
      case 'reasoning':
        return event.type === 'item.completed' ? oneLine(str(item.text)) : null;
      case 'command_execution':
        return event.type === 'item.started' ? `$ ${oneLine(str(item.command), 160)}` : null;
      case 'file_change': {
        const changes = Array.isArray(item.changes) ? item.changes.map((c) => `${str(obj(c).kind)} ${str(obj(c).path)}`.trim()) : [];
        return event.type === 'item.completed' ? `files: ${oneLine(changes.join(', ') || 'changed', 160)}` : null;
      }
      case 'mcp_tool_call':
        return event.type === 'item.started' ? `tool ${str(item.server)}.${str(item.tool)}` : null;
      default:
        return null;
    }
  },
  parse(stdout) {
    const events = jsonLines(stdout);
    let inputTokens = 0;
    let outputTokens = 0;
    let turns = 0;
    let answer = '';
    let error: string | undefined;
    for (const e of events) {
      if (e.type === 'turn.completed') {
        const u = obj(e.usage);
        inputTokens += num(u.input_tokens);
        outputTokens += num(u.output_tokens);
        turns += 1;
      } else if (e.type === 'item.completed' && obj(e.item).type === 'agent_message') {
        answer = str(obj(e.item).text);
      } else if (e.type === 'turn.failed' || e.type === 'error') {
        error = `Codex reported: ${str(obj(e.error).message) || str(e.message) || 'a failed turn'}`;
      }
    }
    const usage = turns > 0 ? [{ model: 'codex', inputTokens, outputTokens, costUsd: null }] : [];
    return { result: answer || stdout.trim(), ...(error ? { error } : {}), usage };
  },
};

/** aider prints token counts as `950`, `2.3k` or `12k`. */
function aiderTokens(text: string | undefined): number {
  if (!text) return 0;
  const m = /^([\d.,]+)(k?)$/.exec(text.trim());
  if (!m) return 0;
  const n = Number((m[1] as string).replace(/,/g, ''));
  return Math.round(m[2] ? n * 1000 : n);
}

const AIDER_TOKENS = /Tokens: ([\d.,]+k?) sent(?:, ([\d.,]+k?) cache write)?(?:, ([\d.,]+k?) cache hit)?, ([\d.,]+k?) received\.(?:\s*Cost: \$([\d.]+) message, \$([\d.]+) session\.)?/g;

/**
 * aider: `--message-file` gives the one instruction to carry out before it
 * exits (the prompt is written to a temporary file); `--yes-always` answers
 * its questions; `--no-auto-commits` leaves committing to the team (the
 * worktree is committed and merged like any agent's); the rest keeps its
 * output plain. After each exchange it prints `Tokens: 2.3k sent, 150
 * received. Cost: $0.01 message, $0.02 session.` (counts rounded as shown).
 */
const aider: CommandPreset = {
  name: 'aider',
  tool: 'aider',
  argv: [
    'aider',
    '--message-file',
    '{promptFile}',
    '--yes-always',
    '--no-auto-commits',
    '--no-pretty',
    '--no-stream',
    '--no-fancy-input',
    '--no-check-update',
    '--no-show-release-notes',
    '--analytics-disable',
  ],
  describe(line) {
    const t = line.trim();
    return t ? oneLine(t) : null;
  },
  parse(stdout, stderr) {
    const usage: ToolUsage[] = [];
    let sent = 0;
    let received = 0;
    let cost: number | null = null;
    for (const m of `${stdout}\n${stderr}`.matchAll(AIDER_TOKENS)) {
      sent += aiderTokens(m[1]) + aiderTokens(m[2]) + aiderTokens(m[3]);
      received += aiderTokens(m[4]);
      if (m[5] !== undefined) cost = (cost ?? 0) + Number(m[5]);
    }
    if (sent > 0 || received > 0) usage.push({ model: 'aider', inputTokens: sent, outputTokens: received, costUsd: cost });
    return { result: stdout.trim(), usage };
  },
};

/**
 * Gemini CLI: run without a terminal it is headless and takes the prompt from
 * standard input; `--output-format stream-json` prints JSONL events (`init`
 * with the model, `message` chunks, `tool_use`, `tool_result`, `error`, and a
 * `result` with `status` and `stats`); `--approval-mode auto_edit` lets it
 * edit files without asking. Gemini CLI does not report cost.
 */
const gemini: CommandPreset = {
  name: 'gemini',
  tool: 'Gemini CLI',
  argv: ['gemini', '--output-format', 'stream-json', '--approval-mode', 'auto_edit'],
  describe(line, stream) {
    if (stream === 'stderr') return oneLine(line);
    const event = parseLine(line);
    if (!event) return oneLine(line);
    if (event.type === 'tool_use') return describeTool(str(event.tool_name), obj(event.parameters));
    if (event.type === 'error') return `${str(event.severity) || 'error'}: ${oneLine(str(event.message))}`;
    if (event.type === 'result') return `result: ${str(event.status)}`;
    return null;
  },
  parse(stdout) {
    const events = jsonLines(stdout);
    const model = str(events.find((e) => e.type === 'init')?.model) || 'gemini';
    const answer = events
      .filter((e) => e.type === 'message' && e.role === 'assistant')
      .map((e) => str(e.content))
      .join('');
    const result = [...events].reverse().find((e) => e.type === 'result');
    const stats = obj(result?.stats);
    const usage = result ? [{ model, inputTokens: num(stats.input_tokens), outputTokens: num(stats.output_tokens), costUsd: null }] : [];
    if (!result) return { result: answer || stdout.trim(), error: 'Gemini CLI printed no result event', usage };
    if (result.status !== 'success') {
      return { result: answer, error: `Gemini CLI reported ${str(obj(result.error).message) || str(result.status) || 'an error'}`, usage };
    }
    return { result: answer, usage };
  },
};

export const PRESETS: Readonly<Record<PresetName, CommandPreset>> = { 'claude-code': claudeCode, codex, aider, gemini };

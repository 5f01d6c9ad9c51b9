import fs from 'node:fs';
import path from 'node:path';
import { EventLog, type TeamEventType } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { validateSpec } from '../../src/cli/spec.js';
import { AgentTeam, CommandAgent, PRESETS, splitCommandLine } from '../../src/index.js';
import { gone, tempDir } from '../helpers.js';

/** Writes a stand-in agent program (an ES module run by this Node). */
function script(dir: string, name: string, source: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  return file;
}

const readStdin = `let input = ''; for await (const chunk of process.stdin) input += chunk;`;

describe('command agents', () => {
  let dir: string;
  const teams: AgentTeam[] = [];
  const newTeam = (options: { maxAttempts?: number } = {}) => {
    const team = new AgentTeam({ workspace: path.join(dir, 'ws'), watch: false, retry: { baseMs: 20, maxMs: 50 }, ...options });
    teams.push(team);
    return team;
  };
  const events = <K extends TeamEventType>(types: K[]) => EventLog.read(path.join(dir, 'ws', 'events'), { types });
  afterEach(async () => {
    for (const team of teams.splice(0)) await team.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the program in its own folder with the prompt on stdin; JSON output is the result; lines are progress', async () => {
    dir = tempDir('cmd-');
    const editor = script(
      dir,
      'editor.mjs',
      `import fs from 'node:fs';
${readStdin}
fs.appendFileSync('notes.md', 'edited for ' + process.env.AGENT_TEAM_TASK_ID + '\\n');
console.error('editing notes.md');
console.log(JSON.stringify({ task: process.env.AGENT_TEAM_TASK_ID, agent: process.env.AGENT_TEAM_AGENT_ID, attempt: process.env.AGENT_TEAM_ATTEMPT,
  workspace: process.env.AGENT_TEAM_WORKSPACE, cwd: process.cwd(), prompt: input }, null, 1));
`,
    );
    const team = newTeam();
    const agent = team.addAgent(new CommandAgent('scripted', 'worker', { command: [process.execPath, editor], workdir: dir }));
    await team.addTasks([
      { id: 'first', description: 'Write the first note' },
      { id: 'second', description: 'Write the second note', dependencies: ['first'] },
    ]);
    const summary = await team.run({ timeoutMs: 30_000, handleSignals: false });
    expect(summary.status).toBe('completed');
    const folder = fs.realpathSync(path.join(dir, '.agents', 'scripted'));
    expect(fs.readFileSync(path.join(folder, 'notes.md'), 'utf8')).toBe('edited for first\nedited for second\n');
    const second = summary.tasks.find((t) => t.id === 'second')?.result as Record<string, string>;
    expect(second).toMatchObject({ task: 'second', agent: 'scripted', attempt: '1', cwd: folder, workspace: path.join(dir, 'ws') });
    // The same prompt our own agents get: the task, then what its dependency produced.
    expect(second.prompt).toMatch(/^Task: second\n\nWrite the second note\n\nResults of the tasks this one depends on:\n\n### first: Write the first note\n/);
    expect(second.prompt).toContain('"task": "first"');
    expect(agent.model.id).toBe('command:node');
    const started = events(['command.started']);
    expect(started.map((e) => [e.taskId, e.cwd])).toEqual([
      ['first', folder],
      ['second', folder],
    ]);
    const lines = events(['command.output']).filter((e) => e.taskId === 'first');
    expect(lines.map((e) => [e.stream, e.line])).toContainEqual(['stderr', 'editing notes.md']);
    expect(lines.map((e) => e.line)).toContainEqual(' "task": "first",');
    expect(events(['command.finished']).map((e) => e.exitCode)).toEqual([0, 0]);
  });

  it('a non-zero exit fails the attempt with the end of standard error', async () => {
    dir = tempDir('cmd-');
    const failing = script(dir, 'fail.mjs', `${readStdin}\nconsole.error('reading config');\nconsole.error('boom: missing config file .toolrc');\nprocess.exit(1);\n`);
    const team = newTeam({ maxAttempts: 2 });
    team.addAgent(new CommandAgent('failing', 'worker', { command: `${process.execPath} ${failing}`, workdir: dir }));
    await team.addTask('Do something', { id: 'job' });
    const summary = await team.run({ timeoutMs: 30_000, handleSignals: false });
    expect(summary.status).toBe('failed');
    const record = await team.queue.get('job');
    expect(record?.status).toBe('failed');
    expect(record?.errors).toHaveLength(2);
    expect(record?.errors[0]?.message).toMatch(/exited with code 1; the end of its standard error:\nreading config\nboom: missing config file \.toolrc$/);
  });

  it('kills the whole process group at the timeout, children included', async () => {
    dir = tempDir('cmd-');
    const pids = path.join(dir, 'pids.json');
    const hanging = script(
      dir,
      'hang.mjs',
      `import { spawn } from 'node:child_process';
import fs from 'node:fs';
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
fs.writeFileSync(${JSON.stringify(pids)}, JSON.stringify([process.pid, child.pid]));
process.on('SIGTERM', () => {}); // a stubborn tool: only SIGKILL ends it
setInterval(() => {}, 1000);
`,
    );
    const team = newTeam({ maxAttempts: 1 });
    team.addAgent(new CommandAgent('stuck', 'worker', { command: [process.execPath, hanging], timeoutMs: 1500, killGraceMs: 300, workdir: dir }));
    await team.addTask('Never finishes', { id: 'slow' });
    const summary = await team.run({ timeoutMs: 30_000, handleSignals: false });
    const record = await team.queue.get('slow');
    expect(summary.status).toBe('failed');
    expect(record?.errors[0]?.message).toMatch(/timed out after 1500 ms; its process group was killed/);
    const [toolPid, childPid] = JSON.parse(fs.readFileSync(pids, 'utf8')) as [number, number];
    expect(await gone(toolPid)).toBe(true);
    expect(await gone(childPid)).toBe(true);
    expect(events(['command.finished'])[0]).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
  });

  it('the end of a run sends SIGTERM to the command and hands the task back', async () => {
    dir = tempDir('cmd-');
    const marker = path.join(dir, 'terminated');
    const polite = script(
      dir,
      'polite.mjs',
      `import fs from 'node:fs';
process.on('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(marker)}, 'cleaned up'); process.exit(143); });
console.error('working');
setInterval(() => {}, 1000);
`,
    );
    const team = newTeam();
    team.addAgent(new CommandAgent('polite', 'worker', { command: [process.execPath, polite], workdir: dir }));
    await team.addTask('Long work', { id: 'long' });
    const summary = await team.run({ timeoutMs: 1500, handleSignals: false });
    expect(summary.status).toBe('timeout');
    expect(summary.released).toEqual([{ taskId: 'long', agentId: 'polite' }]);
    expect(fs.readFileSync(marker, 'utf8')).toBe('cleaned up');
    const record = await team.queue.get('long');
    expect(record).toMatchObject({ status: 'ready', attempt: 1, errors: [] });
  });

  it('the claude-code preset reads Claude Code stream-json: answer, progress, and cost into the usage records', async () => {
    dir = tempDir('cmd-');
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    // A stand-in `claude` on PATH that speaks Claude Code's print-mode stream-json.
    const fake = `#!${process.execPath}
${readStdin}
const args = process.argv.slice(2);
const out = (e) => console.log(JSON.stringify(e));
out({ type: 'system', subtype: 'init', model: 'claude-sonnet-4-6', args });
out({ type: 'assistant', message: { content: [{ type: 'text', text: 'Editing the file.' }, { type: 'tool_use', name: 'Edit', input: { file_path: 'src/a.ts' } }] } });
out({ type: 'result', subtype: 'success', is_error: false, num_turns: 3, result: 'Fixed it: ' + input.split('\\n')[0],
  total_cost_usd: 0.0421, usage: { input_tokens: 12, cache_read_input_tokens: 3000, output_tokens: 250 },
  modelUsage: { 'claude-sonnet-4-6': { inputTokens: 12, cacheReadInputTokens: 3000, cacheCreationInputTokens: 100, outputTokens: 250, costUSD: 0.0421 } } });
`;
    fs.writeFileSync(path.join(bin, 'claude'), fake, { mode: 0o755 });
    const team = newTeam();
    team.addAgent(
      new CommandAgent('claude-1', 'worker', {
        preset: 'claude-code',
        args: ['--model', 'sonnet'],
        env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
        workdir: dir,
      }),
    );
    await team.addTask('Fix the off-by-one in src/a.ts', { id: 'fix' });
    const summary = await team.run({ timeoutMs: 30_000, handleSignals: false });
    expect(summary.status).toBe('completed');
    expect(summary.tasks[0]?.result).toBe('Fixed it: Task: fix');
    expect(summary.usage.byAgent['claude-1']).toMatchObject({ calls: 1, inputTokens: 3112, outputTokens: 250, costUsd: 0.0421 });
    const call = events(['model.call'])[0];
    expect(call).toMatchObject({ agentId: 'claude-1', taskId: 'fix', model: 'claude-code:claude-sonnet-4-6', costUsd: 0.0421 });
    expect(events(['command.output']).map((e) => e.line)).toEqual(['Editing the file. · Edit src/a.ts', 'result: success after 3 turns']);
    const started = events(['command.started'])[0];
    expect(started?.command).toBe('claude -p --output-format stream-json --verbose --permission-mode acceptEdits --model sonnet');
  });

  it('keeps credentials out of the event log, the result and errors', async () => {
    dir = tempDir('cmd-');
    const secret = 'zq9-very-secret-token-value-42';
    const leaky = script(dir, 'leak.mjs', `${readStdin}\nconsole.error('using ' + process.env.TOOL_API_KEY);\nconsole.log('key was ' + process.env.TOOL_API_KEY);\n`);
    const team = newTeam();
    team.addAgent(new CommandAgent('leaky', 'worker', { command: [process.execPath, leaky], env: { TOOL_API_KEY: secret }, workdir: dir }));
    await team.addTask('Use the key', { id: 'leak' });
    const summary = await team.run({ timeoutMs: 30_000, handleSignals: false });
    expect(summary.tasks[0]?.result).toBe('key was [redacted]');
    const everything = fs.readdirSync(path.join(dir, 'ws'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'))
      .join('\n');
    expect(everything).toContain('using [redacted]');
    expect(everything).not.toContain(secret);
  });

  it('a program that is not there fails for good at once, naming it', async () => {
    dir = tempDir('cmd-');
    const team = newTeam({ maxAttempts: 3 });
    team.addAgent(new CommandAgent('ghost', 'worker', { command: 'no-such-tool-xyz --flag', workdir: dir }));
    await team.addTask('Anything', { id: 't' });
    await team.run({ timeoutMs: 30_000, handleSignals: false });
    const record = await team.queue.get('t');
    expect(record?.status).toBe('failed');
    expect(record?.errors).toHaveLength(1);
    expect(record?.errors[0]?.message).toBe('agent "ghost" cannot run "no-such-tool-xyz": no such program on PATH or at that path');
  });

  it('refuses bad configuration with a message naming it', () => {
    expect(() => new CommandAgent('a', 'worker', {})).toThrow(/needs exactly one of command or preset/);
    expect(() => new CommandAgent('a', 'worker', { command: 'x', preset: 'codex' })).toThrow(/exactly one/);
    // @ts-expect-error -- an unknown preset
    expect(() => new CommandAgent('a', 'worker', { preset: 'cursor' })).toThrow(/unknown preset "cursor": use one of claude-code, codex, aider, gemini/);
    // @ts-expect-error -- a lead needs a model
    expect(() => new CommandAgent('a', 'lead', { command: 'x' })).toThrow(/worker or a specialist/);
    expect(() => new CommandAgent('a', 'worker', { command: 'tool | tee log' })).toThrow(/shell operator "\|"/);
    expect(() => new CommandAgent('a', 'worker', { command: 'tool', env: { KEY: '${SURELY_UNSET_VAR_123}' } })).toThrow(
      /env of agent "a"\.KEY uses \$\{SURELY_UNSET_VAR_123\}, which is not set/,
    );
    expect(new CommandAgent('a', 'worker', { command: 'tool', env: { KEY: '${SURELY_UNSET_VAR_123:-fallback}' } }).argv).toEqual(['tool']);
  });
});

describe('splitCommandLine', () => {
  it('splits like a shell without running one', () => {
    expect(splitCommandLine(`claude -p --output-format json`)).toEqual(['claude', '-p', '--output-format', 'json']);
    expect(splitCommandLine(`tool --msg "two words" 'single $quoted' esc\\ aped "a\\"b"`)).toEqual(['tool', '--msg', 'two words', 'single $quoted', 'esc aped', 'a"b']);
    expect(splitCommandLine(`tool --allowedTools "Bash(git *)"`)).toEqual(['tool', '--allowedTools', 'Bash(git *)']);
    expect(splitCommandLine(`tool --opt=value`)).toEqual(['tool', '--opt=value']);
  });
  it('refuses what only a shell does, saying what to do', () => {
    expect(() => splitCommandLine('a && b')).toThrow(/shell operator "&".*set shell: true/);
    expect(() => splitCommandLine('a > out')).toThrow(/shell operator ">"/);
    expect(() => splitCommandLine('a $HOME')).toThrow(/shell operator "\$"/);
    expect(() => splitCommandLine('a "$HOME"')).toThrow(/expands \$ inside double quotes/);
    expect(() => splitCommandLine('a *.ts')).toThrow(/glob character "\*"/);
    expect(() => splitCommandLine('~/bin/tool')).toThrow(/"~"/);
    expect(() => splitCommandLine('FOO=1 tool')).toThrow(/sets the variable FOO.*env:/);
    expect(() => splitCommandLine('a "open')).toThrow(/unterminated double quote/);
    expect(() => splitCommandLine('   ')).toThrow(/empty/);
  });
});

describe('presets read each tool', () => {
  it('codex: the last agent message, tokens from turn.completed, failures', () => {
    const out = [
      '{"type":"thread.started","thread_id":"t1"}',
      '{"type":"item.started","item":{"id":"i1","type":"command_execution","command":"bash -lc ls","status":"in_progress"}}',
      '{"type":"item.completed","item":{"id":"i2","type":"agent_message","text":"Done: renamed foo to bar."}}',
      '{"type":"turn.completed","usage":{"input_tokens":24763,"cached_input_tokens":24448,"output_tokens":122}}',
    ].join('\n');
    expect(PRESETS.codex.parse(out, '')).toEqual({ result: 'Done: renamed foo to bar.', usage: [{ model: 'codex', inputTokens: 24763, outputTokens: 122, costUsd: null }] });
    expect(PRESETS.codex.describe(out.split('\n')[1] as string, 'stdout')).toBe('$ bash -lc ls');
    expect(PRESETS.codex.parse('{"type":"turn.failed","error":{"message":"rate limited"}}', '').error).toBe('Codex reported: rate limited');
    expect(PRESETS.codex.argv).toEqual(['codex', 'exec', '--json', '--full-auto', '--skip-git-repo-check', '-']);
  });
  it('gemini: assistant chunks joined, stats from the result event', () => {
    const out = [
      '{"type":"init","session_id":"s","model":"gemini-2.5-pro"}',
      '{"type":"message","role":"user","content":"hi"}',
      '{"type":"message","role":"assistant","content":"All ","delta":true}',
      '{"type":"tool_use","tool_name":"replace","tool_id":"1","parameters":{"file_path":"a.ts"}}',
      '{"type":"message","role":"assistant","content":"done.","delta":true}',
      '{"type":"result","status":"success","stats":{"total_tokens":120,"input_tokens":100,"output_tokens":20,"cached":0,"input":100,"duration_ms":5,"tool_calls":1}}',
    ].join('\n');
    expect(PRESETS.gemini.parse(out, '')).toEqual({ result: 'All done.', usage: [{ model: 'gemini-2.5-pro', inputTokens: 100, outputTokens: 20, costUsd: null }] });
    expect(PRESETS.gemini.describe(out.split('\n')[3] as string, 'stdout')).toBe('replace a.ts');
    expect(PRESETS.gemini.parse('{"type":"result","status":"error","error":{"type":"x","message":"quota exceeded"}}', '').error).toBe('Gemini CLI reported quota exceeded');
  });
  it('aider: the token and cost report lines, summed over exchanges', () => {
    const out = 'Applied edit to a.py\nTokens: 2.3k sent, 150 received. Cost: $0.01 message, $0.01 session.\nTokens: 12k sent, 1.1k cache write, 950 cache hit, 1,200 received. Cost: $0.0042 message, $0.0142 session.\n';
    expect(PRESETS.aider.parse(out, '').usage).toEqual([{ model: 'aider', inputTokens: 2300 + 12000 + 1100 + 950, outputTokens: 1350, costUsd: 0.0142 }]);
    expect(PRESETS.aider.argv.slice(0, 3)).toEqual(['aider', '--message-file', '{promptFile}']);
  });
  it('claude-code: an error result fails the attempt', () => {
    const out = '{"type":"result","subtype":"error_max_turns","is_error":true,"result":"","total_cost_usd":0.5,"usage":{"input_tokens":10,"output_tokens":5}}';
    const parsed = PRESETS['claude-code'].parse(out, '');
    expect(parsed.error).toBe('Claude Code reported error_max_turns');
    expect(parsed.usage).toEqual([{ model: 'claude-code', inputTokens: 10, outputTokens: 5, costUsd: 0.5 }]);
  });
});

describe('command agents in spec files', () => {
  const base = { tasks: [{ description: 'x' }] };
  it('takes command or preset instead of a model, and says what is wrong otherwise', () => {
    expect(() => validateSpec({ ...base, agents: [{ id: 'c', role: 'worker', command: 'claude -p', timeout: '10m' }] })).not.toThrow();
    expect(() => validateSpec({ ...base, agents: [{ id: 'c', role: 'worker', preset: 'aider', args: ['--model', 'sonnet'] }] })).not.toThrow();
    const problems = (agents: unknown[]) => {
      try {
        validateSpec({ ...base, agents });
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    };
    expect(problems([{ id: 'c', role: 'worker' }])).toEqual(['agents[0].model: give a model (e.g. offline, anthropic:claude-sonnet-4-6), or a command or preset for a command agent']);
    expect(problems([{ id: 'c', role: 'worker', model: 'offline', command: 'x' }])).toEqual(['agents[0].model: a command agent runs its program and has no model; remove model']);
    expect(problems([{ id: 'c', role: 'lead', preset: 'codex' }])).toEqual(['agents[0].role: a command agent is a worker or a specialist (got lead)']);
    expect(problems([{ id: 'c', role: 'worker', model: 'offline', timeout: '5m' }])).toEqual(['agents[0].timeout: only command agents (with command or preset) take timeout']);
    expect(problems([{ id: 'c', role: 'worker', command: 'a | b' }])[0]).toMatch(/agents\[0\]\.command "a \| b" uses the shell operator "\|"/);
    expect(problems([{ id: 'c', role: 'worker', preset: 'cursor' }])[0]).toMatch(/agents\[0\]\.preset/);
  });
});

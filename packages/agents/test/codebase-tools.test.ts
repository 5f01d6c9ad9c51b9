// The coding tools a model calls: edit_file (exact replacement), stale-write
// refusal for write_file and edit_file, and run_command (allow-list, no shell,
// a stripped environment, a timeout that kills the whole process group, output
// cut in the middle).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Codebase, codebaseTools, defaultCommandRules, fromFunction, runTools, type ExecutableTool } from '../src/index.js';
import { alive, gone, tempDir } from './helpers.js';

let root: string;
beforeEach(() => {
  root = tempDir('tools-');
  fs.writeFileSync(path.join(root, 'math.js'), 'export function add(a, b) {\n  return a - b;\n}\n\nexport const ONE = 1;\nexport const TWO = 1;\n');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const ctx = { signal: undefined, toolCallId: 't1', messages: [] };
function tool(tools: ExecutableTool[], name: string): ExecutableTool {
  const found = tools.find((t) => t.name === name);
  if (!found) throw new Error(`no tool ${name}`);
  return found;
}

describe('edit_file', () => {
  it('replaces text that occurs once, and shows the lines around it', async () => {
    const tools = codebaseTools(new Codebase(root, { allowWrite: true }));
    await tool(tools, 'read_file').execute({ path: 'math.js' }, ctx);
    const out = await tool(tools, 'edit_file').execute({ path: 'math.js', old_string: 'return a - b;', new_string: 'return a + b;' }, ctx);
    expect(out).toMatch(/^edited math\.js: 1 replacement at line 2\n1: export function add\(a, b\) \{\n2: {3}return a \+ b;/);
    expect(fs.readFileSync(path.join(root, 'math.js'), 'utf8')).toContain('return a + b;');
  });

  it('says how many times and where when the text is missing or ambiguous; replace_all changes every one', async () => {
    const codebase = new Codebase(root, { allowWrite: true });
    const tools = codebaseTools(codebase);
    await tool(tools, 'read_file').execute({ path: 'math.js' }, ctx);
    const edit = tool(tools, 'edit_file');
    await expect(edit.execute({ path: 'math.js', old_string: 'return a * b;', new_string: 'x' }, ctx)).rejects.toThrow(
      /old_string was not found in "math\.js" \(7 lines\): it must match the file exactly/,
    );
    await expect(edit.execute({ path: 'math.js', old_string: '= 1;', new_string: '= 2;' }, ctx)).rejects.toThrow(
      /old_string occurs 2 times in "math\.js" \(at lines 5, 6\): include more of the surrounding lines/,
    );
    expect(fs.readFileSync(path.join(root, 'math.js'), 'utf8')).toContain('ONE = 1;\nexport const TWO = 1;');
    const out = await edit.execute({ path: 'math.js', old_string: '= 1;', new_string: '= 2;', replace_all: true }, ctx);
    expect(out).toMatch(/^edited math\.js: 2 replacements at lines 5, 6/);
    // Its own edit does not make the file stale for it: a second edit goes through.
    await edit.execute({ path: 'math.js', old_string: 'TWO = 2', new_string: 'TWO = 2 /* fixed */' }, ctx);
    expect(fs.readFileSync(path.join(root, 'math.js'), 'utf8')).toContain('ONE = 2;\nexport const TWO = 2 /* fixed */;');
  });

  it('through the tool loop: a failed edit is a result the model reads and acts on', async () => {
    const codebase = new Codebase(root, { allowWrite: true });
    const script = [
      { name: 'read_file', arguments: { path: 'math.js' } },
      { name: 'edit_file', arguments: { path: 'math.js', old_string: 'return a-b;', new_string: 'return a + b;' } },
      { name: 'edit_file', arguments: { path: 'math.js', old_string: 'return a - b;', new_string: 'return a + b;' } },
    ];
    const results: string[] = [];
    const model = fromFunction((_p, request) => {
      const last = request.messages.at(-1);
      if (last?.role === 'tool') results.push(last.content);
      const next = script.shift();
      return next ? { text: '', toolCalls: [next] } : 'fixed add()';
    });
    const { response } = await runTools(model, { messages: [{ role: 'user', content: 'fix add' }] }, codebaseTools(codebase));
    expect(response.text).toBe('fixed add()');
    expect(results[1]).toMatch(/^error: edit_file failed: old_string was not found/);
    expect(results[2]).toMatch(/^edited math\.js/);
  });
});

describe('stale writes', () => {
  it('write_file and edit_file refuse a file changed since it was read, or never read; after reading again they go through', async () => {
    const tools = codebaseTools(new Codebase(root, { allowWrite: true, owner: 'w1' }));
    const [read, write, edit] = [tool(tools, 'read_file'), tool(tools, 'write_file'), tool(tools, 'edit_file')];
    await expect(write.execute({ path: 'math.js', content: 'blind\n' }, ctx)).rejects.toThrow(/it exists and you have not read it; read it first/);
    await expect(edit.execute({ path: 'math.js', old_string: 'a - b', new_string: 'a + b' }, ctx)).rejects.toThrow(/you have not read it/);
    await read.execute({ path: 'math.js' }, ctx);
    // Another agent, a command or a merge changes it meanwhile.
    fs.writeFileSync(path.join(root, 'math.js'), 'export function add(a, b) {\n  return b - a;\n}\n');
    await expect(write.execute({ path: 'math.js', content: 'mine\n' }, ctx)).rejects.toThrow(/changed since you last read it/);
    await expect(edit.execute({ path: 'math.js', old_string: 'b - a', new_string: 'a + b' }, ctx)).rejects.toThrow(/changed since you last read it/);
    expect(fs.readFileSync(path.join(root, 'math.js'), 'utf8')).toContain('return b - a;');
    await read.execute({ path: 'math.js' }, ctx);
    await edit.execute({ path: 'math.js', old_string: 'b - a', new_string: 'a + b' }, ctx);
    expect(fs.readFileSync(path.join(root, 'math.js'), 'utf8')).toContain('return a + b;');
    // A new file needs no read.
    await expect(write.execute({ path: 'new.js', content: 'export {};\n' }, ctx)).resolves.toMatch(/new file/);
    // The plain API writes as before unless asked to check.
    await new Codebase(root, { allowWrite: true }).write('math.js', 'direct\n');
    expect(fs.readFileSync(path.join(root, 'math.js'), 'utf8')).toBe('direct\n');
  });
});

describe('run_command', () => {
  function runner(commands = ['node *', { shell: 'echo abc | tr a x' }] as Parameters<typeof codebaseTools>[1] extends infer O ? O extends { commands?: infer C } ? C : never : never, env?: Record<string, string>) {
    return tool(codebaseTools(new Codebase(root), { commands, ...(env ? { env } : {}) }), 'run_command');
  }

  it('runs an allowed command without a shell and returns its exit code, time and output', async () => {
    fs.writeFileSync(path.join(root, 't.js'), 'console.log("ok 1"); console.error("warn"); process.exit(3);\n');
    const out = String(await runner().execute({ command: 'node t.js' }, ctx));
    expect(out).toMatch(/^\$ node t\.js\nexit code 3 after \d+\.\d s\n/);
    expect(out).toContain('ok 1');
    expect(out).toContain('warn');
    // No shell: a pipe is refused with what to do, not passed on as text.
    await expect(runner().execute({ command: 'node t.js | cat' }, ctx)).rejects.toThrow(/uses the shell operator "\|": commands run without a shell here/);
    // A shell only where the allow-list asks for one.
    expect(String(await runner().execute({ command: 'echo abc | tr a x' }, ctx))).toContain('\nxbc');
  });

  it('refuses a command outside the allow-list, and git arguments that write or run', async () => {
    await expect(runner().execute({ command: 'rm -rf .' }, ctx)).rejects.toThrow(/command "rm -rf \." is not allowed here; allowed: node \*; echo abc \| tr a x \(through a shell\)/);
    await expect(runner().execute({ command: 'echo abc | tr a y' }, ctx)).rejects.toThrow(/commands run without a shell here/);
    const git = runner(defaultCommandRules('npm test'));
    await expect(git.execute({ command: 'git diff --output=/tmp/x' }, ctx)).rejects.toThrow(/git argument "--output=\/tmp\/x" is refused/);
    await expect(git.execute({ command: 'git push origin main' }, ctx)).rejects.toThrow(/not allowed/);
    await expect(git.execute({ command: 'npm publish' }, ctx)).rejects.toThrow(/not allowed/);
    expect(() => codebaseTools(new Codebase(root), { commands: [''] })).toThrow(/a command rule must be a command line/);
  });

  it('strips the environment: no API keys, only the minimal set and what is passed on', async () => {
    const saved = process.env.ANTHROPIC_API_KEY;
    process.env.ANTHROPIC_API_KEY = 'sk-ant-test-do-not-leak-0123456789';
    try {
      const out = String(await runner(['node *'], { PROJECT_FLAG: 'on' }).execute({ command: 'node -e "console.log(Object.keys(process.env).sort().join(\' \'))"' }, ctx));
      expect(out).not.toContain('ANTHROPIC_API_KEY');
      expect(out).not.toContain('sk-ant-test');
      expect(out).toContain('PROJECT_FLAG');
      expect(out).toContain('PATH');
    } finally {
      if (saved === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = saved;
    }
  });

  it('kills the command and its grandchildren at the timeout', async () => {
    fs.writeFileSync(
      path.join(root, 'hang.js'),
      `const { spawn } = require('node:child_process');
       const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
       require('node:fs').writeFileSync('grandchild.pid', String(child.pid));
       setInterval(() => {}, 1000);`,
    );
    fs.writeFileSync(path.join(root, 'package.json'), '{"type":"commonjs"}');
    const out = String(await runner().execute({ command: 'node hang.js', timeout_ms: 1500 }, ctx));
    expect(out).toMatch(/timed out after \d+\.\d s: the command and every process it started were killed/);
    const pid = Number(fs.readFileSync(path.join(root, 'grandchild.pid'), 'utf8'));
    expect(await gone(pid)).toBe(true);
    expect(alive(pid)).toBe(false);
    await expect(runner().execute({ command: 'node hang.js', timeout_ms: 5 }, ctx)).rejects.toThrow(/"timeout_ms" must be a whole number from 1000/);
  });

  it('keeps the start and the end of long output and says what was cut', async () => {
    const out = String(await runner().execute({ command: 'node -e "for (let i = 1; i <= 20000; i++) console.log(\'line \' + i)"' }, ctx));
    expect(out).toContain('\nline 1\n');
    expect(out).toMatch(/line 20000$/);
    expect(out).toMatch(/\[\.\.\. \d+ lines \(\d+ characters\) of output cut here; the last lines follow \.\.\.\]/);
    expect(out.length).toBeLessThan(17_500);
  });
});

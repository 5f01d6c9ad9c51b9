import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';

export function gitSync(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'user', GIT_AUTHOR_EMAIL: 'user@example.invalid', GIT_COMMITTER_NAME: 'user', GIT_COMMITTER_EMAIL: 'user@example.invalid' },
  }).trim();
}

/** A fresh repository on branch main with these files committed. */
export function makeRepo(files: Record<string, string>): { dir: string; repo: string } {
  const dir = tempDir('gitflow-');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo);
  gitSync(repo, 'init', '-q', '-b', 'main');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repo, name)), { recursive: true });
    fs.writeFileSync(path.join(repo, name), text);
  }
  gitSync(repo, 'add', '-A');
  gitSync(repo, 'commit', '-q', '-m', 'start');
  return { dir, repo };
}

/** What the user sees of their checkout: HEAD, branch, status (with untracked files), and the index. */
export function checkoutState(repo: string): string {
  return [
    gitSync(repo, 'rev-parse', 'HEAD'),
    gitSync(repo, 'symbolic-ref', '-q', 'HEAD'),
    gitSync(repo, 'status', '--porcelain', '--untracked-files=all', '--ignored'),
    gitSync(repo, 'ls-files', '-s'),
  ].join('\n--\n');
}

/** A file's content on a branch. */
export function show(repo: string, ref: string, file: string): string {
  return gitSync(repo, 'show', `${ref}:${file}`);
}

// What every test on real git starts from: a repository made and committed on
// `main`, and what its user sees of it, to compare before and after a run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/** Makes `repo` (whose files are written already) a repository on `main` with one commit of everything in it. */
export function initRepo(repo: string): void {
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'config', 'user.email', 'me@example.com');
  git(repo, 'config', 'user.name', 'Me');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'start');
}

/** The user's checkout as they see it: branch, HEAD, status (untracked included, and ignored files when asked), the index. */
export function checkoutOf(repo: string, options: { ignored?: boolean } = {}): () => string {
  const status = options.ignored ? ['status', '--porcelain', '--ignored'] : ['status', '--porcelain'];
  return () => [git(repo, 'symbolic-ref', 'HEAD'), git(repo, 'rev-parse', 'HEAD'), git(repo, ...status), git(repo, 'ls-files', '-s')].join('\n');
}

/** `dir/repo` made of `files` and committed on main, with what its user sees of it (see {@link checkoutOf}). */
export function repoOf(dir: string, files: Record<string, string>): { repo: string; checkout: () => string } {
  const repo = path.join(dir, 'repo');
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    fs.writeFileSync(path.join(repo, file), text);
  }
  initRepo(repo);
  return { repo, checkout: checkoutOf(repo) };
}

import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles a TypeScript entry point into `packages/examples/.bench/<name>.mjs` and returns its path.
 * `external` packages are loaded from node_modules at run time instead (the Redis client and
 * BullMQ): the bundle is then split at its dynamic imports (into `.bench/<name>/`), so a module
 * imported only on demand keeps its imports of those packages to itself and a file-backend run
 * never loads them.
 */
export async function bundle(entry: string, external: string[] = []): Promise<string> {
  const name = path.basename(entry, '.ts');
  const split = external.length > 0;
  const outdir = path.join(import.meta.dirname, '..', '.bench', name);
  const outfile = split ? path.join(outdir, `${name}.mjs`) : path.join(import.meta.dirname, '..', '.bench', `${name}.mjs`);
  if (split) fs.rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [entry],
    ...(split ? { outdir, splitting: true, entryNames: '[name]', chunkNames: 'chunk-[hash]', outExtension: { '.js': '.mjs' } } : { outfile }),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    external,
    // The workspace's packages from their sources, as the repo's scripts and tests use them.
    conditions: ['@agent-team/source'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}

/** The filesystem a folder lives on, from /proc/mounts (longest mount-point prefix), e.g. "tmpfs on /dev/shm". */
export function describeFilesystem(dir: string): string {
  try {
    const real = fs.realpathSync(dir);
    let best = { mount: '', type: 'unknown' };
    for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mount, type] = line.split(' ');
      if (!mount || !type) continue;
      const prefix = mount.endsWith(path.sep) ? mount : `${mount}${path.sep}`;
      if ((real === mount || real.startsWith(prefix)) && mount.length > best.mount.length) best = { mount, type };
    }
    return `${best.type} on ${best.mount}`;
  } catch {
    return 'unknown filesystem';
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function printTable(log: (line: string) => void, rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const [n, row] of rows.entries()) {
    log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
    if (n === 0) log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

// The published packages stay in step: one version, the same LICENSE as the
// repository's, a README, and every file their manifest promises to ship.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../../../..');
interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  engines?: { node?: string };
  files?: string[];
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}
const manifests = readdirSync(join(repo, 'packages')).map((dir) => ({
  dir,
  pkg: JSON.parse(readFileSync(join(repo, 'packages', dir, 'package.json'), 'utf8')) as Manifest,
}));
const published = manifests.filter((m) => !m.pkg.private);

describe('package manifests', () => {
  it('share one version (node scripts/version.mjs sets it)', () => {
    expect(new Set(manifests.map((m) => m.pkg.version)).size).toBe(1);
  });

  it.each(published.map((m) => [m.pkg.name, m] as const))('%s is fit to publish', (_name, { dir, pkg }) => {
    const root = join(repo, 'packages', dir);
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toBe(readFileSync(join(repo, 'LICENSE'), 'utf8'));
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(`# ${pkg.name}`);
    for (const field of ['description', 'repository', 'keywords', 'engines', 'types', 'files', 'exports']) {
      expect(pkg[field], `${pkg.name}: ${field}`).toBeDefined();
    }
    expect(pkg.engines?.node).toBe('>=20.19');
    // Every export's source target exists, and every file entry is real (dist/ after a build).
    for (const [entry, target] of Object.entries(pkg.exports ?? {})) {
      const source = typeof target === 'string' ? target : target['@agent-team/source'];
      if (source) expect(existsSync(join(root, source)), `${pkg.name} exports ${entry} -> ${source}`).toBe(true);
    }
    for (const file of pkg.files ?? []) {
      if (file !== 'dist') expect(existsSync(join(root, file)), `${pkg.name} files: ${file}`).toBe(true);
    }
    for (const dep of Object.keys(pkg.dependencies ?? {})) expect(dep).not.toBe('tsx');
  });
});

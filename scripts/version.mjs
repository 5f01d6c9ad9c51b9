// Sets one version on every package of the repository, so they stay in step:
//   node scripts/version.mjs 0.2.0
// Packages depend on each other as "workspace:*", which `pnpm pack` and
// `pnpm publish` turn into this exact version.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const version = process.argv[2];
if (!version || !/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) {
  console.error(`usage: node scripts/version.mjs <version>  (a semver such as 1.2.3 or 1.2.3-beta.1; got ${JSON.stringify(version ?? '')})`);
  process.exit(2);
}
const root = new URL('../packages/', import.meta.url).pathname;
for (const dir of readdirSync(root)) {
  const file = join(root, dir, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  pkg.version = version;
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  console.log(`${pkg.name} ${version}`);
}

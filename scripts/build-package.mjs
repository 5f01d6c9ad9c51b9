// Builds the package in the current folder into a clean dist/: JavaScript,
// .d.ts and declaration maps, source maps (tsconfig.build.json). A clean
// folder, so a file removed from src/ never lingers in a published tarball.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
} catch {
  // tsc printed the errors.
  process.exit(1);
}

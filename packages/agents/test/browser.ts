// What the browser tests share: Debian's chromium (installed by .ci/run when
// missing; never a browser download) and where screenshots are kept.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** The path of the system's chromium, or undefined when it is not on PATH. */
export function systemChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not on PATH
    }
  }
  return undefined;
}

/** Screenshots taken by the browser tests, kept as test artifacts. */
export const ARTIFACTS = path.join(import.meta.dirname, '..', '..', '..', '.test-results', 'screenshots');

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh temp folder (tmpfs when there is one). */
export function tempDir(prefix = 'agents-'): string {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return fs.mkdtempSync(path.join(base, prefix));
}

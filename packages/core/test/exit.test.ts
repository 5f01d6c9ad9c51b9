import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, runScript, tempDir } from './helpers/processes.js';

// A user who forgets close() still gets a process that ends: the file watcher
// and heartbeats only serve work in flight and must not hold the event loop.
describe('a script that never calls close()', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const runAlone = async (mode: string) => {
    dir = tempDir('exit-');
    const child = runScript(fixture('forgot-close.ts'), [mode, path.join(dir, 'ws')]);
    const killer = setTimeout(() => child.proc.kill('SIGKILL'), 10_000);
    const exit = await child.exited;
    clearTimeout(killer);
    return { ...exit, lines: child.lines, stderr: child.stderr() };
  };

  it.each([
    ['queue', 'completed 2'],
    ['wait', 'completed 2'],
    ['claim-held', 'holding'],
    ['bus', 'received 1'],
  ])('exits by itself after using the %s', async (mode, expected) => {
    const { code, signal, lines, stderr } = await runAlone(mode);
    // SIGKILL here means the process hung after its work was done.
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(lines.join('\n')).toContain(expected);
  });
});

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TaskQueue } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { BIN } from './cli-harness.js';

// A file this process may not read, where a record should be. Root reads
// everything, so the commands run as `nobody` (setpriv), on a workspace made
// writable for it, with one file left at mode 000.

const NOBODY = 65534;
// As root with setpriv, and the CLI reachable by nobody: a checkout inside a private folder (mode 700, as mktemp -d
// makes) is not, and then these tests say so and skip rather than fail for a reason that is not theirs.
const canDrop =
  process.getuid?.() === 0 &&
  spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'true']).status === 0 &&
  (spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, BIN, '--version']).status === 0 ||
    (console.warn(`skipping the unreadable-file faults: user nobody cannot run ${BIN} (a folder above it is private)`), false));

function asNobody(args: string[]) {
  return spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', HOME: '/tmp' },
  });
}

function openUp(target: string): void {
  fs.chmodSync(target, fs.statSync(target).isDirectory() ? 0o777 : 0o666);
  if (fs.statSync(target).isDirectory()) for (const name of fs.readdirSync(target)) openUp(path.join(target, name));
}

describe.skipIf(!canDrop)('faults: an unreadable file where a record should be', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a task file, a state file and a result at mode 000: every command goes on, each is quarantined with a warning', async () => {
    dir = tempDir('fault-unreadable-');
    const ws = path.join(dir, 'ws');
    const queue = TaskQueue.open({ workspace: ws, watch: false });
    await queue.addMany([
      { id: 'c', description: 'c', priority: 10 },
      { id: 'a', description: 'a', priority: 5 },
      { id: 'b', description: 'b' },
    ]);
    await (await queue.claim({ agentId: 'w0' }))?.complete('ok'); // c
    await (await queue.claim({ agentId: 'w0' }))?.release({ feedback: 'again' }); // a, with a state file
    await queue.close();
    const locked = ['tasks/b.json', 'state/a.json', 'results/c.json'];
    for (const rel of locked) expect(fs.existsSync(path.join(ws, rel))).toBe(true);
    openUp(dir);
    for (const rel of locked) fs.chmodSync(path.join(ws, rel), 0o000);

    const list = asNobody(['tasks', 'list', '-w', ws]);
    expect(list.status).toBe(0);
    expect(list.stderr).toMatch(/warning: tasks\/b\.json: task file of "b" is not readable by this process; moved to quarantine\//);
    // Nothing silently dropped: status says files were moved aside.
    expect(asNobody(['status', '-w', ws]).stdout).toMatch(/\d+ files? in quarantine\//);
    for (const args of [['status'], ['export']]) {
      const run = asNobody([...args, '-w', ws]);
      expect(run.stderr).not.toMatch(/EACCES|\n\s+at /);
      expect(run.status).toBe(0);
    }
    const report = asNobody(['recover', '--json', '-w', ws]);
    expect(report.stderr).toBe('');
    expect(report.status).toBe(0);
    const quarantined = (JSON.parse(report.stdout) as { quarantined: Array<{ file: string; reason: string }> }).quarantined;
    expect(quarantined.map((q) => q.file).sort()).toEqual([...locked].sort());
    const work = asNobody(['worker', '--id', 'w1', '--role', 'worker', '-w', ws]);
    expect(work.stderr).not.toMatch(/\n\s+at /);
    expect(work.status).toBe(0);
  });
});

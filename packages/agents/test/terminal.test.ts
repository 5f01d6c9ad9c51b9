import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentRole, AgentTeam, attachProgress, colors, offlineModel, statusLine } from '../src/index.js';
import { tempDir } from './helpers.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'agent-team.js');
// eslint-disable-next-line no-control-regex -- measuring what a terminal shows means dropping its escape codes
const visible = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

/** A stream that claims to be a terminal of `columns` and keeps what is written. */
function fakeTerminal(columns: number): NodeJS.WriteStream & { text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { text: () => string };
  let written = '';
  stream.write = ((chunk: string) => {
    written += chunk;
    return true;
  });
  Object.assign(stream, { isTTY: true, columns, text: () => written });
  return stream;
}

describe('the run status line', () => {
  const counts = { done: 7, total: 12, running: 3, review: 2, failed: 1, tokens: 123_456 };

  it.each([20, 30, 40, 60, 80, 200])('fits a terminal %i columns wide, so it never wraps', (width) => {
    const line = statusLine(counts, width, colors(true));
    expect(visible(line).length).toBeLessThan(width);
    expect(visible(line)).toContain('7/12 done');
  });

  it('shows the bar and every part when there is room, and drops the least important first', () => {
    expect(statusLine(counts, 200)).toBe('██████████████░░░░░░░░░░ 7/12 done · 3 running · 2 in review · 1 failed · 123,456 tokens');
    expect(statusLine(counts, 70)).toBe('7/12 done · 3 running · 2 in review · 1 failed · 123,456 tokens');
    expect(statusLine(counts, 40)).toBe('7/12 done · 3 running · 1 failed');
    expect(statusLine(counts, 12)).toBe('7/12 done…');
  });
});

describe('attachProgress', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('counts every task of the queue, also those added before it was attached and those the lead plans', async () => {
    dir = tempDir('progress-');
    const team = new AgentTeam({ workspace: path.join(dir, 'ws') });
    team.addAgent('lead', AgentRole.LEAD, offlineModel());
    team.addAgent('w1', AgentRole.WORKER, offlineModel());
    // As `agent-team run` does: the spec's tasks first, then the display.
    await team.addTask('Research the problem space', { id: 'research' });
    await team.goal('Write a short design note', { id: 'goal' });
    const terminal = fakeTerminal(50);
    const detach = attachProgress(team, { stream: terminal, color: true });
    const summary = await team.run({ timeoutMs: 20_000 });
    // The last counts read may land after the last event: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 100));
    detach();
    await team.close();
    expect(summary.status).toBe('completed');
    const lines = terminal.text().split('\r\x1b[2K').map(visible).filter((l) => / done/.test(l));
    const last = lines.at(-1)!.split('\n')[0]!;
    expect(last).toContain(`${summary.total}/${summary.total} done`);
    expect(summary.total).toBeGreaterThan(2);
    for (const l of lines) expect(l.split('\n')[0]!.length).toBeLessThan(50);
  });
});

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// A real terminal (a pty from util-linux's `script`): watch redraws many frames.
describe.skipIf(!hasScript)('agent-team watch in a terminal', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('draws frame after frame without a MaxListenersExceededWarning, and q quits', async () => {
    dir = tempDir('watch-');
    const ws = path.join(dir, 'ws');
    execFileSync(process.execPath, [BIN, 'init', ws, '--spec', path.join(dir, 'team.yaml')], { stdio: 'ignore' });
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} watch --interval 20 -w ${JSON.stringify(ws)}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, TERM: 'xterm', COLUMNS: '100', LINES: '30' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // More than 11 frames (the default limit of listeners) at 20 ms each.
      for (let i = 0; i < 200 && (out.match(/agent-team watch/g) ?? []).length < 40; i++) await new Promise((r) => setTimeout(r, 50));
      child.stdin.write('q');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    expect((out.match(/agent-team watch/g) ?? []).length).toBeGreaterThanOrEqual(40);
    expect(out).not.toContain('MaxListenersExceededWarning');
  });
});

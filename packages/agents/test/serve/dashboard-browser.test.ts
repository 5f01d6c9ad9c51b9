import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FileBackend, TaskQueue } from '@agent-team/core';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../../src/serve/server.js';
import { tempDir } from '../helpers.js';
import { ARTIFACTS, systemChromium } from '../browser.js';

const CHROMIUM = systemChromium();
const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'agent-team.js');
if (!CHROMIUM) console.warn('dashboard browser test skipped: no chromium on PATH (install Debian\'s "chromium" package; .ci/run does)');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' }).trim();
}

/** A real repository with one change on a branch, as a coding task's result describes it. */
function codingResult(repo: string): Record<string, unknown> {
  fs.mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'retry.ts'), 'export const attempts = 3;\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-qm', 'base');
  const base = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'checkout', '-qb', 'task/code');
  fs.writeFileSync(path.join(repo, 'retry.ts'), 'export const attempts = 5;\nexport const backoffMs = 200;\n');
  git(repo, 'commit', '-qam', 'more retries');
  const commit = git(repo, 'rev-parse', 'HEAD');
  return { summary: 'Raised the attempts', branch: 'task/code', commit, diffStat: git(repo, 'diff', '--stat', base, commit), repo, base, test: { command: 'pnpm test', passed: true } };
}

/** A run of 12 tasks over three agents with a budget, a failure, two coding tasks (one repository reachable) and an agent at work. */
async function seed(ws: string, repo: string): Promise<void> {
  const backend = FileBackend.open(ws, { watch: false });
  const queue = TaskQueue.open({ backend });
  backend.events.append({ type: 'team.started', teamId: 'demo', agents: ['agent-0', 'agent-1', 'agent-2'], budget: { maxTokens: 3000, maxUsd: 0.01 } });
  for (let i = 0; i < 12; i++) {
    await queue.add({ id: i === 5 ? 'code' : `t${i}`, description: `Step ${i} of the plan`, dependencies: i >= 4 ? [i - 4 === 5 ? 'code' : `t${i - 4}`] : [], maxAttempts: 1 });
  }
  const change = codingResult(repo);
  for (let i = 0; i < 11; i++) {
    const claim = await queue.claim({ agentId: `agent-${i % 3}` });
    if (!claim) break;
    backend.events.append({ type: 'model.call', agentId: claim.agentId, taskId: claim.task.id, model: 'offline:echo', inputTokens: 180 + 10 * i, outputTokens: 40, costUsd: 0.001, durationMs: 3 });
    if (i === 10) break; // held: an agent at work
    if (claim.task.id === 't9') await queue.fail(claim.ref, new Error('tool exploded'), { retryable: false });
    // t2's repository is on no disk here (another machine's): its details show the stat its result carries.
    else if (claim.task.id === 't2') await queue.complete(claim.ref, { ...change, repo: path.join(ws, 'elsewhere'), summary: 'Elsewhere' });
    else await queue.complete(claim.ref, claim.task.id === 'code' ? change : { answer: `done ${claim.task.id}` });
  }
  const now = Date.now();
  for (let a = 0; a < 3; a++) {
    const held = (await queue.list({ status: 'claimed' })).filter((t) => t.owner === `agent-${a}`).map((t) => t.id);
    await backend.agents.report({ id: `agent-${a}`, role: 'worker', model: 'offline', capabilities: ['worker'], status: held.length ? 'working' : 'idle', current: held, tasksDone: 3, pid: process.pid, host: 'here', startedAt: now, lastSeen: now });
  }
  await queue.close();
  await backend.close();
}

/** `agent-team tasks add` in a child process: another process writing to the workspace. */
function addFromAnotherProcess(ws: string, id: string): Promise<number | null> {
  const child = spawn(process.execPath, [BIN, 'tasks', 'add', 'Added by another process', '--id', id, '--deps', 't11', '-w', ws], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe.skipIf(!CHROMIUM)('the live dashboard in a real browser', () => {
  let browser: Browser;
  let dir: string;
  let ws: string;
  let backend: FileBackend;
  let dashboard: Dashboard;
  beforeAll(async () => {
    dir = tempDir('dashboard-browser-');
    ws = path.join(dir, 'ws');
    await seed(ws, path.join(dir, 'repo'));
    backend = FileBackend.open(ws, { watch: false });
    dashboard = await startDashboard(backend, { port: 0, title: 'agent-team · demo' });
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await backend?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('renders every task without console errors, shows details on click, and shows a task another process adds within 2 s', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    page.setDefaultTimeout(5000);
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('request', (r) => !r.url().startsWith(dashboard.url) && foreign.push(r.url()));
    await page.goto(dashboard.url);
    await page.waitForSelector('body[data-rendered="12"]');
    await page.locator('#live-state.on').waitFor({ timeout: 5000 });

    const nodes = page.locator('#graph .node');
    const ids = await Promise.all(Array.from({ length: await nodes.count() }, (_, i) => nodes.nth(i).getAttribute('data-id')));
    expect(ids.sort()).toEqual(['code', ...Array.from({ length: 12 }, (_, i) => `t${i}`).filter((id) => id !== 't5')].sort());
    expect(await page.getAttribute('.node[data-id="t9"]', 'data-status')).toBe('failed');
    // Agents and what each is doing now.
    await page.locator('#agents tr[data-agent="agent-1"] td.doing a').waitFor();
    expect(await page.textContent('#agents tr[data-agent="agent-1"]')).toContain('working');
    // The budget as lines on the spend charts: tokens (99% spent) and cost (reached: 11 calls at $0.001).
    expect(await page.locator('#usage .budget-line').count()).toBe(2);
    expect(await page.locator('#usage .budget-line.over').count()).toBe(1);
    expect(await page.textContent('#usage')).toContain('budget 3,000');
    expect(await page.textContent('#usage')).toContain('budget $0.0100 (reached)');
    expect(await page.textContent('#summary')).toContain('110% of $0.01');

    await page.click('.node[data-id="t9"]');
    expect(await page.textContent('#details')).toContain('tool exploded');
    await page.click('.node[data-id="t2"]');
    expect(await page.textContent('#details pre.diff')).toContain('retry.ts | 3 ++-');
    expect(await page.textContent('#details')).toContain('Diff stat only: the repository was not reachable');
    await page.click('.node[data-id="code"]');
    const details = await page.textContent('#details');
    expect(details).toContain('tests passed (pnpm test)');
    expect(await page.textContent('#details pre.diff .da >> nth=1')).toBe('+export const backoffMs = 200;\n');

    expect(await addFromAnotherProcess(ws, 'late')).toBe(0);
    // The assertion: on the page within 2 s of the other process writing it.
    await page.locator('#graph .node[data-id="late"]').waitFor({ timeout: 2000 });
    await page.locator('#feed li[data-type="task.added"]', { hasText: 'late' }).waitFor({ timeout: 2000 });
    // The selected task's details stay through the refresh.
    expect(await page.textContent('#details')).toContain('tests passed');
    expect(await page.getAttribute('body', 'data-rendered')).toBe('13');

    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    // The first screen (docs/dashboard.png is this one).
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-screen.png') });
    await page.close();
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { FileBackend, TaskQueue } from '@agent-team/core';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReportData } from '../../src/report/data.js';
import { reportHtml } from '../../src/report/html.js';
import { tempDir } from '../helpers.js';
import { ARTIFACTS, systemChromium } from '../browser.js';

const CHROMIUM = systemChromium();
if (!CHROMIUM) console.warn('browser tests skipped: no chromium on PATH (install Debian\'s "chromium" package; .ci/run does)');

/** n tasks in a few layers, run through the real queue by three agents; one fails. */
async function makeRun(ws: string, n: number): Promise<void> {
  const backend = FileBackend.open(ws, { watch: false });
  const queue = TaskQueue.open({ backend });
  for (let i = 0; i < n; i++) {
    const deps = i >= 10 ? [`t${i - 10}`, ...(i % 3 === 0 && i >= 11 ? [`t${i - 11}`] : [])] : [];
    await queue.add({ id: `t${i}`, description: `Step ${i} of the plan`, dependencies: deps, maxAttempts: 1 });
  }
  for (let i = 0; i < n; i++) {
    const claim = await queue.claim({ agentId: `agent-${i % 3}` });
    if (!claim) break;
    backend.events.append({ type: 'model.call', agentId: claim.agentId, taskId: claim.task.id, model: 'offline:echo', inputTokens: 100 + i, outputTokens: 20, costUsd: 0.001, durationMs: 3 });
    if (claim.task.id === 't3') await queue.fail(claim.ref, new Error('tool exploded'), { retryable: false });
    else await queue.complete(claim.ref, { answer: `done ${claim.task.id}` });
  }
  await queue.close();
  await backend.close();
}

async function reportFile(n: number): Promise<{ file: string; dir: string }> {
  const dir = tempDir('report-browser-');
  await makeRun(dir, n);
  const backend = FileBackend.open(dir, { watch: false });
  const html = reportHtml(await buildReportData(backend));
  await backend.close();
  const file = path.join(dir, 'report.html');
  fs.writeFileSync(file, html);
  return { file, dir };
}

describe.skipIf(!CHROMIUM)('HTML report in a real browser', () => {
  let browser: Browser;
  const dirs: string[] = [];
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('renders without console errors or requests, shows every task, and shows details on click', async () => {
    const { file, dir } = await reportFile(24);
    dirs.push(dir);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-rendered="24"]');
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    const nodes = page.locator('#graph .node');
    const ids = await Promise.all(Array.from({ length: await nodes.count() }, (_, i) => nodes.nth(i).getAttribute('data-id')));
    expect(ids.sort()).toEqual(Array.from({ length: 24 }, (_, i) => `t${i}`).sort());
    expect(await page.getAttribute('.node[data-id="t3"]', 'data-status')).toBe('failed');
    expect(await page.locator('#timeline .bar').count()).toBeGreaterThanOrEqual(4);
    await page.click('.node[data-id="t3"]');
    const details = await page.textContent('#details');
    expect(details).toContain('Step 3 of the plan');
    expect(details).toContain('tool exploded');
    expect(await page.textContent('#usage')).toContain('agent-0');
    await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
    await page.close();
  });

  it('renders a 500-task report', async () => {
    const { file, dir } = await reportFile(500);
    dirs.push(dir);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(String(e)));
    const started = performance.now();
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-rendered="500"]', { timeout: 60_000 });
    const ms = performance.now() - started;
    console.log(`500-task report: ${(fs.statSync(file).size / 1024).toFixed(0)} KiB, opened and rendered in ${ms.toFixed(0)} ms`);
    expect(problems).toEqual([]);
    expect(await page.locator('#graph .node').count()).toBe(500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-500.png') });
    await page.close();
  }, 120_000);
});

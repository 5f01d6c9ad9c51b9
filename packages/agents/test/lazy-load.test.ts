import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runToEnd } from '../../core/test/helpers/processes.js';
import { tempDir } from './helpers.js';

const SDK = { anthropic: '/@anthropic-ai/sdk/', openai: '/node_modules/openai/' } as const;

/** The log of loaded module URLs, split at the fixture's marks: each mark names what loaded since the one before. */
function phases(file: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let pending: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    if (line.startsWith('-- ')) {
      out.set(line.slice(3), pending);
      pending = [];
    } else pending.push(line);
  }
  return out;
}
const loads = (urls: string[] | undefined, what: string) => (urls ?? []).filter((u) => u.includes(what)).length;

describe('start-up: what importing @agent-team/agents loads', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an offline team loads neither provider SDK, nor zod, yaml or ioredis', async () => {
    dir = tempDir('lazy-');
    const file = path.join(dir, 'loads.txt');
    await runToEnd(path.join(import.meta.dirname, 'fixtures', 'lazy-sdks.ts'), ['offline', path.join(dir, 'ws')], { LOADS_FILE: file });
    const log = phases(file);
    expect([...log.keys()]).toEqual(['imported', 'offline run completed']);
    const all = [...log.values()].flat();
    // The package itself did load (the hooks see it), so the checks below can fail.
    expect(log.get('imported')!.some((u) => u.includes('/packages/agents/src/index.ts'))).toBe(true);
    for (const what of [SDK.anthropic, SDK.openai, '/node_modules/zod/', '/node_modules/yaml/', '/node_modules/ioredis/']) {
      expect({ what, loads: loads(all, what) }).toEqual({ what, loads: 0 });
    }
  });

  it("loads an adapter's SDK on that adapter's first call, not when it is built", async () => {
    dir = tempDir('lazy-');
    const file = path.join(dir, 'loads.txt');
    await runToEnd(path.join(import.meta.dirname, 'fixtures', 'lazy-sdks.ts'), ['adapters', path.join(dir, 'ws')], { LOADS_FILE: file });
    const log = phases(file);
    expect(loads(log.get('constructed'), SDK.anthropic) + loads(log.get('constructed'), SDK.openai)).toBe(0);
    expect(loads(log.get('called anthropic'), SDK.anthropic)).toBeGreaterThan(0);
    expect(loads(log.get('called anthropic'), SDK.openai)).toBe(0);
    expect(loads(log.get('called openai'), SDK.openai)).toBeGreaterThan(0);
  });
});

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@agent-team/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ModelError, offlineModel, ReplayMissError, requestHash, UsageTracker, withCache, withUsage, type StreamEvent } from '../../src/models/index.js';
import { FakeServer } from './helpers/fake-server.js';
import { anthropicKit, openaiKit, SECRET } from './helpers/provider-kits.js';

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });
const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function texts(stream: AsyncIterable<StreamEvent>): Promise<string[]> {
  const out: string[] = [];
  for await (const event of stream) out.push(event.type === 'text' ? event.delta : `[done:${event.response.text}]`);
  return out;
}

describe('record/replay cache', () => {
  it('records real calls, then replays them with no server, and never stores the key', async () => {
    for (const kit of [anthropicKit, openaiKit]) {
      const server = await FakeServer.start();
      server.reply(kit.text('recorded answer', { input: 9, output: 3 }), kit.stream(['streamed ', 'answer'], { input: 4, output: 2 }));
      const recorder = withCache(kit.model(server, { logger: quiet }), { mode: 'record', dir });
      const live = await recorder.generate({ ...ask('What is recorded?'), attribution: { agentId: 'a1' } });
      expect(live.cached).toBeUndefined();
      expect(await texts(recorder.stream(ask('What is streamed?')))).toEqual(['streamed ', 'answer', '[done:streamed answer]']);
      await server.close();

      // The server is gone: only the recordings can answer now.
      const replayer = withCache(kit.model(server, { logger: quiet, maxRetries: 0 }), { mode: 'replay', dir });
      const replayed = await replayer.generate({ ...ask('What is recorded?'), attribution: { agentId: 'someone-else' }, timeoutMs: 5000 });
      expect(replayed).toEqual({ ...live, cached: true });
      expect((await texts(replayer.stream(ask('What is streamed?')))).join('')).toBe('streamed answer[done:streamed answer]');
    }

    const files = await readdir(dir);
    expect(files).toHaveLength(4);
    expect(files.every((file) => /^[0-9a-f]{64}\.json$/.test(file))).toBe(true);
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      expect(text).not.toContain(SECRET);
      expect(JSON.parse(text)).toMatchObject({ format: 'agent-team.model-recording', version: 1 });
    }
  });

  it('says clearly which request missed in replay mode, and how to record it', async () => {
    const model = withCache(offlineModel(), { mode: 'replay', dir });
    const request = ask('Summarise the incident report from last night for the on-call channel');
    const error = await model.generate(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplayMissError);
    const miss = error as ReplayMissError;
    const hash = requestHash('offline', request);
    expect(miss.hash).toBe(hash);
    expect(miss.message).toContain(hash.slice(0, 12));
    expect(miss.message).toContain('"Summarise the incident report from last night for the on-call channel"');
    expect(miss.message).toContain(dir);
    expect(miss.message).toMatch(/mode "record"/);
  });

  it('keys on what decides the answer, not on signal, timeout or attribution', () => {
    const base = { ...ask('q'), system: 's', temperature: 0.5 };
    const hash = requestHash('m', base);
    expect(requestHash('m', { ...base, signal: new AbortController().signal, timeoutMs: 5, attribution: { taskId: 't' } })).toBe(hash);
    expect(requestHash('m', { ...base, maxTokens: 1024 })).toBe(hash);
    expect(requestHash('m', { temperature: 0.5, system: 's', ...ask('q') })).toBe(hash);
    expect(requestHash('m', { ...base, temperature: 0.6 })).not.toBe(hash);
    expect(requestHash('other', base)).not.toBe(hash);
  });

  it('in auto mode records what is missing and replays what is there', async () => {
    const inner = offlineModel({ seed: 4 });
    const generate = vi.spyOn(inner, 'generate');
    const tracker = new UsageTracker();
    const model = withUsage(withCache(inner, { mode: 'auto', dir }), tracker);
    const first = await model.generate(ask('hello'));
    const second = await model.generate(ask('hello'));
    expect(generate).toHaveBeenCalledTimes(1);
    expect(second).toEqual({ ...first, cached: true });
    // Usage trackers can tell replayed answers from spent ones.
    expect(tracker.records().map((r) => r.cached)).toEqual([false, true]);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reports a corrupt recording by its path', async () => {
    const request = ask('broken');
    await writeFile(join(dir, `${requestHash('offline', request)}.json`), '{ not json');
    const error = await withCache(offlineModel(), { mode: 'replay', dir }).generate(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(/cannot be read .*delete it and record again/);
  });

  it('rejects an unknown mode and passes through when off', async () => {
    expect(() => withCache(offlineModel(), { mode: 'sometimes' as never, dir })).toThrow(ValidationError);
    const model = offlineModel();
    expect(withCache(model, { mode: 'off', dir })).toBe(model);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { InvalidOptionError } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, AgentTeam, CommandAgent, createModel, fromFunction, offlineModel } from '../../src/index.js';
import { ConcurrencyLimiter } from '../../src/models/concurrency-limiter.js';
import { tempDir } from '../helpers.js';

// The agents package's constructors check options the same way as core's:
// InvalidOptionError with the option's name and value, before any folder is made.

function caught(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (err) {
    return err as InvalidOptionError;
  }
  throw new Error('expected a throw');
}

describe('faults: agents options checked at construction', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['AgentTeam maxVetoes 0', (ws: string) => new AgentTeam({ workspace: ws, maxVetoes: 0 }), 'maxVetoes', 0],
    ['AgentTeam leaseMs 2^31', (ws: string) => new AgentTeam({ workspace: ws, leaseMs: 2 ** 31 }), 'leaseMs', 2 ** 31],
    ['AgentTeam reviewLimit "maybe"', (ws: string) => new AgentTeam({ workspace: ws, reviewLimit: 'maybe' as 'fail' }), 'reviewLimit', 'maybe'],
    ['AgentTeam shutdownGraceMs -1', (ws: string) => new AgentTeam({ workspace: ws, shutdownGraceMs: -1 }), 'shutdownGraceMs', -1],
    ['Agent concurrency 0', () => new Agent('w1', 'worker', offlineModel(), { concurrency: 0 }), 'concurrency', 0],
    ['Agent maxTokens -5', () => new Agent('w1', 'worker', offlineModel(), { maxTokens: -5 }), 'maxTokens', -5],
    ['CommandAgent timeoutMs 2^31', () => new CommandAgent('c1', 'worker', { command: ['cat'], timeoutMs: 2 ** 31 }), 'timeoutMs', 2 ** 31],
    ['ConcurrencyLimiter 0', () => new ConcurrencyLimiter(0), 'maxConcurrency', 0],
    ['offlineModel latencyMs over the timer limit', () => offlineModel({ latencyMs: 2 ** 31 }), 'latencyMs', 2 ** 31],
    ['openai timeoutMs over the timer limit', () => createModel('openai:gpt-4.1-mini', { apiKey: 'sk-test-abcdefgh', timeoutMs: 2 ** 31 }), 'timeoutMs', 2 ** 31],
    ['fromFunction("x")', () => fromFunction('x' as unknown as () => string), undefined, 'x'],
  ])('%s', (_name, build, option, value) => {
    dir = tempDir('fault-agent-opts-');
    const ws = path.join(dir, 'ws');
    const err = caught(() => build(ws));
    expect(err).toBeInstanceOf(InvalidOptionError);
    if (option) expect(err.option).toBe(option);
    expect(err.value).toBe(value);
    expect(fs.existsSync(ws)).toBe(false);
  });

  it('run({ timeoutMs }) over the 2^31 ms timer limit is refused instead of ending the run at once', async () => {
    dir = tempDir('fault-agent-opts-');
    const team = new AgentTeam({ workspace: path.join(dir, 'ws'), watch: false });
    team.addAgent('w1', 'worker', offlineModel());
    await team.addTask('a task');
    await expect(team.run({ timeoutMs: 600 * 3_600_000 })).rejects.toThrow(/timeoutMs must be a number of milliseconds from 1 to 2147483647/);
    const summary = await team.run({ timeoutMs: 60_000 });
    expect(summary.status).toBe('completed');
    await team.close();
  });
});

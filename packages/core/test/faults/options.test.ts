import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError, MessageBus, TaskQueue, ValidationError, Workspace } from '../../src/index.js';
import { RedisBackend } from '../../src/redis/index.js';

// Every public constructor checks its options at construction, in one way:
// an InvalidOptionError (a ValidationError) naming the option and the value,
// thrown before anything is written.

function caught(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (err) {
    return err as InvalidOptionError;
  }
  throw new Error('expected a throw');
}

describe('faults: options checked at construction', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['TaskQueue leaseMs 0', () => TaskQueue.open({ workspace: 'WS', leaseMs: 0 }), 'leaseMs', 0],
    ['TaskQueue leaseMs over the timer limit', () => TaskQueue.open({ workspace: 'WS', leaseMs: 2 ** 31 }), 'leaseMs', 2 ** 31],
    ['TaskQueue maxAttempts "3"', () => TaskQueue.open({ workspace: 'WS', maxAttempts: '3' as unknown as number }), 'maxAttempts', '3'],
    ['TaskQueue retry.baseMs -1', () => TaskQueue.open({ workspace: 'WS', retry: { baseMs: -1, maxMs: 10 } }), 'retry.baseMs', -1],
    ['TaskQueue reapIntervalMs NaN', () => TaskQueue.open({ workspace: 'WS', reapIntervalMs: Number.NaN }), 'reapIntervalMs', Number.NaN],
    ['TaskQueue durable "yes"', () => TaskQueue.open({ workspace: 'WS', durable: 'yes' as unknown as boolean }), 'durable', 'yes'],
    ['MessageBus maxBodyBytes 0', () => MessageBus.open({ workspace: 'WS', maxBodyBytes: 0 }), 'maxBodyBytes', 0],
    ['MessageBus archiveMaxFiles -1', () => MessageBus.open({ workspace: 'WS', archiveMaxFiles: -1 }), 'archiveMaxFiles', -1],
    ['Workspace sweep 1', () => Workspace.open('WS', { sweep: 1 as unknown as boolean }), 'sweep', 1],
  ])('%s', (_name, open, option, value) => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fault-opts-'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const err = caught(open);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.option).toBe(option);
      expect(Object.is(err.value, value)).toBe(true);
      expect(err.message).toContain(`${option} must be`);
      expect(fs.existsSync(path.join(dir, 'WS'))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });

  it('RedisBackend.open refuses a bad option before it connects', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fault-opts-'));
    // Nothing listens on port 1: a check after connecting would fail differently (unreachable).
    await expect(RedisBackend.open('redis://127.0.0.1:1', { connectTimeoutMs: -5 })).rejects.toThrow(
      /connectTimeoutMs must be a number of milliseconds from 1 to 2147483647.*got -5/,
    );
    await expect(RedisBackend.open('redis://127.0.0.1:1', { reconnectTimeoutMs: 2 ** 31 })).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

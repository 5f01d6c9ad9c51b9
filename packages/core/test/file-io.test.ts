import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileIO, ForeignEntryError } from '../src/fs/file-io.js';
import { tempDir } from './helpers/processes.js';

// FileIO.readText reads a file with open, one read into a reused buffer, and
// close; fstat only for an empty read or one that fills the buffer. These pin
// what it returns at each of those edges.

let dir: string;
let io: FileIO;
beforeEach(() => {
  dir = tempDir('file-io-');
  io = new FileIO(path.join(dir, 'tmp'), 'test');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const kindOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ForeignEntryError) return err.kind;
    throw err;
  }
  return 'no error';
};

describe('FileIO.readText', () => {
  it('reads small, empty, multi-byte and large files whole, whichever way it is told to expect them', () => {
    const cases: Array<[string, string]> = [
      ['small', '{"a":1}'],
      ['empty', ''],
      ['utf8', 'é'.repeat(40_000)], // 80,000 bytes: past the 64 KiB buffer, with characters across its edge
      ['exact', 'x'.repeat(64 * 1024)], // fills the buffer exactly
      ['large', JSON.stringify({ text: 'y'.repeat(300_000) })],
    ];
    for (const [name, text] of cases) {
      fs.writeFileSync(path.join(dir, name), text);
      expect(io.readText(path.join(dir, name), 'present')).toBe(text);
      expect(io.readText(path.join(dir, name), 'absent')).toBe(text);
    }
    // The reused buffer never leaks one file's bytes into the next read.
    expect(io.readText(path.join(dir, 'small'), 'present')).toBe('{"a":1}');
  });

  it('reads a missing file as null, either way', () => {
    expect(io.readText(path.join(dir, 'nope'), 'present')).toBeNull();
    expect(io.readText(path.join(dir, 'nope'), 'absent')).toBeNull();
  });

  it('names a folder, a symlink and a FIFO instead of reading them, and never waits on the FIFO', () => {
    fs.mkdirSync(path.join(dir, 'folder'));
    fs.writeFileSync(path.join(dir, 'target'), 'secret');
    fs.symlinkSync(path.join(dir, 'target'), path.join(dir, 'link'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    for (const expect_ of ['present', 'absent'] as const) {
      expect(kindOf(() => io.readText(path.join(dir, 'folder'), expect_))).toBe('a folder');
      expect(kindOf(() => io.readText(path.join(dir, 'link'), expect_))).toBe('a symlink');
      expect(kindOf(() => io.readText(path.join(dir, 'fifo'), expect_))).toBe('a FIFO');
    }
  });
});

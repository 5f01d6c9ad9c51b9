import type { FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { describeValue } from '@agent-team/core';
import type { ReadResult } from './codebase.js';
import { CodebaseAccessError } from './errors.js';

/** Read in chunks of this size. */
const CHUNK = 64 * 1024;

/**
 * Reads a window of lines from an open text file, a chunk at a time: from line
 * `offset` (1-based), at most `limit` lines and about `maxReadBytes` of text
 * (a longer window stops at a line and says where to continue; a single line
 * longer than that is cut and marked). A NUL byte means binary: refused.
 */
export async function readLines(
  handle: FileHandle,
  shown: string,
  offset: number,
  limit: number,
  maxReadBytes: number,
): Promise<Omit<ReadResult, 'path' | 'size'>> {
  const decoder = new StringDecoder('utf8');
  const buffer = Buffer.alloc(CHUNK);
  const lines: string[] = [];
  let bytes = 0;
  let lineNo = 1;
  let pending = '';
  let position = 0;
  let nextOffset: number | undefined;
  let cutLine: number | undefined;

  /** Takes one complete line; true when the window is full. */
  const take = (line: string): boolean => {
    if (lineNo < offset) {
      lineNo += 1;
      return false;
    }
    const size = Buffer.byteLength(line) + 1;
    if (lines.length >= limit || (lines.length > 0 && bytes + size > maxReadBytes)) {
      nextOffset = lineNo;
      return true;
    }
    lines.push(line);
    bytes += size;
    lineNo += 1;
    return false;
  };
  const result = (totalLines: number | undefined) => ({
    content: lines.join('\n'),
    startLine: offset,
    endLine: offset + lines.length - 1,
    totalLines,
    truncated: nextOffset !== undefined,
    nextOffset,
    cutLine,
  });

  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
    if (bytesRead === 0) break;
    if (position === 0 && buffer.subarray(0, Math.min(bytesRead, 8000)).includes(0)) {
      throw new CodebaseAccessError(`cannot read ${describeValue(shown)}: it looks binary (it contains NUL bytes); only text files can be read`);
    }
    position += bytesRead;
    const text = pending + decoder.write(buffer.subarray(0, bytesRead));
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      const line = text.slice(start, newline);
      start = newline + 1;
      if (take(line)) return result(undefined);
    }
    // A line before the window needs no text; one inside it is capped so one huge line cannot eat memory.
    pending = lineNo < offset ? '' : text.slice(start);
    if (pending.length > maxReadBytes) {
      if (lines.length > 0) {
        nextOffset = lineNo; // the long line starts the next window
      } else {
        lines.push(Buffer.from(pending).subarray(0, maxReadBytes).toString());
        cutLine = lineNo;
        nextOffset = lineNo + 1; // the rest of this one line is skipped
      }
      return result(undefined);
    }
  }
  const rest = pending + decoder.end();
  if (rest !== '' && take(rest)) return result(undefined);
  return result(lineNo - 1);
}

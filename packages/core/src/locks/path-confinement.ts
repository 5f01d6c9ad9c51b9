import fs from 'node:fs';
import path from 'node:path';
import { ValidationError, describeValue, errnoCode } from '../errors.js';
import { PathOutsideRootError } from './lock-errors.js';

/**
 * Confinement of caller-supplied paths (an LLM's, typically) to a folder.
 *
 * The rules: a path is relative, uses `/`, has no `..` segment, no NUL byte
 * and no drive or UNC prefix; and every symbolic link met along it (the file
 * itself or any parent folder) must resolve inside the root. The result is the
 * real path, with every link resolved, so that two spellings of one file
 * (`link.ts` and the `real.ts` it points to) give the same lock key.
 *
 * Resolution is a check at one moment. Callers narrow the gap to the moment
 * of use by opening with `O_NOFOLLOW` and checking the opened descriptor with
 * {@link assertOpenedInside}.
 */

export interface ConfinedPath {
  /** Absolute path with every symbolic link resolved: what to hand to the OS. */
  absolute: string;
  /** The same path relative to the root's real path, `/`-separated; `''` for the root itself. */
  relative: string;
  /** Whether something existed at the path when it was resolved. */
  exists: boolean;
}

/** `O_NOFOLLOW` where the platform has it (not on Windows), else 0. */
export const O_NOFOLLOW: number = 'O_NOFOLLOW' in fs.constants ? fs.constants.O_NOFOLLOW : 0;

/** `O_NONBLOCK` where the platform has it: opening a FIFO planted in a codebase must not hang the reader. */
export const O_NONBLOCK: number = 'O_NONBLOCK' in fs.constants ? fs.constants.O_NONBLOCK : 0;

/**
 * The real path of `root`, which must be an existing folder. Throws a
 * {@link ValidationError} naming the folder otherwise.
 */
export function realRoot(root: string): string {
  if (typeof root !== 'string' || root.length === 0) {
    throw new ValidationError(`codebase root must be a folder path, got ${describeValue(root)}`);
  }
  let real: string;
  try {
    real = fs.realpathSync.native(path.resolve(root));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new ValidationError(`codebase root "${root}" does not exist: create it first`);
    throw err;
  }
  if (!fs.statSync(real).isDirectory()) throw new ValidationError(`codebase root "${root}" is not a folder`);
  return real;
}

/** True when `candidate` (absolute, normalised) is `root` or below it. */
export function isInside(root: string, candidate: string): boolean {
  if (candidate === root) return true;
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return candidate.startsWith(prefix);
}

/**
 * The lexical checks: returns the path's segments (without `.` and empty
 * ones), or throws {@link PathOutsideRootError} saying which rule it broke.
 */
export function confinedSegments(rootReal: string, input: unknown): string[] {
  if (typeof input !== 'string') {
    throw new ValidationError(`path must be a string relative to the codebase root, got ${describeValue(input)}`);
  }
  const refuse = (reason: string): never => {
    throw new PathOutsideRootError(input, rootReal, reason);
  };
  if (input.includes('\0')) refuse('it contains a NUL byte');
  if (/^[A-Za-z]:/.test(input)) refuse('it starts with a Windows drive letter');
  if (/^[\\/]{2}/.test(input)) refuse('it is a UNC or network path');
  // On POSIX a backslash is a legal file name character, but a model that sends
  // one means a Windows separator ("..\\x"); refusing is the only safe reading.
  if (input.includes('\\')) refuse('it contains a backslash; separate folders with "/"');
  if (path.posix.isAbsolute(input)) refuse('it is an absolute path');
  const segments = input.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) refuse('it contains a ".." segment');
  return segments;
}

/**
 * Resolves `input` inside the folder whose real path is `rootReal` (see
 * {@link realRoot}), following symbolic links one segment at a time and
 * refusing any that lands outside. Segments past the deepest existing one are
 * appended as given (they do not exist yet, so they cannot be links).
 *
 * @throws PathOutsideRootError when the path escapes the root.
 * @throws ValidationError for a dangling link or a file used as a folder.
 */
export function resolveConfined(rootReal: string, input: unknown): ConfinedPath {
  const segments = confinedSegments(rootReal, input);
  let current = rootReal;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const candidate = path.join(current, segment);
    const shown = segments.slice(0, i + 1).join('/');
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(candidate);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        const absolute = path.join(current, ...segments.slice(i));
        return { absolute, relative: toRelative(rootReal, absolute), exists: false };
      }
      throw err;
    }
    if (stat.isSymbolicLink()) {
      let target: string;
      try {
        target = fs.realpathSync.native(candidate);
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'ENOENT' && code !== 'ELOOP') throw err;
        // A dangling link: refuse it either way, but say "outside" when its text points out.
        const text = fs.readlinkSync(candidate);
        if (!isInside(rootReal, path.resolve(current, text))) {
          throw new PathOutsideRootError(input, rootReal, `"${shown}" is a symbolic link that points outside the root`);
        }
        throw new ValidationError(
          `path ${describeValue(input)} cannot be used: "${shown}" is a symbolic link whose target does not exist`,
        );
      }
      if (!isInside(rootReal, target)) {
        throw new PathOutsideRootError(input, rootReal, `"${shown}" is a symbolic link that points outside the root`);
      }
      current = target;
      stat = fs.statSync(target);
    } else {
      current = candidate;
    }
    if (i < segments.length - 1 && !stat.isDirectory()) {
      throw new ValidationError(`path ${describeValue(input)} cannot be used: "${shown}" is a file, not a folder`);
    }
  }
  return { absolute: current, relative: toRelative(rootReal, current), exists: true };
}

/**
 * Checks that an open descriptor really is inside the root, by asking the
 * kernel where it points (`/proc/self/fd` on Linux). This catches a parent
 * folder swapped for a link between {@link resolveConfined} and `open`.
 * Elsewhere it falls back to comparing the descriptor's inode with the
 * expected path's.
 */
export function assertOpenedInside(fd: number, rootReal: string, expected: string, shown: unknown): void {
  let actual: string | undefined;
  try {
    actual = fs.readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, '');
  } catch {
    actual = undefined;
  }
  if (actual !== undefined) {
    if (!isInside(rootReal, actual)) {
      throw new PathOutsideRootError(shown, rootReal, 'it was redirected outside the root while being opened');
    }
    return;
  }
  const opened = fs.fstatSync(fd);
  let now: fs.Stats | undefined;
  try {
    now = fs.statSync(fs.realpathSync.native(expected));
  } catch {
    now = undefined;
  }
  if (!now || now.ino !== opened.ino || now.dev !== opened.dev) {
    throw new PathOutsideRootError(shown, rootReal, 'it changed while being opened');
  }
}

function toRelative(rootReal: string, absolute: string): string {
  const relative = path.relative(rootReal, absolute);
  return path.sep === '/' ? relative : relative.split(path.sep).join('/');
}

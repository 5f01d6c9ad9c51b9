import { ValidationError, describeValue } from '@agent-team/core';
import type { ExecutableTool, ToolContext } from '../models/index.js';
import type { Codebase, ListResult, ReadResult, SearchResult } from './codebase.js';
import { type CommandRule, type RunCommandOptions, runCommandTool } from './run-command.js';

/**
 * The file tools a model can call on a {@link Codebase}, for `runTools`:
 * `read_file`, `list_files`, `search_code`, and `write_file` when the codebase
 * allows writes. Every path is confined to the codebase root; a refusal (a
 * path outside the root, a lock held by another agent, a lost lock) is thrown
 * by `execute`, which `runTools` hands back to the model as an error result
 * it can act on.
 */
export function codebaseTools(codebase: Codebase, options: CodebaseToolsOptions = {}): ExecutableTool[] {
  const tools: ExecutableTool[] = [readFileTool(codebase), listFilesTool(codebase), searchCodeTool(codebase)];
  if (codebase.allowWrite) tools.push(writeFileTool(codebase), editFileTool(codebase));
  if (options.commands !== undefined && options.commands.length > 0) {
    tools.push(runCommandTool({ ...options, cwd: options.cwd ?? codebase.root, commands: options.commands }));
  }
  return tools;
}

export interface CodebaseToolsOptions extends Omit<RunCommandOptions, 'cwd' | 'commands'> {
  /** What `run_command` may start; without any, the tool is not offered. */
  commands?: readonly CommandRule[];
  /** Where commands run. @default the codebase root */
  cwd?: string;
}

const PATH_RULES = 'Paths are relative to the codebase root and use "/" (e.g. "src/index.ts"); absolute paths, ".." and links leading out of the root are refused.';

function readFileTool(codebase: Codebase): ExecutableTool {
  return {
    name: 'read_file',
    description:
      `Read a text file of the codebase. Returns up to \`limit\` lines starting at line \`offset\` (1-based); ` +
      `a longer file is cut and the result says which offset to read next. ${PATH_RULES}`,
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'The file, relative to the codebase root.' },
        offset: { type: 'integer', minimum: 1, description: 'First line to return (1-based). Default 1.' },
        limit: { type: 'integer', minimum: 1, maximum: 5000, description: 'Most lines to return. Default 2000.' },
      },
      required: ['path'],
      additionalProperties: false,
    },
    execute: async (args, context) => {
      abortIfAsked(context);
      const result = await codebase.read(stringArg(args, 'path'), {
        ...optionalInteger(args, 'offset'),
        ...optionalInteger(args, 'limit'),
      });
      return formatRead(result);
    },
  };
}

function listFilesTool(codebase: Codebase): ExecutableTool {
  return {
    name: 'list_files',
    description:
      'List the files and folders of a folder of the codebase (the root by default). Folders end with "/", ' +
      `symbolic links with "@"; .git, node_modules and agent scratch folders are skipped. ${PATH_RULES}`,
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'The folder, relative to the codebase root. Default: the root.' },
        recursive: { type: 'boolean', description: 'Include sub-folders. Default false.' },
        limit: { type: 'integer', minimum: 1, maximum: 10_000, description: 'Most entries to return. Default 500.' },
      },
      additionalProperties: false,
    },
    execute: async (args, context) => {
      abortIfAsked(context);
      const dir = args.path === undefined ? '.' : stringArg(args, 'path');
      const recursive = optionalBoolean(args, 'recursive');
      const result = await codebase.list(dir, {
        ...(recursive === undefined ? {} : { recursive }),
        ...optionalInteger(args, 'limit'),
      });
      return formatList(dir, result);
    },
  };
}

function searchCodeTool(codebase: Codebase): ExecutableTool {
  return {
    name: 'search_code',
    description:
      'Search the text files of the codebase for a pattern: plain text by default, a JavaScript regular expression ' +
      'with regex: true. Returns one match per line as path:line:text. Narrow it with glob ("*.ts" matches file ' +
      `names at any depth, "src/**/*.test.ts" whole paths) or path (a folder). ${PATH_RULES}`,
    parameters: {
      type: 'object',
      properties: {
        pattern: { type: 'string', minLength: 1, description: 'The text (or regular expression) to find.' },
        regex: { type: 'boolean', description: 'Treat pattern as a regular expression. Default false.' },
        ignoreCase: { type: 'boolean', description: 'Ignore case. Default false.' },
        glob: { type: 'string', description: 'Only files matching this glob.' },
        path: { type: 'string', description: 'Only under this folder, relative to the root. Default: the root.' },
        limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Most matches to return. Default 100.' },
      },
      required: ['pattern'],
      additionalProperties: false,
    },
    execute: async (args, context) => {
      abortIfAsked(context);
      const pattern = stringArg(args, 'pattern');
      const regex = optionalBoolean(args, 'regex');
      const ignoreCase = optionalBoolean(args, 'ignoreCase');
      const result = await codebase.search(pattern, {
        ...(regex === undefined ? {} : { regex }),
        ...(ignoreCase === undefined ? {} : { ignoreCase }),
        ...(args.glob === undefined ? {} : { glob: stringArg(args, 'glob') }),
        ...(args.path === undefined ? {} : { path: stringArg(args, 'path') }),
        ...optionalInteger(args, 'limit'),
      });
      return formatSearch(pattern, result);
    },
  };
}

function writeFileTool(codebase: Codebase): ExecutableTool {
  const locking = codebase.locks
    ? ` The file's lock is held for the write (waiting up to ${codebase.lockWaitMs} ms if another agent holds it); ` +
      'if it stays locked the error names the holder: work on something else and try later.'
    : '';
  return {
    name: 'write_file',
    description:
      'Write a file of the codebase: `content` becomes its whole new content (missing folders are created). ' +
      'Read the file first and send it complete, not a diff; for a change to part of a file use edit_file. ' +
      `An existing file you have not read, or that changed since you read it, is refused: read it again.${locking} ` +
      `Paths inside .git cannot be written. ${PATH_RULES}`,
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'The file, relative to the codebase root.' },
        content: { type: 'string', description: 'The complete new content of the file.' },
      },
      required: ['path', 'content'],
      additionalProperties: false,
    },
    execute: async (args, context) => {
      abortIfAsked(context);
      const result = await codebase.write(stringArg(args, 'path'), stringArg(args, 'content'), { unchangedSinceRead: true });
      return `wrote ${result.bytes} bytes to ${result.path}${result.created ? ' (new file)' : ''}`;
    },
  };
}

function editFileTool(codebase: Codebase): ExecutableTool {
  return {
    name: 'edit_file',
    description:
      'Change part of a file of the codebase: replaces old_string with new_string. old_string must match the file ' +
      'exactly (whitespace and indentation included) and occur once, unless replace_all is true; if it is not found or ' +
      'occurs several times the error says how many times and on which lines. Read the file first: a file you have ' +
      `not read, or that changed since you read it, is refused. The edit is written whole or not at all. ${PATH_RULES}`,
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'The file, relative to the codebase root.' },
        old_string: { type: 'string', minLength: 1, description: 'The exact text to replace.' },
        new_string: { type: 'string', description: 'The text to put in its place (may be empty to delete).' },
        replace_all: { type: 'boolean', description: 'Replace every occurrence. Default false.' },
      },
      required: ['path', 'old_string', 'new_string'],
      additionalProperties: false,
    },
    execute: async (args, context) => {
      abortIfAsked(context);
      const replaceAll = optionalBoolean(args, 'replace_all');
      const result = await codebase.edit(stringArg(args, 'path'), stringArg(args, 'old_string'), stringArg(args, 'new_string'), {
        ...(replaceAll === undefined ? {} : { replaceAll }),
      });
      const where = result.lines.length === 1 ? `line ${result.lines[0]}` : `lines ${result.lines.join(', ')}`;
      return `edited ${result.path}: ${result.replacements} replacement${result.replacements === 1 ? '' : 's'} at ${where}\n${result.snippet}`;
    },
  };
}

export function formatRead(result: ReadResult): string {
  const { path, content, startLine, endLine, totalLines, size } = result;
  if (endLine < startLine) {
    return totalLines === undefined
      ? `${path}: no lines from line ${startLine}`
      : `${path}: no lines from line ${startLine}; the file has ${totalLines} lines (${size} bytes)`;
  }
  const of = totalLines === undefined ? '' : ` of ${totalLines}`;
  let text = `${path} (lines ${startLine}-${endLine}${of}, ${size} bytes)\n${content}`;
  if (result.cutLine !== undefined) text += `\n[line ${result.cutLine} is too long and was cut]`;
  if (result.truncated && result.nextOffset !== undefined) {
    text += `\n[more follows: call read_file with offset ${result.nextOffset} to continue]`;
  }
  return text;
}

export function formatList(dir: string, result: ListResult): string {
  if (result.entries.length === 0) return `${dir}: empty folder`;
  const lines = result.entries.map((entry) => {
    if (entry.type === 'folder') return `${entry.path}/`;
    if (entry.type === 'symlink') return `${entry.path}@`;
    if (entry.type === 'file' && entry.size !== undefined) return `${entry.path} (${entry.size} bytes)`;
    return entry.path;
  });
  if (result.truncated) lines.push(`[listing cut at ${result.entries.length} entries: list a sub-folder, or raise limit]`);
  return lines.join('\n');
}

export function formatSearch(pattern: string, result: SearchResult): string {
  if (result.matches.length === 0) {
    return `no matches for ${JSON.stringify(pattern)} in ${result.filesSearched} files${result.truncated ? ' (search cut short)' : ''}`;
  }
  const lines = result.matches.map((m) => `${m.path}:${m.line}:${m.text}`);
  if (result.truncated) lines.push(`[results cut at ${result.matches.length} matches: narrow the search with glob or path]`);
  return lines.join('\n');
}

function abortIfAsked(context: ToolContext): void {
  context.signal?.throwIfAborted();
}

function stringArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw new ValidationError(`argument "${name}" must be a string, got ${describeValue(value)}`);
  return value;
}

function optionalInteger(args: Record<string, unknown>, name: string): Record<string, number> {
  const value = args[name];
  if (value === undefined) return {};
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValidationError(`argument "${name}" must be a whole number, got ${describeValue(value)}`);
  }
  return { [name]: value };
}

function optionalBoolean(args: Record<string, unknown>, name: string): boolean | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new ValidationError(`argument "${name}" must be true or false, got ${describeValue(value)}`);
  return value;
}

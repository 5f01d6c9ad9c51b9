import fs from 'node:fs';
import path from 'node:path';
import { type Clock, systemClock } from './clock.js';
import { WorkspaceError, errnoCode, errorMessage } from './errors.js';
import { EventLog } from './events/event-log.js';
import type { EventInput } from './events/types.js';
import { FileIO, ForeignEntryError, listDir, makeWriterId } from './fs/file-io.js';
import { randomToken } from './ids.js';
import { ChangeNotifier } from './watch/change-notifier.js';
import { InvalidOptionError, checkOptions, rules } from './options.js';

export const WORKSPACE_FORMAT = 'agent-team/workspace';
export const WORKSPACE_VERSION = 1;

/** The folders of a workspace. See docs/architecture.md for what each holds. */
export const LAYOUT = [
  'tasks',
  'state',
  'keys',
  'dependents',
  'waiting',
  'ready',
  'delayed',
  'claims',
  'transit',
  'review',
  'results',
  'failed',
  'blocked',
  'cancelled',
  'messages',
  'agents',
  'events',
  'signals',
  'quarantine',
  'tmp',
] as const;

export type WorkspaceFolder = (typeof LAYOUT)[number];

export interface WorkspaceOptions {
  /** fsync every file and the folder it lands in before an operation returns. @default false */
  durable?: boolean;
  /** Time source for leases, backoff and event timestamps. @default the system clock */
  clock?: Clock;
  /** Wake waiters with a file watcher (chokidar); off means re-scan only. @default true */
  watch?: boolean;
  /** Create the folder and its layout when missing. @default true */
  create?: boolean;
  /** Sweep temp files left by dead writers when opening. @default true */
  sweep?: boolean;
}

/** The rules of {@link WorkspaceOptions}. */
export const WORKSPACE_OPTIONS = {
  durable: rules.boolean(),
  watch: rules.boolean(),
  create: rules.boolean(),
  sweep: rules.boolean(),
  clock: rules.object({ now: rules.function() }),
};

interface TeamFile {
  format: string;
  version: number;
  createdAt: string;
}

/**
 * A workspace folder opened by this process: the paths, the file primitives,
 * the event log and the change notifier that the file-backed task queue and
 * message bus share. Several processes may open the same folder at once.
 */
export class Workspace {
  readonly root: string;
  readonly clock: Clock;
  readonly durable: boolean;
  readonly writerId: string;
  readonly io: FileIO;
  readonly events: EventLog;
  readonly notifier: ChangeNotifier;
  readonly createdAt: string;
  private closed = false;

  private constructor(root: string, options: WorkspaceOptions, team: TeamFile) {
    this.root = root;
    this.clock = options.clock ?? systemClock;
    this.durable = options.durable ?? false;
    this.writerId = makeWriterId(randomToken(3));
    this.io = new FileIO(path.join(root, 'tmp'), this.writerId, this.durable);
    this.events = new EventLog(path.join(root, 'events'), this.writerId, this.clock);
    this.notifier = new ChangeNotifier(path.join(root, 'signals'), { watch: options.watch ?? true });
    this.createdAt = team.createdAt;
  }

  /** Opens (and by default creates) the workspace at `dir`. */
  static open(dir: string, options: WorkspaceOptions = {}): Workspace {
    checkOptions(options, WORKSPACE_OPTIONS);
    if (typeof dir !== 'string' || dir.length === 0) throw new InvalidOptionError('workspace', dir, 'a folder path');
    const root = path.resolve(dir);
    const create = options.create ?? true;
    let stat = fs.statSync(root, { throwIfNoEntry: false });
    if (!stat) {
      if (!create) throw new WorkspaceError(`workspace ${root} does not exist: create it with \`agent-team init ${dir}\``);
      fs.mkdirSync(root, { recursive: true });
      stat = fs.statSync(root);
    }
    if (!stat.isDirectory()) throw new WorkspaceError(`workspace ${root} is not a folder`);
    for (const folder of LAYOUT) ensureFolder(root, folder);
    const team = readOrCreateTeamFile(root, create);
    const ws = new Workspace(root, options, team);
    for (const bell of ['tasks', 'messages']) {
      const file = path.join(root, 'signals', bell);
      if (!fs.existsSync(file)) fs.writeFileSync(file, '');
    }
    if (options.sweep ?? true) ws.io.sweepTemp();
    return ws;
  }

  /** Absolute path inside the workspace. Callers validate ids before they get here. */
  path(folder: WorkspaceFolder, ...parts: string[]): string {
    return path.join(this.root, folder, ...parts);
  }

  /** Appends a lifecycle event to this process's event log. */
  emit(event: EventInput): void {
    this.events.append(event);
  }

  /**
   * Moves a file that failed to parse to `quarantine/`, with a sidecar that
   * says why, and records a `file.quarantined` event. Returns the new path.
   */
  quarantine(file: string, reason: string): string | null {
    const rel = path.relative(this.root, file).split(path.sep).join('__');
    const stamp = `${this.clock.now().toString(36)}-${randomToken(3)}`;
    const target = this.path('quarantine', `${rel}.${stamp}`);
    if (!this.io.move(file, target)) return null;
    const note = { file: path.relative(this.root, file), reason, at: new Date(this.clock.now()).toISOString() };
    this.io.writeAtomic(`${target}.reason.json`, `${JSON.stringify(note, null, 2)}\n`);
    this.emit({ type: 'file.quarantined', file: note.file, quarantinedAs: path.relative(this.root, target), reason });
    return target;
  }

  /**
   * A file's text, or null when it is missing; something that is not a
   * readable regular file there (a folder, symlink, FIFO, a file this process
   * may not read) is quarantined with the reason and reads as missing.
   */
  readFileOrQuarantine(file: string, what: string): string | null {
    try {
      return this.io.readText(file);
    } catch (err) {
      if (!(err instanceof ForeignEntryError)) throw err;
      this.quarantine(file, err.kind === 'unreadable' ? `${what} is not readable by this process` : `${what} is ${err.kind}, not a file`);
      return null;
    }
  }

  /** Files in `quarantine/` with the reason each was moved there. */
  listQuarantined(): Array<{ name: string; file: string; reason: string; at: string }> {
    const out: Array<{ name: string; file: string; reason: string; at: string }> = [];
    for (const name of listDir(this.path('quarantine'))) {
      if (!name.endsWith('.reason.json')) continue;
      try {
        const note = JSON.parse(fs.readFileSync(this.path('quarantine', name), 'utf8')) as {
          file: string;
          reason: string;
          at: string;
        };
        out.push({ name: name.slice(0, -'.reason.json'.length), ...note });
      } catch {
        out.push({ name, file: '?', reason: 'reason file unreadable', at: '' });
      }
    }
    return out;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.notifier.close();
    this.events.close();
    this.io.close();
  }
}

/**
 * Creates a layout folder; something else in its place (a file, a symlink, a
 * FIFO) is moved aside into quarantine/ first, so one foreign entry cannot
 * keep every process from opening the workspace.
 */
function ensureFolder(root: string, folder: string): void {
  const target = path.join(root, folder);
  const st = fs.lstatSync(target, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) {
    const stamp = `${Date.now().toString(36)}-${randomToken(3)}`;
    const aside = folder === 'quarantine' ? path.join(root, `quarantine.${stamp}.not-a-folder`) : path.join(root, 'quarantine', `${folder}.${stamp}.not-a-folder`);
    if (folder !== 'quarantine') fs.mkdirSync(path.join(root, 'quarantine'), { recursive: true });
    fs.renameSync(target, aside);
    process.emitWarning(`${target} was not a folder; moved to ${aside}`, { code: 'AGENT_TEAM_QUARANTINE' });
  }
  fs.mkdirSync(target, { recursive: true });
}

function readOrCreateTeamFile(root: string, create: boolean): TeamFile {
  const file = path.join(root, 'team.json');
  let text: string | null = null;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  if (text === null) {
    if (!create) throw new WorkspaceError(`${root} is not an agent-team workspace (no team.json)`);
    const team: TeamFile = { format: WORKSPACE_FORMAT, version: WORKSPACE_VERSION, createdAt: new Date().toISOString() };
    const io = new FileIO(path.join(root, 'tmp'), makeWriterId(randomToken(3)));
    // Written once: if another process wins the race, read its file instead.
    if (io.publishExclusive(file, `${JSON.stringify(team, null, 2)}\n`)) return team;
    text = fs.readFileSync(file, 'utf8');
  }
  let team: TeamFile;
  try {
    team = JSON.parse(text) as TeamFile;
  } catch (err) {
    throw new WorkspaceError(`${file} is not valid JSON (${errorMessage(err)}): restore it or remove the workspace`);
  }
  if (team.format !== WORKSPACE_FORMAT) {
    throw new WorkspaceError(`${file} has format ${JSON.stringify(team.format)}, expected "${WORKSPACE_FORMAT}"`);
  }
  if (team.version !== WORKSPACE_VERSION) {
    throw new WorkspaceError(
      `workspace format version ${team.version} is not supported by this agent-team (which reads version ${WORKSPACE_VERSION}); upgrade agent-team or use a new workspace`,
    );
  }
  return team;
}

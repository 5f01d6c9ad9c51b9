import type { TaskCounts, TeamEvent } from '@agent-team/core';
import { colors } from '../team/summary.js';
import { useColor } from './color.js';

export interface ProgressOptions {
  /** Where to write. @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Colours and the redrawn status line. @default on for a terminal that shows colours (see {@link useColor}) */
  color?: boolean;
  /** Print a line per task event. @default true */
  lines?: boolean;
}

interface EventSource {
  on(event: '*', listener: (event: TeamEvent) => void): unknown;
  off(event: '*', listener: (event: TeamEvent) => void): unknown;
  /** The queue the events come from (an AgentTeam has one): the status line's counts come from it. */
  readonly queue?: { counts(): Promise<TaskCounts> };
}

export { useColor };

/** What the status line shows. */
export interface StatusCounts {
  done: number;
  total: number;
  running: number;
  review: number;
  failed: number;
  tokens: number;
}

/**
 * The status line, fitted to `width` columns so a narrow terminal never wraps
 * it (a wrapped line would not be redrawn in place): the bar shrinks, then
 * goes, then the less important parts, and the rest is clipped.
 */
export function statusLine(s: StatusCounts, width: number, c: ReturnType<typeof colors> = colors(false)): string {
  const room = Math.max(1, width - 1);
  const parts = [
    `${s.done}/${s.total} done`,
    `${s.running} running`,
    ...(s.review > 0 ? [`${s.review} in review`] : []),
    ...(s.failed > 0 ? [`${s.failed} failed`] : []),
    ...(s.tokens > 0 ? [`${s.tokens.toLocaleString('en-US')} tokens`] : []),
  ];
  const dropOrder = [`${s.tokens.toLocaleString('en-US')} tokens`, `${s.review} in review`, `${s.running} running`];
  let text = parts.join(' · ');
  const barRoom = room - text.length - 1;
  if (barRoom >= 10) {
    const barWidth = Math.min(24, barRoom);
    const filled = s.total > 0 ? Math.round((Math.min(s.done, s.total) / s.total) * barWidth) : 0;
    return `${c.cyan(`${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}`)} ${text}`;
  }
  for (const drop of dropOrder) {
    if (text.length <= room) break;
    const at = parts.indexOf(drop);
    if (at !== -1) parts.splice(at, 1);
    text = parts.join(' · ');
  }
  return text.length <= room ? text : `${text.slice(0, room - 1).trimEnd()}…`;
}

/**
 * Live progress of a team run: one line per task event, and on a terminal a
 * status line (done of all tasks in the queue, running, in review, failed,
 * tokens) redrawn in place and fitted to the terminal's width. Returns a
 * function that detaches it.
 */
export function attachProgress(source: EventSource, options: ProgressOptions = {}): () => void {
  const stream = options.stream ?? process.stderr;
  const color = options.color ?? useColor(stream);
  const c = colors(color);
  const live = color && Boolean(stream.isTTY);
  const started = Date.now();
  // Without a queue to ask, counts come from the events seen.
  const done = new Set<string>();
  const failed = new Set<string>();
  const running = new Set<string>();
  const review = new Set<string>();
  const known = new Set<string>();
  let counts: TaskCounts | null = null;
  let tokens = 0;
  let statusShown = false;
  let attached = true;

  const clearStatus = () => {
    if (live && statusShown) stream.write('\r\x1b[2K');
    statusShown = false;
  };
  const drawStatus = () => {
    if (!live || !attached) return;
    const s: StatusCounts = counts
      ? {
          done: counts.completed,
          total: counts.total,
          running: counts.claimed,
          review: counts.review,
          failed: counts.failed + counts.blocked + counts.cancelled,
          tokens,
        }
      : { done: done.size, total: known.size, running: running.size, review: review.size, failed: failed.size, tokens };
    stream.write(`\r\x1b[2K${statusLine(s, stream.columns ?? 80, c)}`);
    statusShown = true;
  };
  // The queue's counts, refreshed after task events: one read at a time, and one more if events came meanwhile.
  let refreshing = false;
  let stale = false;
  const refreshCounts = () => {
    if (!source.queue || !live) return;
    if (refreshing) {
      stale = true;
      return;
    }
    refreshing = true;
    void source.queue
      .counts()
      .then((fresh) => {
        counts = fresh;
        drawStatus();
      })
      .catch(() => {})
      .finally(() => {
        refreshing = false;
        if (stale && attached) {
          stale = false;
          refreshCounts();
        }
      });
  };
  const line = (who: string, what: string, detail: string) => {
    if (options.lines === false) return;
    clearStatus();
    const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
    stream.write(`${c.dim(`${t}s`)}  ${who.padEnd(12)} ${what} ${detail}\n`);
  };

  const listener = (event: TeamEvent) => {
    const id = event.taskId ?? '';
    const agent = event.agentId ?? '';
    switch (event.type) {
      case 'task.added':
        known.add(id);
        line('', c.dim('added    '), id);
        break;
      case 'task.claimed':
        running.add(id);
        line(agent, c.cyan('claimed  '), `${id}${event.attempt > 1 ? c.dim(` (attempt ${event.attempt})`) : ''}`);
        break;
      case 'task.review':
        running.delete(id);
        review.add(id);
        line(agent, c.yellow('in review'), id);
        break;
      case 'task.reopened':
        review.delete(id);
        line('', c.yellow('reopened '), `${id}: ${text(event.feedback).slice(0, 80)}`);
        break;
      case 'task.completed':
        running.delete(id);
        review.delete(id);
        done.add(id);
        line(agent, c.green('completed'), `${id}${event.approvedBy ? c.dim(` (approved by ${text(event.approvedBy)})`) : ''}`);
        break;
      case 'task.retried':
      case 'task.requeued':
      case 'task.released':
      case 'task.deferred':
        running.delete(id);
        line(agent, c.yellow(event.type.slice(5).padEnd(9)), `${id}${'error' in event && event.error ? `: ${text(event.error).slice(0, 80)}` : ''}`);
        break;
      case 'task.failed':
      case 'task.blocked':
      case 'task.cancelled':
        running.delete(id);
        review.delete(id);
        failed.add(id);
        line(agent, c.red(event.type.slice(5).padEnd(9)), `${id}: ${text(event.reason).slice(0, 100)}`);
        break;
      case 'plan.created':
        line(agent, c.bold('planned  '), `${event.tasks.length} tasks`);
        break;
      case 'review.verdict':
        line(agent, event.verdict === 'approve' ? c.green('approved ') : c.yellow('changes  '), `${id}${event.verdict === 'approve' ? '' : `: ${text(event.feedback).slice(0, 80)}`}`);
        break;
      case 'command.output':
        line(agent, c.dim('output   '), c.dim(`${id}: ${text(event.line).slice(0, 160)}`));
        break;
      case 'agent.error':
        line(agent, c.red('error    '), `${id ? `${id}: ` : ''}${text(event.error).slice(0, 200)}`);
        break;
      case 'model.call':
        tokens += event.inputTokens + event.outputTokens;
        break;
      default:
        return;
    }
    if (event.type.startsWith('task.')) refreshCounts();
    drawStatus();
  };
  source.on('*', listener);
  refreshCounts();
  return () => {
    attached = false;
    source.off('*', listener);
    clearStatus();
  };
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

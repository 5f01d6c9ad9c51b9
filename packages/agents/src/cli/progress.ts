import type { TeamEvent } from '@agent-team/core';
import { colors } from '../team/summary.js';

export interface ProgressOptions {
  /** Where to write. @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Colours and the redrawn status line. @default on for a terminal unless NO_COLOR is set */
  color?: boolean;
  /** Print a line per task event. @default true */
  lines?: boolean;
}

interface EventSource {
  on(event: '*', listener: (event: TeamEvent) => void): unknown;
  off(event: '*', listener: (event: TeamEvent) => void): unknown;
}

/** Whether to colour output: a terminal, and NO_COLOR not set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/**
 * Live progress of a team run: one line per task event, and on a terminal a
 * status line (done / running / in review / failed, tokens) redrawn in place.
 * Returns a function that detaches it.
 */
export function attachProgress(source: EventSource, options: ProgressOptions = {}): () => void {
  const stream = options.stream ?? process.stderr;
  const color = options.color ?? useColor(stream);
  const c = colors(color);
  const live = color && Boolean(stream.isTTY);
  const started = Date.now();
  const known = new Set<string>();
  const done = new Set<string>();
  const failed = new Set<string>();
  const running = new Set<string>();
  const review = new Set<string>();
  let tokens = 0;
  let statusShown = false;

  const clearStatus = () => {
    if (live && statusShown) stream.write('\r\x1b[2K');
    statusShown = false;
  };
  const drawStatus = () => {
    if (!live) return;
    const total = Math.max(known.size, 1);
    const width = 24;
    const filled = Math.round((done.size / total) * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    stream.write(
      `\r\x1b[2K${c.cyan(bar)} ${done.size}/${known.size} done · ${running.size} running · ${review.size} in review · ${failed.size} failed · ${tokens.toLocaleString('en-US')} tokens`,
    );
    statusShown = true;
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
        line(agent, c.cyan('claimed  '), `${id}${event.attempt && event.attempt > 1 ? c.dim(` (attempt ${event.attempt})`) : ''}`);
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
        line(agent, c.bold('planned  '), `${Array.isArray(event.tasks) ? event.tasks.length : 0} tasks`);
        break;
      case 'review.verdict':
        line(agent, event.verdict === 'approve' ? c.green('approved ') : c.yellow('changes  '), `${id}${event.verdict === 'approve' ? '' : `: ${text(event.feedback).slice(0, 80)}`}`);
        break;
      case 'command.output':
        line(agent, c.dim('output   '), c.dim(`${id}: ${text(event.line).slice(0, 160)}`));
        break;
      case 'model.call':
        tokens += Number(event.inputTokens ?? 0) + Number(event.outputTokens ?? 0);
        break;
      default:
        return;
    }
    drawStatus();
  };
  source.on('*', listener);
  return () => {
    source.off('*', listener);
    clearStatus();
  };
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

import type { colors } from '../team/summary.js';

export type Colors = ReturnType<typeof colors>;

/** "3 s ago", "2 min ago", "1 h ago". */
export function ago(ms: number, now = Date.now()): string {
  const d = Math.max(0, now - ms);
  if (d < 1000) return 'just now';
  if (d < 60_000) return `${Math.round(d / 1000)} s ago`;
  if (d < 3_600_000) return `${Math.round(d / 60_000)} min ago`;
  return `${Math.round(d / 3_600_000)} h ago`;
}

export function clipLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

// eslint-disable-next-line no-control-regex -- matching terminal colour codes is the point
const ANSI = /\x1b\[[0-9;]*m/g;

/** Left-aligned columns; cells may carry colour codes (their width is measured without them). */
export function table(rows: string[][], gap = 2): string {
  const visible = (s: string) => s.replace(ANSI, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell) + gap)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

export function statusColor(c: Colors, status: string): (text: string) => string {
  switch (status) {
    case 'completed':
      return c.green;
    case 'failed':
    case 'blocked':
    case 'cancelled':
      return c.red;
    case 'claimed':
    case 'working':
      return c.cyan;
    case 'review':
    case 'delayed':
      return c.yellow;
    default:
      return (t: string) => t;
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

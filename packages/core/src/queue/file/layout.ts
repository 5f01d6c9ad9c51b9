import type { TaskSpec } from '../types.js';

/**
 * Names inside the file backend's folders. Every name is built from ids that
 * were validated (`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`) plus separators that
 * ids cannot contain (`@`, `~`), so names parse back unambiguously.
 */

/** `ready/<lane>/`: one lane per (type, requires) so claimers list only what they can do. */
export function laneOf(spec: Pick<TaskSpec, 'type' | 'requires'>): string {
  return spec.requires ? `${spec.type}@${spec.requires}` : spec.type;
}

export function parseLane(lane: string): { type: string; requires: string | null } {
  const at = lane.indexOf('@');
  return at === -1 ? { type: lane, requires: null } : { type: lane.slice(0, at), requires: lane.slice(at + 1) };
}

/** Priority as 7 digits, inverted so that a plain string sort puts the highest first. */
export function priorityKey(priority: number): string {
  return String(1_000_000 - priority).padStart(7, '0');
}

/** `<priority key>-<seq>-<id>`: sorting the names gives priority, then first-in first-out. */
export function markerName(spec: Pick<TaskSpec, 'priority' | 'seq' | 'id'>): string {
  return `${priorityKey(spec.priority)}-${spec.seq}-${spec.id}`;
}

export function idFromMarker(marker: string): string {
  // priority key (7 digits) + '-' + seq (base 36, no '-') + '-' + id
  const second = marker.indexOf('-', 8);
  return marker.slice(second + 1);
}

/** `delayed/<not-before>~<lane>~<marker>`: sorted by due time; carries where it goes next. */
export function delayedName(notBefore: number, lane: string, marker: string): string {
  return `${Math.max(0, Math.floor(notBefore)).toString(36).padStart(9, '0')}~${lane}~${marker}`;
}

export function parseDelayedName(name: string): { notBefore: number; lane: string; marker: string } | null {
  const parts = name.split('~');
  if (parts.length !== 3) return null;
  const notBefore = Number.parseInt(parts[0] as string, 36);
  if (!Number.isFinite(notBefore)) return null;
  return { notBefore, lane: parts[1] as string, marker: parts[2] as string };
}

/**
 * `transit/<id>~<origin>~<time>~<random>`: a task between two states. Whoever
 * moves a task's marker here owns the transition; if it dies midway,
 * `recover()` finds the entry after a timeout and finishes or undoes it.
 */
export function transitName(id: string, origin: TransitOrigin, now: number, random: string): string {
  return `${id}~${origin}~${Math.floor(now).toString(36)}~${random}`;
}

export type TransitOrigin =
  | 'add'
  | 'complete'
  | 'fail'
  | 'release'
  | 'reap'
  | 'cancel'
  | 'block'
  | 'approve'
  | 'reopen'
  | 'retry'
  | 'repair';

export function parseTransitName(name: string): { id: string; origin: TransitOrigin; at: number } | null {
  const parts = name.split('~');
  if (parts.length !== 4) return null;
  const at = Number.parseInt(parts[2] as string, 36);
  if (!Number.isFinite(at)) return null;
  return { id: parts[0] as string, origin: parts[1] as TransitOrigin, at };
}

import { createHash } from 'node:crypto';
import type { Workspace } from '../../workspace.js';
import type { TaskSpec } from '../types.js';
import { FINAL_FOLDER, type FinalStatus } from './records.js';
import { type TransitOrigin, laneOf, markerName, transitName } from './layout.js';

/** The task queue's folders of a workspace. */
export type TaskFolder =
  | 'tasks'
  | 'state'
  | 'keys'
  | 'dependents'
  | 'waiting'
  | 'ready'
  | 'delayed'
  | 'claims'
  | 'transit'
  | 'review'
  | 'results'
  | 'failed'
  | 'blocked'
  | 'cancelled';

/**
 * Where each piece of a task lives in the workspace. Ids reach here validated,
 * so plain concatenation is safe (and cheaper than path.join on the hot path).
 */
export class TaskPaths {
  readonly d: Record<TaskFolder, string>;

  constructor(ws: Workspace) {
    this.d = {
      tasks: ws.path('tasks'),
      state: ws.path('state'),
      keys: ws.path('keys'),
      dependents: ws.path('dependents'),
      waiting: ws.path('waiting'),
      ready: ws.path('ready'),
      delayed: ws.path('delayed'),
      claims: ws.path('claims'),
      transit: ws.path('transit'),
      review: ws.path('review'),
      results: ws.path('results'),
      failed: ws.path('failed'),
      blocked: ws.path('blocked'),
      cancelled: ws.path('cancelled'),
    };
  }

  spec(id: string): string {
    return `${this.d.tasks}/${id}.json`;
  }
  state(id: string): string {
    return `${this.d.state}/${id}.json`;
  }
  claim(id: string): string {
    return `${this.d.claims}/${id}`;
  }
  waiting(id: string): string {
    return `${this.d.waiting}/${id}`;
  }
  lane(lane: string): string {
    return `${this.d.ready}/${lane}`;
  }
  ready(spec: TaskSpec): string {
    return `${this.d.ready}/${laneOf(spec)}/${markerName(spec)}`;
  }
  delayed(name: string): string {
    return `${this.d.delayed}/${name}`;
  }
  dependents(id: string): string {
    return `${this.d.dependents}/${id}`;
  }
  final(status: FinalStatus, id: string): string {
    return `${this.d[FINAL_FOLDER[status]]}/${id}.json`;
  }
  transit(id: string, origin: TransitOrigin, now: number, random: string): string {
    return `${this.d.transit}/${transitName(id, origin, now, random)}`;
  }
  key(key: string): string {
    return `${this.d.keys}/${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
  }
}

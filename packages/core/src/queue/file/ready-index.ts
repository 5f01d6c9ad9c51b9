import path from 'node:path';
import { listDir } from '../../fs/file-io.js';

/**
 * This process's view of the `ready/<lane>/` folders: a sorted listing per
 * lane, consumed front to back, so a claim does not list the folder each
 * time (contract 7). A listing is refreshed when it runs out, or when it is
 * marked stale (a ring from another process, a timer) and enough time has
 * passed since the last listing: at least 20 times what that listing cost, so
 * at 100,000 ready tasks relisting stays a small share of the work.
 * Markers this process creates are inserted directly.
 */
export class ReadyIndex {
  private readonly lanes = new Map<string, LaneCache>();
  private laneNames: string[] = [];
  private lanesListedAt = -Infinity;
  private lanesStale = true;

  constructor(private readonly readyDir: string) {}

  /** Lanes present on disk (relisted at most every 250 ms unless stale). */
  knownLanes(now: number): string[] {
    if (this.lanesStale || now - this.lanesListedAt > 250) {
      this.laneNames = listDir(this.readyDir);
      this.lanesListedAt = now;
      this.lanesStale = false;
    }
    return this.laneNames;
  }

  /** Something may have changed on disk: allow relisting. */
  markStale(): void {
    this.lanesStale = true;
    for (const lane of this.lanes.values()) lane.stale = true;
  }

  lane(name: string): LaneCache {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = new LaneCache(path.join(this.readyDir, name));
      this.lanes.set(name, lane);
      if (!this.laneNames.includes(name)) this.laneNames = [...this.laneNames, name];
    }
    return lane;
  }

  /** Records a marker this process just created. */
  noteAdded(lane: string, marker: string): void {
    this.lane(lane).insert(marker);
  }
}

export class LaneCache {
  names: string[] = [];
  pos = 0;
  listedAt = -Infinity;
  private cost = 0;
  stale = true;
  /** Recent collisions with other claimers; while positive, picks are spread out. */
  contention = 0;

  constructor(readonly dir: string) {}

  get exhausted(): boolean {
    return this.pos >= this.names.length;
  }

  /** Relist when empty (once per claim call) or when stale and not too soon. */
  shouldRelist(now: number): boolean {
    if (this.exhausted) return true;
    return this.stale && now - this.listedAt >= Math.max(5, this.cost * 20);
  }

  relist(now: number): void {
    const started = performance.now();
    const names = listDir(this.dir);
    names.sort();
    this.names = names;
    this.pos = 0;
    this.listedAt = now;
    this.stale = false;
    this.cost = performance.now() - started;
  }

  /** The next candidate. Under contention, a random one of the first few of equal priority. */
  head(): string | undefined {
    if (this.pos >= this.names.length) return undefined;
    if (this.contention > 0) {
      const first = this.names[this.pos] as string;
      const prio = first.slice(0, 7);
      const span = Math.min(8, this.names.length - this.pos);
      const pick = this.pos + Math.floor(Math.random() * span);
      const chosen = this.names[pick] as string;
      if (pick !== this.pos && chosen.startsWith(prio)) {
        this.names[pick] = first;
        this.names[this.pos] = chosen;
      }
    }
    return this.names[this.pos];
  }

  /** Drops the current head (claimed, or found gone). */
  advance(): void {
    this.pos += 1;
    if (this.pos > 4096 && this.pos * 2 > this.names.length) {
      this.names = this.names.slice(this.pos);
      this.pos = 0;
    }
  }

  insert(marker: string): void {
    const names = this.names;
    if (names.length === this.pos || (names[names.length - 1] as string) < marker) {
      names.push(marker);
      return;
    }
    let lo = this.pos;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((names[mid] as string) < marker) lo = mid + 1;
      else hi = mid;
    }
    if (names[lo] !== marker) names.splice(lo, 0, marker);
  }
}

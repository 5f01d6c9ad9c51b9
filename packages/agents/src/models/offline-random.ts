import { createHash } from 'node:crypto';

/** sha256 (hex) of the JSON of `parts`: the offline model's only source of variety. */
export function digest(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * A small deterministic PRNG (sfc32) seeded from a hex digest. The offline
 * model draws every choice from one of these, so the same seed and request
 * always give the same answer: no Math.random, no clock.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(hexSeed: string) {
    const hex = hexSeed.length >= 32 ? hexSeed : digest(hexSeed);
    this.a = parseInt(hex.slice(0, 8), 16) >>> 0;
    this.b = parseInt(hex.slice(8, 16), 16) >>> 0;
    this.c = parseInt(hex.slice(16, 24), 16) >>> 0;
    this.d = parseInt(hex.slice(24, 32), 16) >>> 0;
    for (let i = 0; i < 12; i++) this.next(); // mix the seed before use
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** `count` distinct items (fewer if the list is shorter), in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items).slice(0, Math.max(0, count));
  }
}

/** A uniform number in [0, 1) from a digest alone, for one-off decisions (failures, latency). */
export function unitFrom(...parts: unknown[]): number {
  return parseInt(digest(...parts).slice(0, 13), 16) / 2 ** 52;
}

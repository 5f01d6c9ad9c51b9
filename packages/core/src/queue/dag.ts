import type { TaskSpec } from './types.js';

/** A cycle among the batch's tasks, as a path that starts and ends on the same id, or null. */
export function findCycle(specs: ReadonlyMap<string, Pick<TaskSpec, 'dependencies'>>): string[] | null {
  // Iterative depth-first search: a plan of 100,000 chained tasks must not overflow the stack.
  const state = new Map<string, 1 | 2>(); // 1 on the current path, 2 done
  for (const root of specs.keys()) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const next: number[] = [0];
    state.set(root, 1);
    while (path.length > 0) {
      const id = path[path.length - 1] as string;
      const deps = specs.get(id)?.dependencies ?? [];
      const i = next[next.length - 1] as number;
      if (i >= deps.length) {
        state.set(id, 2);
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = i + 1;
      const dep = deps[i] as string;
      if (!specs.has(dep)) continue;
      const seen = state.get(dep);
      if (seen === 1) return [...path.slice(path.indexOf(dep)), dep];
      if (seen === undefined) {
        state.set(dep, 1);
        path.push(dep);
        next.push(0);
      }
    }
  }
  return null;
}

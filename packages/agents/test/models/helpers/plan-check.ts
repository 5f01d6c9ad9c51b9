/** The lead's checks on a plan, as a test oracle: a DAG of kebab-case tasks ending in a summary. */
export interface PlanTask {
  id: string;
  description: string;
  dependencies: string[];
  requires?: string;
  review?: boolean;
}

export function planProblems(plan: { tasks?: PlanTask[] }): string[] {
  const problems: string[] = [];
  const tasks = plan.tasks ?? [];
  if (tasks.length < 3 || tasks.length > 7) problems.push(`has ${tasks.length} tasks, expected 3-7`);
  const seen = new Set<string>();
  for (const task of tasks) {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(task.id)) problems.push(`id "${task.id}" is not kebab-case`);
    if (task.id.length > 48) problems.push(`id "${task.id}" is too long`);
    if (seen.has(task.id)) problems.push(`id "${task.id}" is used twice`);
    if (typeof task.description !== 'string' || task.description.length < 5) problems.push(`task "${task.id}" has no description`);
    for (const dep of task.dependencies) {
      if (!seen.has(dep)) problems.push(`task "${task.id}" depends on "${dep}", which is not an earlier task`);
    }
    if (task.requires !== undefined && !['security', 'performance', 'docs'].includes(task.requires)) {
      problems.push(`task "${task.id}" requires unknown "${task.requires}"`);
    }
    seen.add(task.id);
  }
  const last = tasks[tasks.length - 1];
  if (last) {
    const others = tasks.slice(0, -1).map((t) => t.id);
    if (!others.every((id) => last.dependencies.includes(id))) problems.push(`the final task "${last.id}" does not depend on all others`);
    if (!/summar|synthes/i.test(last.description)) problems.push('the final task is not a summary');
  }
  return problems;
}

/** Cycle check only (for plans whose dependencies may point forward). */
export function hasCycle(tasks: PlanTask[]): boolean {
  const deps = new Map(tasks.map((t) => [t.id, t.dependencies]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): boolean => {
    if (state.get(id) === 'done') return false;
    if (state.get(id) === 'visiting') return true;
    state.set(id, 'visiting');
    for (const dep of deps.get(id) ?? []) if (deps.has(dep) && visit(dep)) return true;
    state.set(id, 'done');
    return false;
  };
  return tasks.some((t) => visit(t.id));
}

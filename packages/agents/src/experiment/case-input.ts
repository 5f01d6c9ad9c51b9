import type { TeamSpec } from '../cli/spec.js';
import type { CaseSpec } from './matrix.js';

/** The spec a case runs: the cell's spec with the case's input as the work to do. */
export function specForCase(cellSpec: TeamSpec, c: CaseSpec): TeamSpec {
  const { goal: _g, tasks: _t, moa, ...rest } = cellSpec;
  if (c.goal !== undefined) return { ...rest, goal: c.goal };
  if (c.task !== undefined) return { ...rest, tasks: [{ id: 'case', description: c.task }] };
  if (c.tasks !== undefined) return { ...rest, tasks: c.tasks as TeamSpec['tasks'] };
  // A moa case: the spec's first moa entry is the template (proposers, aggregator, mode), the case gives the prompt.
  const template = moa?.[0] ?? { prompt: '', proposers: { samples: 3 } };
  const { dependencies: _d, ...kept } = template;
  return { ...rest, moa: [{ ...kept, id: 'case', prompt: c.moa as string }] };
}


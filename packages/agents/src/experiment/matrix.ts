import fs from 'node:fs';
import path from 'node:path';
import { ID_PATTERN, ValidationError } from '@agent-team/core';
import YAML from 'yaml';
import { z } from 'zod';
import { type TeamSpec, SpecError, loadSpec, validateSpec } from '../cli/spec.js';
import { specForCase } from './case-input.js';
import { MatrixError } from './errors.js';

/**
 * The experiment matrix file: a team spec, a set of cases, axes whose every
 * combination is a cell (each axis an override path on the spec), how a
 * case's outcome is scored, and the run's concurrency, budget and cache. See
 * docs/experiments.md.
 */

const id = z.string().regex(ID_PATTERN, 'must be 1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit');
const field = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_.-]+)?$/, 'must be result, json, status or tasks.<task id>');
const duration = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h)$/, 'must be a number of ms, or a duration like "90s", "10m"'),
]);

const scorerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('exact'), id: id.optional(), field: field.optional(), expected: z.unknown().optional(), ignoreCase: z.boolean().optional(), trim: z.boolean().optional() }).strict(),
  z
    .object({
      kind: z.literal('contains'),
      id: id.optional(),
      field: field.optional(),
      expected: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
      ignoreCase: z.boolean().optional(),
    })
    .strict(),
  z.object({ kind: z.literal('regex'), id: id.optional(), field: field.optional(), pattern: z.string().min(1), flags: z.string().regex(/^[imsu]*$/, 'flags may be i, m, s, u').optional() }).strict(),
  z.object({ kind: z.literal('json-schema'), id: id.optional(), field: field.optional(), schema: z.record(z.string(), z.unknown()) }).strict(),
  z
    .object({
      kind: z.literal('command'),
      id: id.optional(),
      command: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
      timeout: duration.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('judge'),
      id: id.optional(),
      model: z.string().min(1),
      rubric: z.string().min(1),
      field: field.optional(),
      maxTokens: z.number().int().positive().optional(),
    })
    .strict(),
]);

export type ScorerSpec = z.infer<typeof scorerSchema> & { id: string };

const axisValue = z.union([z.string(), z.number(), z.boolean(), z.null(), z.record(z.string(), z.unknown()), z.array(z.unknown())]);

const matrixSchema = z
  .object({
    version: z.literal(1),
    /** Names the experiment in its results (default: the matrix file's name). */
    name: id.optional(),
    /** The team spec file (relative to the matrix file); each cell overrides parts of it. */
    spec: z.string().min(1),
    /** A JSONL file of cases (relative to the matrix file), or the cases inline. */
    cases: z.union([z.string().min(1), z.array(z.unknown()).min(1)]),
    /** Axes: an override path on the spec and its values. Every combination is a cell. */
    matrix: z.record(z.string(), z.array(axisValue)).optional(),
    score: z.array(scorerSchema).min(1, 'give at least one scorer (exact, contains, regex, json-schema, command or judge)'),
    /** Cases run at once by each experiment process. @default 2 */
    concurrency: z.number().int().min(1).max(64).optional(),
    budget: z.object({ maxTokens: z.number().int().positive().optional(), maxUsd: z.number().positive().optional() }).strict().optional(),
    cache: z.object({ mode: z.enum(['off', 'record', 'replay', 'auto']), dir: z.string().min(1) }).strict().optional(),
    /** The experiment's folder (queue, case workspaces, results), relative to the matrix file. */
    workspace: z.string().min(1).optional(),
    /** Lease of a case's claim; a killed process's case is taken over once it expires. @default 30000 */
    leaseMs: z.number().int().min(200).optional(),
  })
  .strict();

const caseSchema = z
  .object({
    id,
    goal: z.string().min(1).optional(),
    task: z.string().min(1).optional(),
    tasks: z.array(z.record(z.string(), z.unknown())).min(1).optional(),
    moa: z.string().min(1).optional(),
    expected: z.unknown().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type CaseSpec = z.infer<typeof caseSchema>;

export type AxisValue = z.infer<typeof axisValue>;

/** One combination of axis values. */
export interface Cell {
  id: string;
  /** Axis path -> value, in the matrix's axis order. */
  settings: Record<string, AxisValue>;
  /** The spec with this cell's overrides (before a case's input is put in). */
  spec: TeamSpec;
  /** The `seed` axis's value, passed on every model request of the cell. */
  seed?: number;
}

export interface Matrix {
  name: string;
  /** The matrix file (or '(inline)'). */
  file: string;
  /** Folder relative paths are resolved from. */
  baseDir: string;
  specFile: string;
  /** The folder of the spec file: its own relative paths resolve from here. */
  specDir: string;
  spec: TeamSpec;
  cases: CaseSpec[];
  axes: Array<{ path: string; values: AxisValue[] }>;
  cells: Cell[];
  scorers: ScorerSpec[];
  concurrency: number;
  budget?: { maxTokens?: number; maxUsd?: number };
  cache: { mode: 'off' | 'record' | 'replay' | 'auto'; dir: string } | null;
  workspace?: string;
  leaseMs: number;
}

/** Paths the experiment itself decides: a cell may not override them. */
const RESERVED = new Set(['workspace', 'cache', 'version']);
/** Sections of the spec an override may create when the spec leaves them out. */
const CREATABLE = new Set(['budget', 'team']);

/** Reads and validates a matrix file (YAML or JSON), its spec and its cases. Throws {@link MatrixError}. */
export function loadMatrix(file: string): Matrix {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    throw new MatrixError(file, [`cannot read it: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`]);
  }
  let data: unknown;
  try {
    data = path.extname(abs).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new MatrixError(file, [`not valid ${path.extname(abs) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`]);
  }
  return validateMatrix(data, { file, baseDir: path.dirname(abs), name: path.basename(abs).replace(/\.[^.]+$/, '') });
}

/**
 * Validates a matrix given as data (the API's way in): relative paths resolve
 * from `baseDir`. Every cell is applied to the spec and checked with every
 * kind of case, so a bad override fails here, before anything runs.
 */
export function validateMatrix(data: unknown, options: { file?: string; baseDir?: string; name?: string } = {}): Matrix {
  const file = options.file ?? '(inline matrix)';
  const baseDir = path.resolve(options.baseDir ?? process.cwd());
  const parsed = matrixSchema.safeParse(data);
  if (!parsed.success) throw new MatrixError(file, parsed.error.issues.map((issue) => describeIssue(issue)));
  const m = parsed.data;
  const problems: string[] = [];

  const specFile = path.resolve(baseDir, m.spec);
  let spec: TeamSpec;
  try {
    spec = loadSpec(specFile);
  } catch (err) {
    if (err instanceof SpecError) throw new MatrixError(file, [`spec: ${err.message}`]);
    throw err;
  }
  const cases = loadCases(m.cases, baseDir, problems);

  // Axes.
  const axes: Array<{ path: string; values: AxisValue[] }> = [];
  for (const [axis, values] of Object.entries(m.matrix ?? {})) {
    const where = `matrix.${axis}`;
    if (values.length === 0) {
      problems.push(`${where}: an axis needs at least one value`);
      continue;
    }
    const seen = new Set<string>();
    for (const v of values) {
      const key = JSON.stringify(v);
      if (seen.has(key)) problems.push(`${where}: the value ${key} is listed twice`);
      seen.add(key);
    }
    const pathProblem = overridePathProblem(axis);
    if (pathProblem) {
      problems.push(`${where}: ${pathProblem}`);
      continue;
    }
    if (axis === 'seed' && values.some((v) => typeof v !== 'number' || !Number.isSafeInteger(v))) {
      problems.push(`${where}: seeds must be whole numbers`);
      continue;
    }
    if (axis === 'model' && values.some((v) => typeof v !== 'string' || v === '')) {
      problems.push(`${where}: models must be model specs such as offline:1 or anthropic:claude-haiku-4-5`);
      continue;
    }
    axes.push({ path: axis, values });
  }

  // Scorers: ids, and what they need from the cases.
  const scorers: ScorerSpec[] = [];
  const scorerIds = new Set<string>();
  m.score.forEach((s, i) => {
    const sid = s.id ?? (m.score.filter((o) => o.kind === s.kind).length > 1 ? `${s.kind}-${i + 1}` : s.kind);
    if (scorerIds.has(sid)) problems.push(`score[${i}].id: "${sid}" is used twice`);
    scorerIds.add(sid);
    if ((s.kind === 'exact' || s.kind === 'contains') && s.expected === undefined) {
      const missing = cases.filter((c) => c.expected === undefined).map((c) => c.id);
      if (missing.length > 0) {
        problems.push(`score[${i}].expected: ${s.kind} needs an expected value, in the scorer or in every case (missing in ${listIds(missing)})`);
      }
      if (s.kind === 'contains') {
        const bad = cases.filter((c) => c.expected !== undefined && !isStringOrStrings(c.expected)).map((c) => c.id);
        if (bad.length > 0) problems.push(`score[${i}]: contains needs expected as a string or a list of strings (not so in ${listIds(bad)})`);
      }
    }
    if (s.kind === 'regex') {
      try {
        new RegExp(s.pattern, s.flags);
      } catch (err) {
        problems.push(`score[${i}].pattern: ${(err as Error).message}`);
      }
    }
    scorers.push({ ...s, id: sid });
  });

  // Cells: every combination, each applied to the spec and checked with each kind of case.
  const cells: Cell[] = [];
  if (problems.length === 0) {
    const combos = cartesian(axes);
    const ids = new Set<string>();
    for (const settings of combos) {
      let cellId = cellIdOf(settings);
      if (ids.has(cellId)) cellId = `${cellId}-${cells.length + 1}`;
      ids.add(cellId);
      let cellSpec: TeamSpec;
      try {
        cellSpec = applyOverrides(spec, settings);
      } catch (err) {
        problems.push((err as Error).message);
        continue;
      }
      const kinds = new Map<string, CaseSpec>();
      for (const c of cases) kinds.set(caseKind(c), kinds.get(caseKind(c)) ?? c);
      for (const c of kinds.values()) {
        try {
          validateSpec(specForCase(cellSpec, c), `cell ${cellId} with case ${c.id}`);
        } catch (err) {
          const detail = err instanceof SpecError ? err.problems : [(err as Error).message];
          problems.push(...detail.map((d) => `${describeOverride(settings, d)}`));
        }
      }
      const seed = settings.seed;
      cells.push({ id: cellId, settings, spec: cellSpec, ...(typeof seed === 'number' ? { seed } : {}) });
    }
  }
  if (problems.length > 0) throw new MatrixError(file, [...new Set(problems)]);

  return {
    name: m.name ?? options.name ?? 'experiment',
    file,
    baseDir,
    specFile,
    specDir: path.dirname(specFile),
    spec,
    cases,
    axes,
    cells,
    scorers,
    concurrency: m.concurrency ?? 2,
    ...(m.budget ? { budget: m.budget } : {}),
    cache: m.cache && m.cache.mode !== 'off' ? { mode: m.cache.mode, dir: path.resolve(baseDir, m.cache.dir) } : null,
    ...(m.workspace ? { workspace: path.resolve(baseDir, m.workspace) } : {}),
    leaseMs: m.leaseMs ?? 30_000,
  };
}

function loadCases(source: string | unknown[], baseDir: string, problems: string[]): CaseSpec[] {
  let entries: Array<{ where: string; value: unknown }> = [];
  if (typeof source === 'string') {
    const file = path.resolve(baseDir, source);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`cases: cannot read ${source}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      return [];
    }
    const name = path.basename(file);
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '' || line.trimStart().startsWith('//')) return;
      try {
        entries.push({ where: `${name}:${i + 1}`, value: JSON.parse(line) });
      } catch (err) {
        problems.push(`${name}:${i + 1}: not a JSON object on one line (${(err as Error).message})`);
      }
    });
    if (entries.length === 0 && problems.length === 0) problems.push(`cases: ${source} holds no cases`);
  } else {
    entries = source.map((value, i) => ({ where: `cases[${i}]`, value }));
  }
  const cases: CaseSpec[] = [];
  const firstSeen = new Map<string, string>();
  for (const { where, value } of entries) {
    const parsed = caseSchema.safeParse(value);
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((issue) => `${where}: ${describeIssue(issue)}`));
      continue;
    }
    const c = parsed.data;
    const inputs = (['goal', 'task', 'tasks', 'moa'] as const).filter((k) => c[k] !== undefined);
    if (inputs.length !== 1) {
      problems.push(`${where}: a case gives exactly one of goal, task, tasks or moa (got ${inputs.length === 0 ? 'none' : inputs.join(', ')})`);
      continue;
    }
    if (c.id.length > 96) {
      problems.push(`${where}.id: at most 96 characters (it becomes part of a task id)`);
      continue;
    }
    const first = firstSeen.get(c.id);
    if (first) {
      problems.push(`${where}.id: "${c.id}" is used twice (first at ${first}); case ids must be unique`);
      continue;
    }
    firstSeen.set(c.id, where);
    cases.push(c);
  }
  return cases;
}

function caseKind(c: CaseSpec): string {
  return c.goal !== undefined ? 'goal' : c.task !== undefined ? 'task' : c.tasks !== undefined ? 'tasks' : 'moa';
}

// ------------------------------------------------------------ override paths

interface Segment {
  name: string;
  /** `[2]` (index) or `[worker-1]` (the element whose id it is). */
  select?: string;
}

function parsePath(p: string): Segment[] | null {
  const parts = p.split('.');
  const segments: Segment[] = [];
  for (const part of parts) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[([A-Za-z0-9._-]+)\])?$/.exec(part);
    if (!m) return null;
    segments.push({ name: m[1] as string, ...(m[2] !== undefined ? { select: m[2] } : {}) });
  }
  return segments;
}

function overridePathProblem(p: string): string | null {
  if (p === 'model' || p === 'seed') return null;
  const segments = parsePath(p);
  if (!segments) return `"${p}" is not an override path: use dotted field names, an element as agents[worker-1] or agents[0] (e.g. moa.proposers.samples, agents.temperature)`;
  if (RESERVED.has(segments[0]?.name ?? '')) return `the experiment decides ${segments[0]?.name}; it cannot be an axis`;
  return null;
}

/**
 * The spec with a cell's settings applied. `model` sets every model in the
 * spec (agents, MoA proposers and aggregators that name one); `seed` is
 * passed on every model request (see the runner); any other key is a path:
 * `budget.maxUsd`, `agents.temperature` (every agent), `agents[worker-1].model`
 * (one agent by id or index), `moa.proposers.samples`.
 */
export function applyOverrides(spec: TeamSpec, settings: Record<string, AxisValue>): TeamSpec {
  const out = structuredClone(spec) as Record<string, unknown>;
  for (const [p, value] of Object.entries(settings)) {
    if (p === 'seed') continue;
    if (p === 'model') {
      setEveryModel(out as unknown as TeamSpec, value as string);
      continue;
    }
    const segments = parsePath(p) as Segment[];
    const touched = setPath(out, segments, structuredClone(value), p, 0);
    if (touched === 0) throw new ValidationError(`matrix.${p}: unknown override path: nothing in the spec at ${p}`);
  }
  return out as unknown as TeamSpec;
}

function setEveryModel(spec: TeamSpec, model: string): void {
  for (const agent of spec.agents) {
    if (agent.command !== undefined || agent.preset !== undefined) continue;
    agent.model = typeof agent.model === 'object' && agent.model !== null ? { ...agent.model, spec: model } : model;
  }
  for (const m of spec.moa ?? []) {
    if (Array.isArray(m.proposers)) for (const p of m.proposers) if (p.model !== undefined) p.model = model;
    if (!Array.isArray(m.proposers) && m.proposers.model !== undefined) m.proposers.model = model;
    if (m.aggregator?.model !== undefined) m.aggregator.model = model;
  }
}

/** Sets the value at every place the path reaches (arrays broadcast); returns how many. */
function setPath(node: unknown, segments: Segment[], value: unknown, full: string, depth: number): number {
  const seg = segments[depth] as Segment;
  const last = depth === segments.length - 1;
  if (Array.isArray(node)) {
    let n = 0;
    for (const item of node) n += setPath(item, segments, value, full, depth);
    return n;
  }
  if (node === null || typeof node !== 'object') return 0;
  const obj = node as Record<string, unknown>;
  if (seg.select !== undefined) {
    const list = obj[seg.name];
    if (!Array.isArray(list)) throw new ValidationError(`matrix.${full}: unknown override path: ${seg.name} is not a list in the spec`);
    const index = /^\d+$/.test(seg.select) ? Number(seg.select) : list.findIndex((e) => (e as { id?: unknown })?.id === seg.select);
    if (index < 0 || index >= list.length) {
      throw new ValidationError(`matrix.${full}: unknown override path: no ${seg.name} element "${seg.select}" in the spec`);
    }
    if (last) {
      list[index] = value;
      return 1;
    }
    return setPath(list[index], segments, value, full, depth + 1);
  }
  if (last) {
    obj[seg.name] = structuredClone(value);
    return 1;
  }
  if (obj[seg.name] === undefined) {
    // A missing object on the way is created only for the spec's plain sections (budget.maxUsd, team.id).
    if (depth !== 0 || !CREATABLE.has(seg.name)) {
      throw new ValidationError(`matrix.${full}: unknown override path: the spec has no ${segments.slice(0, depth + 1).map((s) => s.name).join('.')}`);
    }
    obj[seg.name] = {};
  }
  return setPath(obj[seg.name], segments, value, full, depth + 1);
}

function describeOverride(settings: Record<string, AxisValue>, problem: string): string {
  // Point at the axis whose path the problem mentions (an unknown field it added, a bad value it set).
  for (const [p, value] of Object.entries(settings)) {
    const leaf = p.split('.').pop()?.replace(/\[.*\]$/, '') ?? p;
    if (problem.includes(`"${leaf}"`) && problem.includes('unknown field')) {
      return `matrix.${p}: unknown override path (the spec has no field "${leaf}" there: ${problem})`;
    }
    if (problem.includes(`.${leaf}:`) || problem.startsWith(`${leaf}:`)) return `matrix.${p} = ${JSON.stringify(value)}: ${problem}`;
  }
  return `the spec with ${Object.entries(settings).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') || 'no overrides'}: ${problem}`;
}

function cartesian(axes: Array<{ path: string; values: AxisValue[] }>): Array<Record<string, AxisValue>> {
  let out: Array<Record<string, AxisValue>> = [{}];
  for (const axis of axes) {
    const next: Array<Record<string, AxisValue>> = [];
    for (const partial of out) for (const v of axis.values) next.push({ ...partial, [axis.path]: v });
    out = next;
  }
  return out;
}

/** A readable, path-safe id: each setting as `<last path segment>-<value>`, joined by `_`. */
export function cellIdOf(settings: Record<string, AxisValue>): string {
  const parts = Object.entries(settings).map(([p, v]) => {
    const key = (p.split('.').pop() ?? p).replace(/\[.*\]$/, '');
    const text = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? String(v) : JSON.stringify(v);
    return `${key}-${text}`.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/-+/g, '-').replace(/-$/, '');
  });
  const joined = parts.join('_') || 'base';
  const safe = /^[A-Za-z0-9]/.test(joined) ? joined : `c${joined}`;
  return safe.length <= 100 ? safe : `${safe.slice(0, 90)}-${hashText(joined)}`;
}

function hashText(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

function isStringOrStrings(v: unknown): boolean {
  return typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string'));
}

function listIds(ids: string[]): string {
  return ids.length <= 5 ? ids.map((i) => `"${i}"`).join(', ') : `${ids.slice(0, 5).map((i) => `"${i}"`).join(', ')} and ${ids.length - 5} more`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${where}: ${issue.message}`;
}

function formatPath(parts: ReadonlyArray<PropertyKey>): string {
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

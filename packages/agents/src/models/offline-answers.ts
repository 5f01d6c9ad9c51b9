/**
 * What the offline model says for each kind of work. Every answer is built
 * from the words of the prompt and choices drawn from a seeded PRNG, so it is
 * useful enough to drive a whole team run (a plan that is a real DAG, reviews
 * with verdicts, an aggregation that cites its references) and repeatable.
 */

import type { SeededRandom } from './offline-random.js';
import {
  capitalize,
  clip,
  kebab,
  keywords,
  listPhrase,
  numberedItems,
  points,
  idWords,
  stemSet,
  stemWords,
  words,
  type NumberedItem,
} from './offline-text.js';
import { sampleFromSchema } from './schema-sample.js';
import type { ModelMessage, ToolCall, ToolDefinition } from './types.js';

export type Specialty = 'security' | 'performance' | 'docs';

export interface PlannedTask {
  id: string;
  description: string;
  dependencies: string[];
  requires?: Specialty;
  review?: true;
}

export interface Plan {
  tasks: PlannedTask[];
}

/** The goal of a planning prompt: the paragraph after "Goal:", else the whole text. */
export function extractGoal(text: string): string {
  const marked = /^[ \t]*(?:#+[ \t]*)?(?:\*\*)?(?:goal|objective|mission)(?:\*\*)?[ \t]*[:-][ \t]*(.*(?:\n(?![ \t]*\n).*)*)/im.exec(text);
  const goal = (marked?.[1] ?? text).trim();
  return goal || text.trim();
}

const SPECIALTY_PATTERNS: Array<[Specialty, RegExp]> = [
  ['security', /\b(secur\w*|auth\w*|vulnerab\w*|privacy|threat\w*|encrypt\w*|permission\w*|secret\w*|attack\w*)/i],
  ['performance', /\b(perform\w*|latency|throughput|speed\w*|fast\w*|faster|benchmark\w*|scal\w*|optimi[sz]\w*|memory)\b/i],
  ['docs', /\b(document\w*|docs|readme|guide|tutorial|manual)\b/i],
];

function specialtyOf(text: string): Specialty | undefined {
  return SPECIALTY_PATTERNS.find(([, pattern]) => pattern.test(text))?.[0];
}

/** Lines that tell the planner how to answer rather than what to do. */
const INSTRUCTION_LINE = /\b(json|schema|kebab|dependenc\w*|respond|field|fields|format|ids?|tasks?)\b/i;

/** Explicit lists in a goal: bullet or numbered lines, or "a; b; c". */
function listedItems(goal: string): string[] {
  const lines = goal.split('\n').map((line) => line.trim());
  const bullets = lines
    .filter((line) => /^([-*•]|\d+[.)])\s+/.test(line))
    .map((line) => line.replace(/^([-*•]|\d+[.)])\s+/, ''))
    .filter((line) => !INSTRUCTION_LINE.test(line));
  if (bullets.length >= 2) return bullets;
  const semi = goal.split(';').map((part) => part.trim());
  if (semi.length >= 2 && semi.every((part) => words(part).length >= 2)) return semi;
  return [];
}

type Phase = { verb: string; describe: (topic: string, goal: string) => string; review?: boolean; optional?: boolean };

const SOFTWARE = /\b(build|implement|code|coding|api|app|application|service|cli|library|feature|bug|fix|refactor|deploy|program|script|server|website|backend|frontend|database|endpoint|module|package)\b/i;
const WRITING = /\b(write|essay|article|report|blog|post|summary|summari[sz]e|compare|analy[sz]e|research|study|survey|explain|review|paper|brief|proposal)\b/i;

const SOFTWARE_PHASES: Phase[] = [
  { verb: 'research', describe: (t, g) => `Research the requirements and constraints of "${g}", with prior work on ${t}` },
  { verb: 'design', describe: (t) => `Design the approach for ${t}: structure, interfaces and the main decisions`, optional: true },
  { verb: 'implement', describe: (t) => `Implement ${t} following the design`, review: true },
  { verb: 'test', describe: (t) => `Test ${t} against the goal and record what fails` },
];
const WRITING_PHASES: Phase[] = [
  { verb: 'research', describe: (t, g) => `Gather the key facts and sources for "${g}", focusing on ${t}` },
  { verb: 'outline', describe: (t) => `Outline the piece on ${t}: sections and the point of each`, optional: true },
  { verb: 'draft', describe: (t) => `Draft the text on ${t} from the research`, review: true },
  { verb: 'fact-check', describe: (t) => `Check the claims and sources behind the draft on ${t}`, optional: true },
];
const GENERIC_PHASES: Phase[] = [
  { verb: 'research', describe: (t, g) => `Research the background of "${g}": facts, constraints and prior work on ${t}` },
  { verb: 'analyze', describe: (t) => `Analyze the options for ${t} and their trade-offs`, optional: true },
  { verb: 'propose', describe: (t) => `Propose a concrete course of action on ${t}`, review: true },
];
const SPECIALTY_TASKS: Record<Specialty, Phase> = {
  security: { verb: 'security-review', describe: (t) => `Review ${t} for security risks: inputs, secrets, permissions` },
  performance: { verb: 'measure-performance', describe: (t) => `Measure the performance of ${t} and fix the slowest part` },
  docs: { verb: 'document', describe: (t) => `Write the documentation for ${t}: what it does and how to use it` },
};

/**
 * A task DAG for a goal: 3 to 7 tasks with kebab-case ids, dependencies only
 * on earlier tasks, specialties where the goal asks for them, and a final
 * summary task depending on all the others.
 */
export function composePlan(goalText: string, rng: SeededRandom): Plan {
  const goal = extractGoal(goalText);
  const items = listedItems(goal).slice(0, 5);
  const goalShort = clip(items.length >= 2 ? items.join('; ') : firstLine(goal).replace(/[.:]+$/, ''), 70);
  const kws = keywords(goal, 6);
  const topic = kws.length > 0 ? kws.slice(0, 2).join(' ') : 'the goal';
  const tasks: PlannedTask[] = [];
  const ids = new Set<string>();
  const uniqueId = (parts: string[]) => {
    const base = kebab(parts, 40);
    let id = base;
    for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
    ids.add(id);
    return id;
  };
  const push = (task: Omit<PlannedTask, 'id'> & { idParts: string[] }) => {
    const { idParts, ...rest } = task;
    const id = uniqueId(idParts);
    const clean: PlannedTask = { id, description: rest.description, dependencies: rest.dependencies };
    if (rest.requires) clean.requires = rest.requires;
    if (rest.review) clean.review = true;
    tasks.push(clean);
    return id;
  };

  if (items.length >= 2) {
    let firstId: string | undefined;
    items.forEach((item, index) => {
      const itemKws = idWords(item, 3);
      const dependsOnFirst = index === items.length - 1 && items.length >= 3 && firstId !== undefined && rng.chance(0.5);
      const requires = specialtyOf(item);
      const id = push({
        idParts: itemKws.length > 0 ? itemKws.slice(0, 3) : [`part-${index + 1}`],
        description: capitalize(item.replace(/[.;]+$/, '')),
        dependencies: dependsOnFirst && firstId ? [firstId] : [],
        ...(requires ? { requires } : {}),
        ...(rng.chance(0.3) ? { review: true as const } : {}),
      });
      firstId ??= id;
    });
  } else {
    const phases = SOFTWARE.test(goal) ? SOFTWARE_PHASES : WRITING.test(goal) ? WRITING_PHASES : GENERIC_PHASES;
    const chosen = phases.filter((phase) => !phase.optional || rng.chance(0.6));
    let previous: string | undefined;
    for (const phase of chosen) {
      previous = push({
        idParts: [phase.verb, ...kws.slice(0, 2)],
        description: phase.describe(topic, goalShort),
        dependencies: previous ? [previous] : [],
        ...(phase.review || rng.chance(0.2) ? { review: true as const } : {}),
      });
    }
    const base = tasks[tasks.length - 1]?.id;
    for (const [specialty, pattern] of SPECIALTY_PATTERNS) {
      if (!pattern.test(goal) || tasks.length >= 6) continue;
      const phase = SPECIALTY_TASKS[specialty];
      push({
        idParts: [phase.verb, ...kws.slice(0, 1)],
        description: phase.describe(topic, goalShort),
        dependencies: base ? [base] : [],
        requires: specialty,
      });
    }
  }
  while (tasks.length < 2) {
    push({ idParts: ['review-findings', ...kws.slice(0, 1)], description: `Review the findings on ${topic} and fill the gaps`, dependencies: tasks.map((t) => t.id) });
  }
  tasks.splice(6);
  push({
    idParts: ['summarize', ...kws.slice(0, 2)],
    description: `Summarize the results of the other tasks into one answer to: ${goalShort}`,
    dependencies: tasks.map((task) => task.id),
  });
  return { tasks };
}

const ISSUE_TEMPLATES = [
  (k: string) => `Explain how ${k} is handled`,
  (k: string) => `Add a concrete example for ${k}`,
  (k: string) => `State the assumptions behind ${k}`,
  (k: string) => `Cover the edge cases of ${k}`,
  (k: string) => `Back the claims about ${k} with evidence`,
];

export interface Review {
  verdict: 'approve' | 'changes';
  feedback: string;
  issues: string[];
}

export function composeReview(prompt: string, changes: boolean, rng: SeededRandom): Review {
  const kws = keywords(prompt, 6);
  const focus = kws.length > 0 ? kws : ['the result'];
  if (!changes) {
    return {
      verdict: 'approve',
      feedback: `Approved: the work addresses ${listPhrase(focus.slice(0, 2))} and meets the task as stated.`,
      issues: [],
    };
  }
  const count = Math.min(rng.int(1, 3), ISSUE_TEMPLATES.length);
  const issues = rng.sample(ISSUE_TEMPLATES, count).map((template, i) => template(focus[i % focus.length] ?? 'the result'));
  return {
    verdict: 'changes',
    feedback: `Needs changes before approval: ${issues.map((issue) => issue.charAt(0).toLowerCase() + issue.slice(1)).join('; ')}.`,
    issues,
  };
}

const POINT_TEMPLATES = [
  (a: string) => `Start from ${a}: settle what it must achieve before choosing how.`,
  (a: string, b: string) => `Treat ${a} and ${b} together, since a change to one constrains the other.`,
  (a: string) => `Measure ${a} early, so later choices rest on evidence rather than guesses.`,
  (a: string, b: string) => `Keep ${a} simple at first and add detail only where ${b} demands it.`,
  (a: string) => `Name the risks around ${a} and decide in advance how to detect them.`,
  (a: string) => `Compare at least two options for ${a} on cost, effort and reliability.`,
  (a: string, b: string) => `Write down the assumptions about ${a} and revisit them once ${b} is settled.`,
  (a: string) => `Split ${a} into small steps that can each be checked on their own.`,
  (a: string) => `Ask who depends on ${a} and what they need from it.`,
  (a: string) => `Plan for ${a} failing: what breaks, who notices, how it recovers.`,
];
const OPENERS = [
  (q: string, k: string) => `A workable answer to "${q}" rests on ${k}.`,
  (q: string, k: string) => `"${q}" comes down to ${k}; the rest follows from it.`,
  (q: string, k: string) => `To answer "${q}", begin with ${k} and work outwards.`,
];
const CLOSERS = [
  (k: string) => `In short: get ${k} right first, then iterate.`,
  (k: string) => `The deciding factor is ${k}; revisit the plan if it changes.`,
  (k: string) => `Done this way, progress on ${k} stays visible and easy to check.`,
];

/** A substantive answer: an opening sentence, 3-6 points on the prompt's own words, a closing line. */
export function composeProposal(prompt: string, rng: SeededRandom, temperature = 0.7): string {
  const question = clip(firstLine(prompt), 80);
  const kws = keywords(prompt, 8);
  const focus = kws.length > 0 ? kws : ['the question'];
  const extra = Math.round(Math.min(2, Math.max(0, temperature)) * 1.5);
  const count = Math.min(POINT_TEMPLATES.length, 3 + rng.int(0, extra));
  const picked = rng.sample(POINT_TEMPLATES, count);
  const order = rng.shuffle(focus);
  const bullets = picked.map((template, i) => `- ${template(order[i % order.length] ?? 'it', order[(i + 1) % order.length] ?? 'the goal')}`);
  return [rng.pick(OPENERS)(question, listPhrase(focus.slice(0, 2))), ...bullets, rng.pick(CLOSERS)(focus[0] ?? 'the goal')].join('\n');
}

interface Cluster {
  text: string;
  stems: Set<string>;
  refs: Set<number>;
}

/**
 * An aggregation that draws on the numbered references in the prompt: points
 * made by several references come first, each citing them ([1][3]); then the
 * strongest point unique to each reference. Without references it answers as
 * a proposal.
 */
export function composeAggregate(prompt: string, rng: SeededRandom): string {
  const refs = numberedItems(prompt);
  if (refs.length < 2) return composeProposal(prompt, rng);
  const clusters: Cluster[] = [];
  for (const ref of refs) {
    for (const point of points(ref.text)) {
      const stems = stemSet(point);
      if (stems.size === 0) continue;
      const match = clusters.find((cluster) => similar(cluster.stems, stems));
      if (match) {
        match.refs.add(ref.n);
        for (const s of stems) match.stems.add(s);
      } else {
        clusters.push({ text: point, stems, refs: new Set([ref.n]) });
      }
    }
  }
  const cite = (cluster: Cluster) => [...cluster.refs].sort((a, b) => a - b).map((n) => `[${n}]`).join('');
  const shared = clusters.filter((c) => c.refs.size >= 2).sort((a, b) => b.refs.size - a.refs.size);
  const unique: Cluster[] = [];
  for (const ref of refs) {
    const own = clusters.filter((c) => c.refs.size === 1 && c.refs.has(ref.n)).sort((a, b) => b.stems.size - a.stems.size)[0];
    if (own) unique.push(own);
  }
  const themes = keywords(refs.map((r) => r.text).join('\n'), 4);
  const lines = [`Synthesis of ${refs.length} references${themes.length ? ` on ${listPhrase(themes.slice(0, 3))}` : ''}.`];
  if (shared.length > 0) {
    lines.push('Points several references agree on:');
    for (const cluster of shared.slice(0, 6)) lines.push(`- ${trimPoint(cluster.text)} ${cite(cluster)}`);
  } else {
    lines.push('The references do not overlap; their main points, combined:');
  }
  if (unique.length > 0) {
    lines.push(shared.length > 0 ? 'Points raised by a single reference:' : '');
    for (const cluster of unique.slice(0, 4)) lines.push(`- ${trimPoint(cluster.text)} ${cite(cluster)}`);
  }
  const strongest = shared[0] ?? unique[0];
  if (strongest) lines.push(`Overall: the strongest common ground is ${clip(trimPoint(strongest.text).toLowerCase(), 90)} ${cite(strongest)}.`);
  return lines.filter((line) => line !== '').join('\n');
}

function similar(a: Set<string>, b: Set<string>): boolean {
  let shared = 0;
  for (const s of a) if (b.has(s)) shared++;
  return shared >= 2 && shared / Math.min(a.size, b.size) >= 0.5;
}

function trimPoint(text: string): string {
  return clip(text.replace(/\s*(\[\d+\])+\s*$/, '').replace(/[.;:]+$/, ''), 160);
}

export interface Selection {
  choice: number;
  reason: string;
}

/** Picks the candidate that shares most with the others (the consensus), preferring the fuller one on ties. */
export function composeSelection(prompt: string, rng: SeededRandom): Selection {
  const candidates = numberedItems(prompt);
  if (candidates.length === 0) {
    return { choice: 1, reason: 'No numbered candidates could be told apart; choosing the first.' };
  }
  const stems = candidates.map((candidate) => stemSet(candidate.text));
  const scored = candidates.map((candidate, i) => {
    const own = stems[i] ?? new Set<string>();
    let overlap = 0;
    const common = new Set<string>();
    stems.forEach((other, j) => {
      if (j === i) return;
      for (const s of own) {
        if (other.has(s)) {
          overlap++;
          common.add(s);
        }
      }
    });
    return { candidate, score: overlap + Math.min(own.size, 60) * 0.05 + rng.next() * 0.01, common: [...common] };
  });
  scored.sort((a, b) => b.score - a.score);
  const best = scored[0] as { candidate: NumberedItem; common: string[] };
  const surface = stemWords(best.candidate.text);
  const themes = best.common.slice(0, 3).map((s) => surface.get(s) ?? s);
  return {
    choice: best.candidate.n,
    reason: themes.length
      ? `Candidate ${best.candidate.n} shares the most with the others (${listPhrase(themes)}) and covers them most completely.`
      : `Candidate ${best.candidate.n} is the most complete of the ${candidates.length}.`,
  };
}

/** A concise work report that refers to the task it was given. */
export function composeReport(prompt: string, rng: SeededRandom, toolNotes: string[] = []): string {
  const title = clip(firstLine(prompt), 80) || 'the task';
  const kws = keywords(prompt, 6);
  const focus = kws.length > 0 ? kws : ['the task'];
  const lines = [
    `Work report: ${title}`,
    `- Approach: ${rng.pick(['worked through', 'broke down', 'addressed in turn'])} ${listPhrase(focus.slice(0, 3))}.`,
    `- Outcome: ${capitalize(focus[0] ?? 'the task')} is covered${focus[1] ? `, with ${focus[1]} handled explicitly` : ''}; the result answers the task as stated.`,
    ...toolNotes.map((note) => `- Evidence: ${note}`),
    `- Open points: ${rng.pick(['confirm the assumptions about', 'check the edge cases of', 'measure the effect of'])} ${focus[focus.length - 1] ?? 'the result'}.`,
  ];
  return lines.join('\n');
}

/** One plausible call to the tool that best fits the prompt (or the one `toolChoice` names). */
export function composeToolCalls(
  tools: readonly ToolDefinition[],
  toolChoice: 'auto' | 'none' | 'required' | { name: string } | undefined,
  prompt: string,
  rng: SeededRandom,
  callIdSeed: string,
): ToolCall[] {
  const named = typeof toolChoice === 'object' ? tools.find((tool) => tool.name === toolChoice.name) : undefined;
  const promptStems = stemSet(prompt);
  const score = (tool: ToolDefinition) => {
    let s = 0;
    for (const stem of stemSet(`${tool.name.replace(/[_-]/g, ' ')} ${tool.description}`)) if (promptStems.has(stem)) s++;
    return s;
  };
  const tool = named ?? [...tools].sort((a, b) => score(b) - score(a))[0];
  if (!tool) return [];
  const args = sampleFromSchema(tool.parameters, rng, { words: keywords(prompt, 8), text: clip(firstLine(prompt), 120) });
  return [
    {
      id: `call_${callIdSeed.slice(0, 16)}`,
      name: tool.name,
      arguments: typeof args === 'object' && args !== null && !Array.isArray(args) ? (args as Record<string, unknown>) : {},
    },
  ];
}

/** The results of the tool calls answered since the model's last turn. */
export function pendingToolResults(messages: readonly ModelMessage[]): ModelMessage[] {
  const results: ModelMessage[] = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role !== 'tool') break;
    results.unshift(message);
  }
  return results;
}

export function toolNotes(results: readonly ModelMessage[]): string[] {
  return results.map((result) => `${result.toolName ?? 'tool'} returned ${clip(result.content, 160)}`);
}

function firstLine(text: string): string {
  return text.split('\n').map((line) => line.trim()).find((line) => line.length > 0) ?? '';
}

import fs from 'node:fs';
import path from 'node:path';
import { type ClaimFilter, EventLog, type TaskRecord, type TeamEvent, type TeamEventType, listDir } from '@agent-team/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Agent,
  AgentRole,
  AgentTeam,
  type AgentTeamOptions,
  type TaskContext,
  formatSummary,
  offlineModel,
} from '../src/index.js';
import { tempDir } from './helpers.js';

/** Teams on the offline model in a real workspace. */
describe('AgentTeam', () => {
  let dir: string;
  const teams: AgentTeam[] = [];
  const newTeam = (options: AgentTeamOptions = {}) => {
    dir ??= tempDir('team-');
    const team = new AgentTeam({ workspace: dir, watch: false, retry: { baseMs: 20, maxMs: 100 }, ...options });
    teams.push(team);
    return team;
  };
  const events = <K extends TeamEventType>(types?: K[]) => EventLog.read<K>(path.join(dir, 'events'), types ? { types } : {});
  afterEach(async () => {
    for (const team of teams.splice(0)) await team.close();
    fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined as unknown as string;
  });

  it('plans a goal, works it, reviews it and synthesises the answer', async () => {
    const team = newTeam();
    const model = offlineModel({ seed: 3 });
    team.addAgent('lead', AgentRole.LEAD, model);
    team.addAgent('worker-1', AgentRole.WORKER, model);
    team.addAgent('worker-2', AgentRole.WORKER, model);
    team.addAgent('reviewer', AgentRole.REVIEWER, model);
    const plan = await team.goal('Design a rate limiter for an HTTP API, with tests and docs', { id: 'plan' });
    const summary = await team.run({ timeoutMs: 30_000, handleSignals: false });
    expect(summary.status).toBe('completed');
    expect(summary.completed).toBe(summary.total);
    const planned = summary.tasks.find((t) => t.id === plan.id)?.result as { tasks: Array<{ id: string; review?: boolean }>; synthesis: string };
    expect(planned.tasks.length).toBeGreaterThanOrEqual(3);
    // Every planned task ran; at least one was held for review and approved by the reviewer.
    for (const step of planned.tasks) expect(summary.tasks.find((t) => t.id === step.id)?.status).toBe('completed');
    const reviews = summary.tasks.filter((t) => t.type === 'review');
    expect(reviews.length).toBeGreaterThan(0);
    expect(reviews.every((r) => r.owner === 'reviewer')).toBe(true);
    // The synthesis ran last, on the lead, and drew on the team's results.
    const synthesis = summary.tasks.find((t) => t.id === planned.synthesis);
    expect(synthesis).toMatchObject({ status: 'completed', owner: 'lead', type: 'aggregate' });
    const completedAt = events(['task.completed']).map((e) => e.taskId);
    expect(completedAt[completedAt.length - 1]).toBe(planned.synthesis);
    expect(summary.usage.total.calls).toBeGreaterThan(planned.tasks.length);
    expect(Object.keys(summary.usage.byAgent).sort()).toEqual(['lead', 'reviewer', 'worker-1', 'worker-2'].filter((a) => summary.usage.byAgent[a]));
    expect(summary.released).toEqual([]);
    expect(formatSummary(summary)).toMatch(/Run completed/);
  });

  it('retries a task whose worker throws; another agent finishes it', async () => {
    class Flaky extends Agent {
      failures = 0;
      override claimFilter(): ClaimFilter {
        // After one failure this agent stops taking work, so someone else must.
        return this.failures > 0 ? { types: [] } : super.claimFilter();
      }
      override async execute(): Promise<unknown> {
        this.failures += 1;
        throw new Error('flaky worker crashed');
      }
    }
    const team = newTeam();
    const flaky = new Flaky('flaky', 'worker', offlineModel());
    team.addAgent(flaky);
    team.addAgent('steady', AgentRole.WORKER, offlineModel());
    const task = await team.addTask('Count the words in README.md');
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    const outcome = summary.tasks.find((t) => t.id === task.id);
    expect(flaky.failures).toBe(1);
    expect(outcome).toMatchObject({ status: 'completed', owner: 'steady', attempt: 2 });
    expect(outcome?.errors).toEqual(['attempt 1 (flaky): flaky worker crashed']);
  });

  it('re-opens a task when the reviewer asks for changes, and runs dependents only after approval', async () => {
    const team = newTeam();
    const model = offlineModel({ reviewChangesFirst: 1 });
    team.addAgent('worker', AgentRole.WORKER, model);
    team.addAgent('reviewer', AgentRole.REVIEWER, model);
    const impl = await team.addTask('Implement the token bucket', { id: 'impl', review: true });
    await team.addTask('Document the token bucket', { id: 'docs', dependencies: [impl.id] });
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(summary.status).toBe('completed');
    const record = await team.queue.get('impl');
    expect(record).toMatchObject({ status: 'completed', attempt: 2 });
    expect(record?.feedback).toHaveLength(1);
    const log = events();
    const verdicts = log.filter((e) => e.type === 'review.verdict');
    expect(verdicts.map((e) => [e.verdict, e.outcome])).toEqual([
      ['changes', 'reopened'],
      ['approve', 'approved'],
    ]);
    const approvedAt = log.findIndex((e) => e.type === 'task.completed' && e.taskId === 'impl');
    const docsClaimedAt = log.findIndex((e) => e.type === 'task.claimed' && e.taskId === 'docs');
    expect(docsClaimedAt).toBeGreaterThan(approvedAt);
    expect(log.filter((e) => e.type === 'task.claimed' && e.taskId === 'docs')).toHaveLength(1);
    // The second attempt saw the reviewer's feedback in its prompt.
    expect(log.find((e): e is TeamEvent<'task.reopened'> => e.type === 'task.reopened' && e.taskId === 'impl')?.feedback).toBe(record?.feedback[0]);
  });

  it('creates the missing review task of a result held for review (its worker died before adding it)', async () => {
    const team = newTeam();
    await team.addTask('Implement the cache', { id: 'cache', review: true });
    // A worker in another process held its result for review, then died before adding the review task.
    const claim = await team.queue.claim({ agentId: 'ghost' });
    await claim!.complete('cache done', { review: true });
    expect((await team.getStatus()).total).toBe(1);
    team.addAgent('reviewer', AgentRole.REVIEWER, offlineModel());
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(summary.status).toBe('completed');
    expect(summary.tasks.find((t) => t.id === 'cache')).toMatchObject({ status: 'completed', result: 'cache done', owner: 'ghost' });
    expect(summary.tasks.find((t) => t.id === 'cache.review-1')).toMatchObject({ status: 'completed', owner: 'reviewer' });
  });

  it('never gives a task that requires a specialty to a plain worker', async () => {
    const team = newTeam();
    const model = offlineModel();
    team.addAgent('worker-1', AgentRole.WORKER, model, { concurrency: 2 });
    team.addAgent('worker-2', AgentRole.WORKER, model);
    team.addAgent('security', AgentRole.SPECIALIST, model, { specialty: 'security' });
    const secure = await team.addTasks(
      Array.from({ length: 6 }, (_, i) => ({ description: `Audit endpoint ${i} for injection`, requires: 'security' })),
    );
    const plain = await team.addTasks(Array.from({ length: 6 }, (_, i) => ({ description: `Write changelog entry ${i}` })));
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(summary.status).toBe('completed');
    for (const t of secure) expect(summary.tasks.find((o) => o.id === t.id)?.owner).toBe('security');
    for (const t of plain) expect(summary.tasks.find((o) => o.id === t.id)?.owner).toMatch(/^worker-/);
  });

  it('an agent with several slots fills the free ones in one claimMany and never holds more than its concurrency', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inFlight = 0;
    let peak = 0;
    let reachedThree: () => void = () => {};
    const three = new Promise<void>((resolve) => (reachedThree = resolve));
    class Gated extends Agent {
      override async execute(): Promise<unknown> {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        if (inFlight === 3) reachedThree();
        await gate;
        inFlight -= 1;
        return 'ok';
      }
    }
    const team = newTeam();
    team.addAgent(new Gated('slots', 'worker', offlineModel(), { concurrency: 3 }));
    await team.addTasks(Array.from({ length: 5 }, (_, i) => ({ id: `job-${i}`, description: `Job ${i}` })));
    const asked: number[] = [];
    const claimMany = team.queue.claimMany.bind(team.queue);
    team.queue.claimMany = (request, max) => {
      asked.push(max);
      return claimMany(request, max);
    };
    const run = team.run({ timeoutMs: 10_000, handleSignals: false });
    await three;
    // All three slots were filled by one call, and the other two tasks wait.
    expect(asked[0]).toBe(3);
    expect((await team.queue.counts()).ready).toBe(2);
    release();
    const summary = await run;
    expect(summary.status).toBe('completed');
    expect(peak).toBe(3);
    expect(summary.tasks.filter((t) => t.status === 'completed')).toHaveLength(5);
  });

  it('re-opens a task with the feedback when the completion hook vetoes it', async () => {
    const seen: Array<{ attempt: number; feedback: readonly string[] }> = [];
    class Recorder extends Agent {
      override async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
        seen.push({ attempt: ctx.attempt, feedback: ctx.feedback });
        return `draft ${seen.length}`;
      }
    }
    let vetoes = 0;
    const team = newTeam({
      hooks: {
        onTaskCompleted: (_task, result) => {
          if (result === 'draft 1') {
            vetoes += 1;
            return { veto: 'cite your sources' };
          }
          return undefined;
        },
      },
    });
    team.addAgent(new Recorder('writer', 'worker', offlineModel()));
    const task = await team.addTask('Write the release note');
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(vetoes).toBe(1);
    expect(seen).toEqual([
      { attempt: 1, feedback: [] },
      { attempt: 1, feedback: ['cite your sources'] },
    ]);
    expect(summary.tasks.find((t) => t.id === task.id)).toMatchObject({ status: 'completed', result: 'draft 2' });
    expect(events(['task.vetoed'])).toHaveLength(1);
  });

  it('on a timeout mid-run, hands back every claim and reports the unfinished tasks', async () => {
    const team = newTeam();
    const slow = offlineModel({ latencyMs: 5000 });
    team.addAgent('worker-1', AgentRole.WORKER, slow);
    team.addAgent('worker-2', AgentRole.WORKER, slow);
    await team.addTasks(Array.from({ length: 4 }, (_, i) => ({ id: `slow-${i}`, description: `Slow job ${i}` })));
    const started = Date.now();
    const summary = await team.run({ timeoutMs: 300, handleSignals: false });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(summary.status).toBe('timeout');
    expect(summary.reason).toMatch(/timed out after 300 ms/);
    expect(summary.released.map((r) => r.taskId).sort()).toEqual(['slow-0', 'slow-1']);
    expect(summary.unfinished).toBe(4);
    expect(summary.tasks.every((t) => t.status === 'ready' && t.attempt === 1)).toBe(true);
    expect(summary.tasks.find((t) => t.id === 'slow-3')?.reason).toMatch(/not started/);
    expect(listDir(path.join(dir, 'claims'))).toEqual([]);
    expect((await team.getStatus()).claimed).toBe(0);
  });

  it('stops claiming when the token budget is reached and says so', async () => {
    const team = newTeam({ budget: { maxTokens: 300 } });
    team.addAgent('worker', AgentRole.WORKER, offlineModel());
    await team.addTasks(Array.from({ length: 10 }, (_, i) => ({ id: `job-${i}`, description: `Summarise chapter ${i} of the handbook in detail` })));
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(summary.status).toBe('budget_exceeded');
    expect(summary.budget?.reason).toMatch(/token budget reached: \d+ of 300 tokens/);
    expect(summary.completed).toBeGreaterThan(0);
    expect(summary.completed).toBeLessThan(10);
    expect(summary.usage.total.totalTokens).toBeGreaterThanOrEqual(300);
    // Once over budget no task was claimed any more.
    const claims = events(['task.claimed']);
    expect(claims).toHaveLength(summary.completed);
    expect(summary.unfinished).toBe(10 - summary.completed);
  });

  it('re-asks an invalid plan (a cycle, an unknown dependency) and never enqueues it', async () => {
    const team = newTeam();
    team.addAgent('lead', AgentRole.LEAD, offlineModel({ planFaults: ['cycle', 'unknown-dependency'] }));
    team.addAgent('worker', AgentRole.WORKER, offlineModel());
    const added: string[] = [];
    team.on('task.added', (e) => added.push(e.taskId ?? ''));
    const plan = await team.goal('Ship a CSV export', { id: 'goal' });
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(summary.status).toBe('completed');
    const result = summary.tasks.find((t) => t.id === plan.id)?.result as { rounds: number; tasks: Array<{ id: string }> };
    expect(result.rounds).toBe(3);
    // Only the third (valid) plan reached the queue: nothing from the faulty ones.
    expect(added.filter((id) => id !== 'goal').sort()).toEqual([...result.tasks.map((t) => t.id), 'goal.synthesis'].sort());
    const calls = events(['model.call']).filter((e) => e.agentId === 'lead' && e.taskId === 'goal');
    expect(calls.map((e) => e.purpose)).toEqual(['plan', 'repair', 'repair']);
  });

  it('fails the plan task clearly when every re-ask is invalid too, enqueuing nothing', async () => {
    const team = newTeam({ maxPlanRepairs: 1 });
    team.addAgent('lead', AgentRole.LEAD, offlineModel({ planFaults: ['cycle', 'cycle'] }));
    team.addAgent('reviewer', AgentRole.REVIEWER, offlineModel());
    await team.goal('Ship a CSV export', { id: 'goal' });
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(summary.status).toBe('failed');
    expect(summary.total).toBe(1);
    expect(summary.tasks[0]?.reason).toMatch(/cycle/);
  });

  it('asks for plan approval and re-plans with the feedback when it is refused', async () => {
    const decisions: number[] = [];
    const team = newTeam({
      hooks: {
        approvePlan: (plan) => {
          decisions.push(plan.tasks.length);
          return decisions.length === 1 ? { approved: false, feedback: 'split the work further' } : true;
        },
      },
    });
    team.addAgent('lead', AgentRole.LEAD, offlineModel());
    team.addAgent('worker', AgentRole.WORKER, offlineModel());
    await team.goal('Migrate the database', { id: 'goal' });
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(decisions).toHaveLength(2);
    expect(summary.status).toBe('completed');
    expect(events(['plan.rejected'])[0]?.feedback).toBe('split the work further');
  });

  it('runs the hooks and tells the lead about completions over the bus', async () => {
    const created: string[] = [];
    let idle = 0;
    const team = newTeam({
      hooks: {
        onTaskCreated: (task) => {
          created.push(task.id);
        },
        onIdle: async () => {
          idle += 1;
          if (idle === 1) await team.addTask('One more thing', { id: 'late' });
        },
      },
    });
    team.addAgent('lead', AgentRole.LEAD, offlineModel());
    team.addAgent('worker', AgentRole.WORKER, offlineModel());
    await team.addTask('First thing', { id: 'first' });
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(created).toEqual(['first', 'late']);
    expect(idle).toBe(2);
    expect(summary.tasks.map((t) => [t.id, t.status])).toEqual([
      ['first', 'completed'],
      ['late', 'completed'],
    ]);
    const toLead = await team.bus.history('lead');
    expect(toLead.filter((m) => m.kind === 'task_completed').map((m) => m.taskId)).toEqual(['first', 'late']);
    expect(toLead.some((m) => m.kind === 'idle' && m.from === 'worker')).toBe(true);
  });

  it('reports a task no agent can take instead of waiting forever', async () => {
    const team = newTeam();
    team.addAgent('worker', AgentRole.WORKER, offlineModel());
    await team.addTask('Needs a lawyer', { id: 'legal', requires: 'legal' });
    await team.addTask('After the lawyer', { id: 'after', dependencies: ['legal'] });
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(summary.status).toBe('stalled');
    expect(summary.tasks.find((t) => t.id === 'legal')?.reason).toBe('no agent on the team takes task tasks requiring "legal"');
    expect(summary.tasks.find((t) => t.id === 'after')?.reason).toMatch(/waiting for "legal" \(ready\)/);
  });

  it('gives an agent with a codebase confined file tools, and a scratch folder of its own', async () => {
    const team = newTeam();
    const code = path.join(dir, 'code');
    fs.mkdirSync(path.join(code, 'src'), { recursive: true });
    fs.writeFileSync(path.join(code, 'src', 'auth.ts'), 'export const secret = process.env.TOKEN;\n');
    const seen: Array<{ tools: string[]; workdir?: string }> = [];
    class Inspector extends Agent {
      override async execute(task: TaskRecord, ctx: TaskContext): Promise<unknown> {
        seen.push({ tools: ctx.tools.map((t) => t.name), ...(ctx.workdir ? { workdir: ctx.workdir } : {}) });
        const listed = await ctx.codebase!.list('src');
        await expect(ctx.codebase!.read('../../etc/passwd')).rejects.toThrow(/outside/);
        return listed.entries.map((e) => e.path);
      }
    }
    team.addAgent(new Inspector('inspector', 'worker', offlineModel(), { codebase: { root: code }, workdir: true }));
    team.addAgent('auditor', AgentRole.SPECIALIST, offlineModel(), { specialty: 'security', codebase: { root: code } });
    await team.addTask('List the source files', { id: 'list' });
    await team.addTask('Audit src/auth.ts for secrets handling', { id: 'audit', requires: 'security' });
    const summary = await team.run({ timeoutMs: 10_000, handleSignals: false });
    expect(summary.status).toBe('completed');
    expect(seen[0]?.tools).toEqual(['read_file', 'list_files', 'search_code']);
    expect(seen[0]?.workdir).toBe(path.join(fs.realpathSync(code), '.agents', 'inspector'));
    expect(fs.statSync(seen[0]!.workdir!).isDirectory()).toBe(true);
    expect(summary.tasks.find((t) => t.id === 'list')?.result).toEqual(['src/auth.ts']);
    // The specialist's model called the tools (the offline model does when tools are offered).
    const audit = summary.tasks.find((t) => t.id === 'audit');
    expect(audit?.status).toBe('completed');
    const calls = events(['model.call']).filter((e) => e.agentId === 'auditor');
    expect(calls.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses bad agents and options with clear errors', () => {
    const team = newTeam();
    expect(() => team.addAgent('../x', AgentRole.WORKER, offlineModel())).toThrow(/invalid agent id/);
    expect(() => team.addAgent('x', 'boss' as AgentRole, offlineModel())).toThrow(/unknown role "boss"/);
    expect(() => team.addAgent('x', AgentRole.SPECIALIST, offlineModel())).toThrow(/needs a specialty/);
    expect(() => team.addAgent('x', AgentRole.WORKER, 'gpt-4' as never)).toThrow(/gpt-4/);
    team.addAgent('x', AgentRole.WORKER, offlineModel());
    expect(() => team.addAgent('x', AgentRole.WORKER, offlineModel())).toThrow(/already on the team/);
    expect(() => newTeam({ reviewLimit: 'maybe' as never })).toThrow(/reviewLimit/);
  });
});

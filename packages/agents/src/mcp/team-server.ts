import os from 'node:os';
import {
  type AgentRecord,
  type Backend,
  type Claim,
  LeaseLostError,
  MessageBus,
  TASK_STATUSES,
  TaskQueue,
  type TaskRecord,
  type TaskStatus,
  ValidationError,
  assertValidId,
  errorMessage,
} from '@agent-team/core';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { gatherDependencies, reviewTaskFor } from '../agent/agent.js';
import { clip } from '../agent/prompts.js';
import { taskPrompt } from '../agent/prompts.js';

export interface TeamMcpServerOptions {
  /** The team's backend (a workspace folder's, or Redis). Not closed by the server. */
  backend: Backend;
  /** Lease of each claim handed out; the server renews it while the client holds the claim. @default 30000 */
  leaseMs?: number;
  /**
   * A client that makes no call for this long is taken to have forgotten its
   * claims: they are no longer renewed and expire like a dead worker's.
   * @default 3600000 (1 hour)
   */
  idleMs?: number;
  /** Attempts of the tasks added through `task_add`. @default 3 */
  maxAttempts?: number;
}

/** The server and what it holds, for the CLI and tests. */
export interface TeamMcpServer {
  readonly server: McpServer;
  /** Claims held for clients of this server right now. */
  heldClaims(): Claim[];
  /**
   * Ends the session: stops renewing the claims (they expire unless the
   * client finished them) and tells the agent directory. Does not release
   * them: a client that went away may have done half the work.
   */
  close(reason?: string): Promise<void>;
}

const VERSION = '0.1.0';

/** One tool result: JSON text a model can read. */
function ok(data: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(data, null, 2) }] };
}

function fail(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

/** A task as a client sees it in lists. */
function brief(task: TaskRecord): Record<string, unknown> {
  return {
    id: task.id,
    status: task.status,
    description: clip(task.description, 300),
    ...(task.requires ? { requires: task.requires } : {}),
    ...(task.dependencies.length ? { dependencies: task.dependencies } : {}),
    ...(task.owner ? { owner: task.owner } : {}),
    attempt: task.attempt,
    ...(task.reason ? { reason: clip(task.reason, 300) } : {}),
  };
}

/**
 * The team as an MCP server: any MCP client (Claude Code, Cursor, another
 * agent) can add, claim, complete and fail tasks and exchange messages, with
 * the same queue guarantees as the team's own agents. Claims are real leased
 * claims: the server renews them while the client holds them, and leaves
 * them to expire when the client goes away, so the task comes back to the
 * team. See docs/mcp.md.
 */
export async function createTeamMcpServer(options: TeamMcpServerOptions): Promise<TeamMcpServer> {
  // zod and the SDK load with the server, not with the package (start-up: issue 12).
  const { McpServer } = await import('@modelcontextprotocol/sdk/server/mcp.js');
  const { z } = await import('zod');
  const agentId = z
    .string()
    .describe('Your agent id, the same in every call: letters, digits, ".", "_" or "-" (e.g. "claude-code-1"). Other agents and `status` see you by it.');
  const backend = options.backend;
  const leaseMs = options.leaseMs ?? 30_000;
  const idleMs = options.idleMs ?? 3_600_000;
  const queue = TaskQueue.open({ backend, leaseMs, ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}) });
  const bus = MessageBus.open({ backend });
  const held = new Map<string, Claim>();
  const agents = new Map<string, { startedAt: number; done: number }>();
  let lastCall = Date.now();
  let lastReap = 0;
  let closed = false;

  const server = new McpServer(
    { name: 'agent-team', version: VERSION },
    {
      instructions:
        'This server is a team of agents sharing a task queue and a mailbox. To work in the team: pick an agent id and use it ' +
        'in every call; call task_claim to get a task (with its full prompt), do it, then call task_complete with your result ' +
        'or task_fail with what went wrong. Check inbox_read for messages from other agents. task_add adds work for the team.',
    },
  );

  const clientName = () => server.server.getClientVersion()?.name ?? 'mcp-client';
  const report = async (id: string, status: AgentRecord['status'], stoppedReason?: string) => {
    const seen = agents.get(id) ?? { startedAt: Date.now(), done: 0 };
    agents.set(id, seen);
    const current = [...held.values()].filter((c) => c.agentId === id).map((c) => c.taskId);
    await backend.agents
      .report({
        id,
        role: 'worker',
        model: `mcp:${clientName()}`,
        capabilities: [],
        status: current.length > 0 && status !== 'stopped' ? 'working' : status,
        current: status === 'stopped' ? [] : current,
        tasksDone: seen.done,
        pid: process.pid,
        host: os.hostname(),
        startedAt: seen.startedAt,
        lastSeen: Date.now(),
        ...(stoppedReason ? { stoppedReason } : {}),
      })
      .catch(() => {});
  };
  const forget = (taskId: string) => {
    held.delete(taskId);
  };
  // A client that stopped calling has forgotten its claims: let them expire like a dead worker's.
  const idleCheck = setInterval(() => {
    if (Date.now() - lastCall < idleMs) return;
    for (const claim of held.values()) claim.stopHeartbeat();
    held.clear();
  }, Math.min(10_000, Math.max(100, Math.floor(idleMs / 4))));
  idleCheck.unref();

  /** Runs a tool body: refreshes the client's liveness, turns errors into tool errors a model can act on. */
  const handle =
    <A>(body: (args: A) => Promise<CallToolResult>) =>
    async (args: A): Promise<CallToolResult> => {
      lastCall = Date.now();
      try {
        return await body(args);
      } catch (err) {
        if (err instanceof LeaseLostError) {
          return fail(`${errorMessage(err)}. The task's lease ran out or another agent took it over; your result was not recorded. Call task_claim for new work.`);
        }
        return fail(errorMessage(err));
      }
    };

  /** The claim this server holds for (task, agent), or an error that says what is wrong. */
  const heldClaim = async (taskId: string, agent: string): Promise<Claim | null> => {
    assertValidId('task', taskId);
    assertValidId('agent', agent);
    const claim = held.get(taskId);
    if (claim && claim.agentId === agent) return claim;
    const record = await queue.get(taskId);
    if (!record) throw new ValidationError(`there is no task "${taskId}": call task_list to see the tasks`);
    if (record.status !== 'claimed') throw new ValidationError(`task "${taskId}" is ${record.status}, not claimed: only a claimed task can be completed or failed`);
    if (record.owner !== agent) throw new ValidationError(`task "${taskId}" is held by "${record.owner ?? 'another agent'}", not by "${agent}"`);
    return null;
  };

  server.registerTool(
    'team_status',
    {
      title: 'Team status',
      description:
        'Shows where the team stands: how many tasks are in each state (ready to claim, claimed, completed, failed, ...), ' +
        'the agents that joined and what each is doing, and the tasks you hold through this connection. Call it first to get your bearings.',
      inputSchema: {},
      annotations: { readOnlyHint: true },
    },
    handle(async () => {
      const counts = await queue.counts();
      const members = await backend.agents.list();
      return ok({
        workspace: backend.location,
        counts,
        agents: members.map((a) => ({ id: a.id, role: a.role, status: a.status, doing: a.current, tasksDone: a.tasksDone, lastSeen: new Date(a.lastSeen).toISOString() })),
        heldByYou: [...held.values()].map((c) => ({ taskId: c.taskId, agentId: c.agentId, leaseUntil: new Date(c.leaseUntil).toISOString() })),
      });
    }),
  );

  server.registerTool(
    'task_add',
    {
      title: 'Add a task',
      description:
        'Adds a task to the team\'s queue for any agent to claim. Give a description a capable agent can act on without asking ' +
        'questions. Optional: your own id (others refer to it), dependencies (ids of tasks that must complete first; their results ' +
        'are given to whoever does this one), requires (a role or specialty the claimer must have, e.g. "security"), and review ' +
        '(true holds the result until a reviewer approves it). Returns the task with its id.',
      inputSchema: {
        id: z.string().optional().describe('Your own id for the task (letters, digits, ".", "_", "-"); one is generated when omitted.'),
        description: z.string().min(1).describe('What to do, in full.'),
        dependencies: z.array(z.string()).optional().describe('Ids of tasks that must complete before this one can be claimed.'),
        requires: z.string().optional().describe('A role or specialty the agent taking it must have.'),
        review: z.boolean().optional().describe('Hold the result for a reviewer before it counts as done.'),
      },
    },
    handle(async (args: { id?: string; description: string; dependencies?: string[]; requires?: string; review?: boolean }) => {
      const task = await queue.add({
        description: args.description,
        ...(args.id !== undefined ? { id: args.id } : {}),
        ...(args.dependencies ? { dependencies: args.dependencies } : {}),
        ...(args.requires !== undefined ? { requires: args.requires } : {}),
        ...(args.review !== undefined ? { metadata: { review: args.review } } : {}),
      });
      return ok(brief(task));
    }),
  );

  server.registerTool(
    'task_claim',
    {
      title: 'Claim the next task',
      description:
        'Claims the next task you can do and returns it with its full prompt (the task, the results of the tasks it depends on, ' +
        'and feedback from earlier attempts). The task is yours until you call task_complete or task_fail; other agents cannot take ' +
        'it meanwhile. Finish it in this session: if you disconnect, or make no call to this server for a long time, the claim ' +
        'lapses and the task goes back to the team. Returns {"task": null} when nothing is ready for you; try again later or ' +
        'look at team_status. Pass requires to also take tasks that require that role or specialty.',
      inputSchema: {
        agentId,
        requires: z.string().optional().describe('A role or specialty you have (e.g. "security"): tasks that require it become claimable by you too.'),
      },
    },
    handle(async (args: { agentId: string; requires?: string }) => {
      assertValidId('agent', args.agentId);
      if (args.requires !== undefined) assertValidId('requirement', args.requires);
      const request = { agentId: args.agentId, types: ['task'], capabilities: args.requires ? [args.requires] : [], acceptUnrequired: true, leaseMs };
      let claim = await queue.claim(request);
      if (!claim && Date.now() - lastReap > 1000) {
        // Tasks of agents that died come back only once someone takes their expired leases over.
        lastReap = Date.now();
        const reaped = await queue.reap();
        if (reaped.requeued.length > 0) claim = await queue.claim(request);
      }
      await bus.register(args.agentId);
      if (!claim) {
        await report(args.agentId, 'idle');
        return ok({ task: null, message: 'Nothing is ready for you right now.' });
      }
      held.set(claim.taskId, claim);
      claim.signal.addEventListener('abort', () => forget(claim.taskId), { once: true });
      await report(args.agentId, 'working');
      const task = claim.task;
      const { dependencies } = await gatherDependencies(queue, task);
      return ok({
        task: {
          id: task.id,
          description: task.description,
          attempt: task.attempt,
          ...(task.requires ? { requires: task.requires } : {}),
          ...(task.feedback.length ? { feedback: task.feedback } : {}),
          ...(task.metadata.review === true ? { review: true } : {}),
        },
        prompt: taskPrompt(task, { dependencies, feedback: task.feedback, messages: [] }),
        leaseMs,
        instructions: `Do the task, then call task_complete with id "${task.id}" and your result, or task_fail with the error.`,
      });
    }),
  );

  server.registerTool(
    'task_complete',
    {
      title: 'Complete a task',
      description:
        'Records the result of a task you claimed and marks it done (or held for review, if the task asks for one). The result is ' +
        'what the agents that depend on this task will see: make it self-contained (what you did, what changed, anything they must ' +
        'know). A string or any JSON value. Fails if you do not hold the task (your claim lapsed or it is someone else\'s).',
      inputSchema: {
        id: z.string().describe('The id of the task you claimed.'),
        agentId,
        result: z.any().describe('Your result: text, or any JSON value.'),
      },
    },
    handle(async (args: { id: string; agentId: string; result: unknown }) => {
      const claim = await heldClaim(args.id, args.agentId);
      const review = claim ? claim.task.metadata.review === true && claim.task.type !== 'review' : false;
      const record = claim ? await claim.complete(args.result ?? null, { review }) : await queue.completeTask(args.id, args.agentId, args.result ?? null);
      forget(args.id);
      if (record.status === 'review') await queue.add(reviewTaskFor(record));
      const seen = agents.get(args.agentId);
      if (seen) seen.done += 1;
      await report(args.agentId, 'idle');
      return ok({ ...brief(record), ...(record.status === 'review' ? { note: 'held for review: it counts as done once a reviewer approves it' } : {}) });
    }),
  );

  server.registerTool(
    'task_fail',
    {
      title: 'Fail a task',
      description:
        'Gives up on a task you claimed, saying why. The error is kept with the task; it is retried later (by you or another ' +
        'agent, who will see what went wrong) until its attempts run out, then it fails for good. Use it when you cannot finish, ' +
        'rather than leaving the claim to lapse.',
      inputSchema: {
        id: z.string().describe('The id of the task you claimed.'),
        agentId,
        error: z.string().min(1).describe('What went wrong, for whoever tries next.'),
      },
    },
    handle(async (args: { id: string; agentId: string; error: string }) => {
      const claim = await heldClaim(args.id, args.agentId);
      const record = claim ? await claim.fail(args.error) : await queue.failTask(args.id, args.agentId, args.error);
      forget(args.id);
      await report(args.agentId, 'idle');
      return ok(brief(record));
    }),
  );

  server.registerTool(
    'task_list',
    {
      title: 'List tasks',
      description:
        'Lists the team\'s tasks (at most 200) with their status, owner and attempt: pending (waiting for dependencies), ready, ' +
        'delayed (a retry waiting), claimed, review, completed, failed, blocked or cancelled. Pass status to see one state only.',
      inputSchema: {
        status: z.enum(TASK_STATUSES as unknown as [TaskStatus, ...TaskStatus[]]).optional().describe('Only tasks in this state.'),
      },
      annotations: { readOnlyHint: true },
    },
    handle(async (args: { status?: TaskStatus }) => {
      const tasks = await queue.list({ ...(args.status ? { status: args.status } : {}), limit: 200 });
      return ok({ tasks: tasks.map(brief), counts: await queue.counts() });
    }),
  );

  server.registerTool(
    'message_send',
    {
      title: 'Send a message',
      description:
        'Sends a message to another agent of the team (by its id), or to every agent with to "*". Use it to ask a question, ' +
        'hand over context, or warn others (e.g. "I am changing the API of module X"). The body is text or any JSON value.',
      inputSchema: {
        from: z.string().describe('Your agent id.'),
        to: z.string().describe('The recipient agent id, or "*" for everyone.'),
        body: z.any().describe('The message: text or any JSON value.'),
      },
    },
    handle(async (args: { from: string; to: string; body: unknown }) => {
      assertValidId('agent', args.from);
      if (args.to !== '*') assertValidId('agent', args.to);
      const message = await bus.send({ from: args.from, to: args.to, kind: 'text', body: args.body ?? '' });
      return ok({ id: message.id, to: message.to, sentAt: new Date(message.ts).toISOString() });
    }),
  );

  server.registerTool(
    'inbox_read',
    {
      title: 'Read your messages',
      description:
        'Returns the messages sent to you (and to everyone) that you have not acknowledged, oldest first. Pass ack: true to mark ' +
        'them read so they are not returned again; without it they stay in your inbox.',
      inputSchema: {
        agentId,
        ack: z.boolean().optional().describe('Mark the returned messages read. Default false.'),
      },
    },
    handle(async (args: { agentId: string; ack?: boolean }) => {
      assertValidId('agent', args.agentId);
      await bus.register(args.agentId);
      const messages = await bus.receive(args.agentId, { limit: 100 });
      if (args.ack && messages.length > 0) await bus.ack(args.agentId, messages);
      return ok({
        messages: messages.map((m) => ({ id: m.id, from: m.from, kind: m.kind, body: m.body, sentAt: new Date(m.ts).toISOString(), ...(m.taskId ? { taskId: m.taskId } : {}) })),
        acked: Boolean(args.ack),
      });
    }),
  );

  return {
    server,
    heldClaims: () => [...held.values()],
    close: async (reason = 'the client went away') => {
      if (closed) return;
      closed = true;
      clearInterval(idleCheck);
      for (const id of agents.keys()) await report(id, 'stopped', reason);
      held.clear();
      // Closing the queue stops the heartbeats and leaves the claims to expire.
      await queue.close();
      await bus.close();
      await server.close().catch(() => {});
    },
  };
}

/**
 * Serves the team on stdio until the client goes away (standard input ends)
 * or the process is told to stop; claims still held then are left to expire.
 */
export async function serveTeamOverStdio(options: TeamMcpServerOptions): Promise<void> {
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  const team = await createTeamMcpServer(options);
  const transport = new StdioServerTransport();
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (reason: string) => {
      if (done) return;
      done = true;
      team.close(reason).then(resolve, reject);
    };
    // The SDK's stdio transport does not notice the end of its input: a client that exits closes it.
    process.stdin.once('end', () => finish('the client closed the connection'));
    process.stdin.once('close', () => finish('the client closed the connection'));
    process.once('SIGTERM', () => finish('stopped by SIGTERM'));
    process.once('SIGINT', () => finish('stopped by SIGINT'));
    transport.onclose = () => finish('the connection closed');
    team.server.connect(transport).catch((err: unknown) => {
      done = true;
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

// OpenTelemetry: the spans of a run across two processes form one tree. The
// test process opens a span and adds a task inside it; a worker process (its
// own tracer provider, as an application registers one) works the task with
// a model that calls a tool, and a reviewer reviews it. Every span of the
// worker process joins the test's trace, through the traceparent the task carries.
import fs from 'node:fs';
import path from 'node:path';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runScript } from '../../../core/test/helpers/processes.js';
import { AgentTeam } from '../../src/index.js';
import { tempDir } from '../helpers.js';

interface ExportedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
}

const fixture = path.join(import.meta.dirname, 'fixtures', 'traced-team.ts');
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
afterAll(() => provider.shutdown());

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function workInChild(workspace: string, codebase: string, mode: 'traced' | 'untraced') {
  const out = path.join(path.dirname(workspace), `spans-${mode}.json`);
  const child = runScript(fixture, [workspace, codebase, out, mode]);
  const exit = await child.exited;
  expect(exit, child.lines.join('\n')).toEqual({ code: 0, signal: null });
  return JSON.parse(fs.readFileSync(out, 'utf8')) as { status: string; spans: ExportedSpan[] };
}

function setup() {
  dir = tempDir('otel-');
  const workspace = path.join(dir, 'ws');
  const codebase = path.join(dir, 'code');
  fs.mkdirSync(codebase);
  fs.writeFileSync(path.join(codebase, 'notes.txt'), 'ship on Friday\n');
  return { workspace, codebase };
}

describe('OpenTelemetry traces', () => {
  it('one tree across two processes: attempt spans under the span that added the task, model and tool calls under their attempt, the review under the work it reviews', async () => {
    const { workspace, codebase } = setup();
    const adder = new AgentTeam({ workspace });
    const root = await trace.getTracer('test').startActiveSpan('release checklist', async (span) => {
      await adder.addTask('Read notes.txt and say when we ship', { id: 'read-notes', review: true });
      span.end();
      return span.spanContext();
    });
    await adder.close();
    const task = await new AgentTeam({ workspace }).queue.get('read-notes');
    expect(task?.metadata.traceparent).toBe(`00-${root.traceId}-${root.spanId}-01`);

    const { status, spans } = await workInChild(workspace, codebase, 'traced');
    expect(status).toBe('completed');
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([root.traceId]));

    const attempts = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent');
    const work = attempts.find((s) => s.attributes['agent_team.task.id'] === 'read-notes');
    expect(work).toMatchObject({
      name: 'invoke_agent w1',
      parentSpanId: root.spanId,
      attributes: { 'agent_team.agent.id': 'w1', 'agent_team.agent.role': 'worker', 'agent_team.task.attempt': 1, 'agent_team.task.outcome': 'review' },
    });
    const review = attempts.find((s) => s.attributes['agent_team.task.type'] === 'review');
    expect(review).toMatchObject({ name: 'invoke_agent r1', parentSpanId: work?.spanId, attributes: { 'agent_team.task.outcome': 'completed' } });

    const chats = spans.filter((s) => s.parentSpanId === work?.spanId && s.attributes['gen_ai.operation.name'] === 'chat');
    expect(chats.map((s) => s.name)).toEqual(['chat scripted', 'chat scripted']);
    expect(chats.map((s) => s.attributes['gen_ai.response.finish_reasons'])).toEqual([['tool_calls'], ['stop']]);
    for (const chat of chats) {
      expect(chat.attributes).toMatchObject({ 'gen_ai.provider.name': 'function', 'gen_ai.request.model': 'scripted', 'gen_ai.response.model': 'function:scripted' });
      expect(chat.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
      expect(chat.attributes['gen_ai.usage.output_tokens']).toBeGreaterThanOrEqual(0);
    }
    const tools = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'execute_tool');
    expect(tools).toHaveLength(1);
    expect(tools[0]).toMatchObject({ name: 'execute_tool read_file', parentSpanId: work?.spanId, attributes: { 'gen_ai.tool.name': 'read_file' } });
    expect(typeof tools[0]?.attributes['gen_ai.tool.call.id']).toBe('string');
    // The reviewer's model call is its attempt's child too.
    expect(spans.some((s) => s.parentSpanId === review?.spanId && s.name === 'chat offline')).toBe(true);
    // The test process's own span was exported here, as the root.
    expect(exporter.getFinishedSpans().map((s) => s.spanContext().spanId)).toContain(root.spanId);
  });

  it('without a registered tracer provider nothing is traced and nothing changes: the run completes and tasks carry no trace', async () => {
    const { workspace, codebase } = setup();
    const adder = new AgentTeam({ workspace });
    await adder.addTask('Read notes.txt and say when we ship', { id: 'read-notes', review: true });
    await adder.close();
    const { status, spans } = await workInChild(workspace, codebase, 'untraced');
    expect(status).toBe('completed');
    expect(spans).toEqual([]);
    const team = new AgentTeam({ workspace });
    const tasks = await team.queue.list();
    expect(tasks.map((t) => t.status).sort()).toEqual(['completed', 'completed']);
    for (const t of tasks) expect(t.metadata.traceparent).toBeUndefined();
    await team.close();
  });
});

/**
 * OpenTelemetry traces of a team's work, when the application has
 * `@opentelemetry/api` installed and a tracer provider registered (an optional
 * peer dependency: without it nothing here costs more than one failed import
 * per process, and nothing changes).
 *
 * The tree of a run: a span per task attempt (`invoke_agent <agent>`), under
 * it a span per model call (`chat <model>`, with the GenAI semantic
 * conventions' attributes) and a span per tool call (`execute_tool <tool>`).
 * A task carries the W3C `traceparent` of the span that added it
 * (`metadata.traceparent`), so an attempt in another process, even on another
 * machine through Redis, joins the trace of the work that asked for it.
 *
 * The types of `@opentelemetry/api` stay inside this module: nothing public
 * names them, so a consumer without the package type-checks as before.
 */
import type * as OtelModule from '@opentelemetry/api';
import type { Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import type { TaskRecord } from '@agent-team/core';
import type { ExecutableTool, GenerateRequest, GenerateResponse, LanguageModel, StreamEvent } from '../models/index.js';

type OtelApi = typeof OtelModule;

/** How an attempt ended, as the span's `agent_team.task.outcome` says. */
export type AttemptOutcome = 'completed' | 'review' | 'failed' | 'lost' | 'handed_back' | 'deferred' | 'vetoed';

/** One task attempt's span, and what runs inside it. */
export interface AttemptTrace {
  /** The W3C traceparent of this attempt, for the tasks it adds; undefined when not traced. */
  traceparent(): string | undefined;
  outcome(outcome: AttemptOutcome, error?: string): void;
  /** Runs `fn` with this attempt as the active span (for the application's own spans). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** The model, each call a child span of this attempt. */
  model(model: LanguageModel): LanguageModel;
  /** The tools, each call a child span of this attempt. */
  tools(tools: readonly ExecutableTool[]): ExecutableTool[];
  end(): void;
}

export interface Tracing {
  readonly enabled: boolean;
  attempt(task: TaskRecord, info: { agentId: string; role: string; teamId: string }): AttemptTrace;
  /** The traceparent of the application's active span, if any (for tasks it adds). */
  activeTraceparent(): string | undefined;
}

const NO_ATTEMPT: AttemptTrace = {
  traceparent: () => undefined,
  outcome: () => {},
  run: (fn) => fn(),
  model: (model) => model,
  tools: (tools) => [...tools],
  end: () => {},
};

export const NO_TRACING: Tracing = { enabled: false, attempt: () => NO_ATTEMPT, activeTraceparent: () => undefined };

const TRACER_NAME = '@agent-team/agents';
let loading: Promise<Tracing> | undefined;

/**
 * The process's tracing: OpenTelemetry when `@opentelemetry/api` can be
 * imported, otherwise {@link NO_TRACING}. Loaded once; spans record only once
 * the application registers a tracer provider (before or after this call).
 */
export function loadTracing(): Promise<Tracing> {
  loading ??= import('@opentelemetry/api').then(
    (api) => otelTracing(api),
    () => NO_TRACING,
  );
  return loading;
}

/** Adds the traceparent to a task input's metadata, unless it has one already. */
export function withTraceparent<T extends { metadata?: Record<string, unknown> }>(input: T, traceparent: string | undefined): T {
  if (traceparent === undefined || typeof input.metadata?.traceparent === 'string') return input;
  return { ...input, metadata: { ...(input.metadata ?? {}), traceparent } };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function otelTracing(api: OtelApi): Tracing {
  const tracer = (): Tracer => api.trace.getTracer(TRACER_NAME);
  const format = (sc: SpanContext | undefined): string | undefined =>
    sc && api.isSpanContextValid(sc) ? `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}` : undefined;
  const parentOf = (task: TaskRecord): Context => {
    const carried = task.metadata.traceparent;
    const match = typeof carried === 'string' ? TRACEPARENT.exec(carried) : null;
    if (!match) return api.context.active();
    const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
    const sc: SpanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
    return api.isSpanContextValid(sc) ? api.trace.setSpanContext(api.ROOT_CONTEXT, sc) : api.context.active();
  };
  const failed = (span: Span, err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message });
    span.setAttribute('error.type', err instanceof Error ? err.name : 'Error');
  };

  return {
    enabled: true,
    activeTraceparent: () => format(api.trace.getSpan(api.context.active())?.spanContext()),
    attempt(task, info) {
      const span = tracer().startSpan(
        `invoke_agent ${info.agentId}`,
        {
          kind: api.SpanKind.INTERNAL,
          attributes: {
            'gen_ai.operation.name': 'invoke_agent',
            'gen_ai.agent.id': info.agentId,
            'gen_ai.agent.name': info.agentId,
            'agent_team.team.id': info.teamId,
            'agent_team.agent.id': info.agentId,
            'agent_team.agent.role': info.role,
            'agent_team.task.id': task.id,
            'agent_team.task.type': task.type,
            'agent_team.task.attempt': task.attempt,
          },
        },
        parentOf(task),
      );
      const inside = api.trace.setSpan(api.context.active(), span);
      let ended = false;
      return {
        traceparent: () => format(span.spanContext()),
        outcome(outcome, error) {
          span.setAttribute('agent_team.task.outcome', outcome);
          if (error !== undefined) span.setStatus({ code: api.SpanStatusCode.ERROR, message: error });
        },
        run: (fn) => api.context.with(inside, fn),
        model: (model) => tracedModel(api, tracer, model, inside, failed),
        tools: (tools) => tools.map((tool) => tracedTool(api, tracer, tool, inside, failed)),
        end() {
          if (ended) return;
          ended = true;
          span.end();
        },
      };
    },
  };
}

function modelName(model: LanguageModel): string {
  const colon = model.id.indexOf(':');
  return colon === -1 ? model.id : model.id.slice(colon + 1);
}

function tracedModel(
  api: OtelApi,
  tracer: () => Tracer,
  model: LanguageModel,
  parent: Context,
  failed: (span: Span, err: unknown) => void,
): LanguageModel {
  const start = (request: GenerateRequest): Span => {
    const name = modelName(model);
    const attributes: Record<string, string | number> = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': model.provider,
      'gen_ai.system': model.provider,
      'gen_ai.request.model': name,
    };
    if (request.maxTokens !== undefined) attributes['gen_ai.request.max_tokens'] = request.maxTokens;
    if (request.temperature !== undefined) attributes['gen_ai.request.temperature'] = request.temperature;
    if (request.seed !== undefined) attributes['gen_ai.request.seed'] = request.seed;
    if (request.purpose !== undefined) attributes['agent_team.purpose'] = request.purpose;
    return tracer().startSpan(`chat ${name}`, { kind: api.SpanKind.CLIENT, attributes }, parent);
  };
  const finish = (span: Span, response: GenerateResponse): void => {
    span.setAttributes({
      'gen_ai.response.model': response.model,
      'gen_ai.response.finish_reasons': [response.finishReason],
      'gen_ai.usage.input_tokens': response.usage.inputTokens,
      'gen_ai.usage.output_tokens': response.usage.outputTokens,
    });
    if (response.usage.cacheReadTokens) span.setAttribute('gen_ai.usage.cache_read.input_tokens', response.usage.cacheReadTokens);
    if (response.usage.cacheWriteTokens) span.setAttribute('gen_ai.usage.cache_creation.input_tokens', response.usage.cacheWriteTokens);
    if (response.costUsd !== null) span.setAttribute('agent_team.cost_usd', response.costUsd);
    if (response.toolCalls.length > 0) span.setAttribute('agent_team.tool_calls', response.toolCalls.length);
  };
  return {
    id: model.id,
    provider: model.provider,
    async generate(request) {
      const span = start(request);
      try {
        const response = await api.context.with(api.trace.setSpan(parent, span), () => model.generate(request));
        finish(span, response);
        return response;
      } catch (err) {
        failed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
    async *stream(request): AsyncGenerator<StreamEvent> {
      const span = start(request);
      try {
        for await (const event of model.stream(request)) {
          if (event.type === 'done') finish(span, event.response);
          yield event;
        }
      } catch (err) {
        failed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  };
}

function tracedTool(
  api: OtelApi,
  tracer: () => Tracer,
  tool: ExecutableTool,
  parent: Context,
  failed: (span: Span, err: unknown) => void,
): ExecutableTool {
  return {
    ...tool,
    async execute(args, context) {
      const span = tracer().startSpan(
        `execute_tool ${tool.name}`,
        {
          kind: api.SpanKind.INTERNAL,
          attributes: {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': tool.name,
            'gen_ai.tool.type': 'function',
            'gen_ai.tool.call.id': context.toolCallId,
          },
        },
        parent,
      );
      try {
        return await api.context.with(api.trace.setSpan(parent, span), () => tool.execute(args, context));
      } catch (err) {
        failed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  };
}

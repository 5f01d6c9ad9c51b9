import { AbortError, checkInt, errorMessage } from '@agent-team/core';
import { MaxStepsExceededError } from './errors.js';
import { validateJsonSchema } from './json-schema.js';
import type { GenerateRequest, GenerateResponse, LanguageModel, ModelMessage, ToolCall, ToolDefinition, Usage } from './types.js';

/** What a tool's `execute` gets besides its arguments. */
export interface ToolContext {
  /** The run's signal: long tools should stop when it aborts. */
  signal: AbortSignal | undefined;
  toolCallId: string;
  /** The transcript so far (read-only). */
  messages: readonly ModelMessage[];
}

export interface ExecutableTool<Args = Record<string, unknown>> extends ToolDefinition {
  execute(args: Args, context: ToolContext): unknown;
}

export interface RunToolsOptions {
  /**
   * Model calls at most; a model still asking for tools after that throws {@link MaxStepsExceededError}.
   * @default 8
   */
  maxSteps?: number;
  /**
   * Check arguments against the tool's `parameters` schema before running it;
   * invalid arguments go back to the model as an error result.
   * @default true
   */
  validateArguments?: boolean;
  /** Called after each model call, for progress display and logging. */
  onStep?: (step: { step: number; response: GenerateResponse }) => void;
}

export interface RunToolsResult {
  /** The final answer (no tool calls). */
  response: GenerateResponse;
  /** The whole conversation: the request's messages, then each assistant turn and tool result. */
  messages: ModelMessage[];
  /** Model calls made. */
  steps: number;
  /** Tokens over all steps. */
  usage: Usage;
}

/**
 * The tool loop: ask the model; run the tools it calls; send the results back;
 * repeat until it answers without calling a tool. A tool that throws, an
 * unknown tool or invalid arguments become an error result the model can act
 * on, not an exception. An abort does end the loop.
 */
export async function runTools(
  model: LanguageModel,
  request: GenerateRequest,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each tool declares its own argument type
  tools: ReadonlyArray<ExecutableTool<any>>,
  options: RunToolsOptions = {},
): Promise<RunToolsResult> {
  const maxSteps = options.maxSteps ?? 8;
  checkInt('maxSteps', maxSteps, { min: 1 });
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const definitions: ToolDefinition[] = [
    ...(request.tools ?? []).filter((tool) => !byName.has(tool.name)),
    ...tools.map(({ name, description, parameters }) => ({ name, description, parameters })),
  ];
  const messages: ModelMessage[] = [...request.messages];
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };

  let lastCalls: ToolCall[] = [];
  for (let step = 1; step <= maxSteps; step++) {
    const response = await model.generate({ ...request, messages: [...messages], tools: definitions });
    usage.inputTokens += response.usage.inputTokens;
    usage.outputTokens += response.usage.outputTokens;
    options.onStep?.({ step, response });
    if (response.toolCalls.length === 0) return { response, messages, steps: step, usage };

    lastCalls = response.toolCalls;
    messages.push({ role: 'assistant', content: response.text, toolCalls: response.toolCalls });
    for (const call of response.toolCalls) {
      if (request.signal?.aborted) throw new AbortError(`the tool loop of ${model.id} was aborted`);
      const content = await runOne(call, byName, messages, request.signal, options.validateArguments ?? true);
      messages.push({ role: 'tool', toolCallId: call.id, toolName: call.name, content });
    }
  }
  throw new MaxStepsExceededError({
    provider: model.provider,
    modelId: model.id,
    maxSteps,
    messages,
    lastTools: [...new Set(lastCalls.map((call) => call.name))],
  });
}

async function runOne(
  call: ToolCall,
  byName: ReadonlyMap<string, ExecutableTool<unknown>>,
  messages: readonly ModelMessage[],
  signal: AbortSignal | undefined,
  validate: boolean,
): Promise<string> {
  const tool = byName.get(call.name);
  if (!tool) {
    return `error: there is no tool named "${call.name}"; available tools: ${[...byName.keys()].join(', ') || 'none'}`;
  }
  if (call.rawArguments !== undefined) {
    return `error: the arguments for "${call.name}" were not a JSON object (${call.rawArguments.slice(0, 200)}); call it again with a JSON object`;
  }
  if (validate) {
    const problems = validateJsonSchema(call.arguments, tool.parameters);
    if (problems.length > 0) {
      return `error: invalid arguments for "${call.name}":\n${problems.map((p) => `- ${p}`).join('\n')}`;
    }
  }
  try {
    const result: unknown = await tool.execute(call.arguments, { signal, toolCallId: call.id, messages });
    return stringifyResult(result);
  } catch (error) {
    if (error instanceof AbortError || signal?.aborted) throw error;
    return `error: ${call.name} failed: ${errorMessage(error)}`;
  }
}

function stringifyResult(result: unknown): string {
  if (typeof result === 'string') return result;
  if (result === undefined) return '(no result)';
  try {
    return JSON.stringify(result) ?? typeof result;
  } catch {
    return Object.prototype.toString.call(result);
  }
}

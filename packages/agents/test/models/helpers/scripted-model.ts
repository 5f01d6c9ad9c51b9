import type { GenerateRequest, GenerateResponse, LanguageModel, StreamEvent, ToolCall } from '../../../src/models/index.js';

export type ScriptStep = string | { text?: string; toolCalls?: ToolCall[]; finishReason?: GenerateResponse['finishReason'] };

/** A model that answers from a script and records every request, for testing the helpers built on the seam. */
export class ScriptedModel implements LanguageModel {
  readonly id = 'scripted:test';
  readonly provider = 'scripted';
  readonly requests: GenerateRequest[] = [];

  constructor(private readonly script: ScriptStep[]) {}

  async generate(request: GenerateRequest): Promise<GenerateResponse> {
    this.requests.push(request);
    const step = this.script.shift();
    if (step === undefined) throw new Error('the script ran out');
    const { text = '', toolCalls = [], finishReason } = typeof step === 'string' ? { text: step } : step;
    return {
      text,
      toolCalls,
      usage: { inputTokens: 10, outputTokens: 5 },
      model: 'scripted',
      provider: 'scripted',
      finishReason: finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      costUsd: null,
    };
  }

  async *stream(request: GenerateRequest): AsyncGenerator<StreamEvent> {
    const response = await this.generate(request);
    yield { type: 'text', delta: response.text };
    yield { type: 'done', response };
  }
}

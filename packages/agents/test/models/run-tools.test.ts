import { AbortError } from '@agent-team/core';
import { describe, expect, it } from 'vitest';
import { MaxStepsExceededError } from '../../src/models/errors.js';
import { runTools, type ExecutableTool } from '../../src/models/run-tools.js';
import { ScriptedModel } from './helpers/scripted-model.js';

const ask = { messages: [{ role: 'user' as const, content: 'Add 2 and 3, then report' }] };
const add: ExecutableTool<{ a: number; b: number }> = {
  name: 'add',
  description: 'Add two numbers',
  parameters: { type: 'object', required: ['a', 'b'], properties: { a: { type: 'number' }, b: { type: 'number' } } },
  execute: ({ a, b }) => a + b,
};
const call = (name: string, args: Record<string, unknown>, id = `id-${name}`) => ({ toolCalls: [{ id, name, arguments: args }] });

describe('runTools', () => {
  it('runs the calls, sends results back, and returns the final answer with the transcript', async () => {
    const model = new ScriptedModel([call('add', { a: 2, b: 3 }), 'The sum is 5.']);
    const result = await runTools(model, ask, [add]);
    expect(result.response.text).toBe('The sum is 5.');
    expect(result.steps).toBe(2);
    expect(result.usage).toEqual({ inputTokens: 20, outputTokens: 10 });
    expect(result.messages).toEqual([
      ask.messages[0],
      { role: 'assistant', content: '', toolCalls: [{ id: 'id-add', name: 'add', arguments: { a: 2, b: 3 } }] },
      { role: 'tool', toolCallId: 'id-add', toolName: 'add', content: '5' },
    ]);
    expect(model.requests[0]?.tools?.map((t) => t.name)).toEqual(['add']);
    expect(model.requests[1]?.messages).toHaveLength(3);
  });

  it('feeds tool errors, unknown tools and invalid arguments back to the model instead of throwing', async () => {
    const boom: ExecutableTool = {
      name: 'boom',
      description: 'Always fails',
      parameters: { type: 'object', properties: {} },
      execute: () => {
        throw new Error('disk full');
      },
    };
    const model = new ScriptedModel([
      {
        toolCalls: [
          { id: '1', name: 'boom', arguments: {} },
          { id: '2', name: 'nope', arguments: {} },
          { id: '3', name: 'add', arguments: { a: 'two' } },
          { id: '4', name: 'add', arguments: {}, rawArguments: '{"a": 2,' },
        ],
      },
      'I could not finish.',
    ]);
    const result = await runTools(model, ask, [add, boom]);
    const results = result.messages.filter((m) => m.role === 'tool').map((m) => m.content);
    expect(results[0]).toBe('error: boom failed: disk full');
    expect(results[1]).toBe('error: there is no tool named "nope"; available tools: add, boom');
    expect(results[2]).toContain('invalid arguments for "add"');
    expect(results[2]).toContain('$.a: must be a number, got string "two"');
    expect(results[2]).toContain('$.b: is required but missing');
    expect(results[3]).toContain('were not a JSON object');
    expect(result.response.text).toBe('I could not finish.');
  });

  it('throws MaxStepsExceededError with the transcript when the model keeps calling tools', async () => {
    const model = new ScriptedModel([call('add', { a: 1, b: 1 }, 'a'), call('add', { a: 2, b: 2 }, 'b'), call('add', { a: 3, b: 3 }, 'c')]);
    const error = await runTools(model, ask, [add], { maxSteps: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaxStepsExceededError);
    const maxed = error as MaxStepsExceededError;
    expect(maxed.maxSteps).toBe(2);
    expect(maxed.message).toContain('after 2 steps');
    expect(maxed.message).toContain('add');
    expect(maxed.messages.filter((m) => m.role === 'tool').map((m) => m.content)).toEqual(['2', '4']);
    expect(model.requests).toHaveLength(2);
  });

  it('stops on abort rather than feeding it back as a tool error', async () => {
    const controller = new AbortController();
    const slow: ExecutableTool = {
      name: 'slow',
      description: 'Takes a while',
      parameters: { type: 'object', properties: {} },
      execute: (_args, context) =>
        new Promise((_resolve, reject) => {
          context.signal?.addEventListener('abort', () => reject(new AbortError('tool aborted')));
          controller.abort();
        }),
    };
    const model = new ScriptedModel([call('slow', {}), 'never']);
    await expect(runTools(model, { ...ask, signal: controller.signal }, [slow])).rejects.toBeInstanceOf(AbortError);
  });
});

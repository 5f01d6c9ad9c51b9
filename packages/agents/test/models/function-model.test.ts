import { AbortError } from '@agent-team/core';
import { describe, expect, it } from 'vitest';
import { ModelError, ModelTimeoutError } from '../../src/models/errors.js';
import { fromFunction } from '../../src/models/function-model.js';
import { registerSecret } from '../../src/models/secrets.js';
import { runTools } from '../../src/models/run-tools.js';

describe('fromFunction', () => {
  it('passes a lone prompt as it is, like the seed design’s llm_fn', async () => {
    const prompts: string[] = [];
    const model = fromFunction(function echo(prompt) {
      prompts.push(prompt);
      return `echo: ${prompt}`;
    });
    const response = await model.generate({ messages: [{ role: 'user', content: 'Summarise the findings' }] });
    expect(prompts).toEqual(['Summarise the findings']);
    expect(model.id).toBe('function:echo');
    expect(response).toMatchObject({ text: 'echo: Summarise the findings', provider: 'function', model: 'function:echo', finishReason: 'stop', costUsd: null });
    expect(response.usage).toEqual({ inputTokens: Math.ceil((22 + 4) / 4), outputTokens: Math.ceil(response.text.length / 4) });
  });

  it('flattens the system prompt and a conversation into one prompt', async () => {
    let seen = '';
    const model = fromFunction(
      async (prompt, request) => {
        seen = prompt;
        return { text: `ok ${request.purpose ?? ''}`, usage: { inputTokens: 1, outputTokens: 2 } };
      },
      { id: 'function:mine', price: { inputPerMTok: 1e6, outputPerMTok: 1e6 } },
    );
    const response = await model.generate({
      system: 'You are terse.',
      purpose: 'task',
      messages: [
        { role: 'user', content: 'First question' },
        { role: 'assistant', content: 'First answer' },
        { role: 'user', content: 'Second question' },
      ],
    });
    expect(seen).toBe('You are terse.\n\nUser: First question\n\nAssistant: First answer\n\nUser: Second question');
    expect(response).toMatchObject({ text: 'ok task', usage: { inputTokens: 1, outputTokens: 2 }, costUsd: 3, model: 'function:mine' });
  });

  it('drives the tool loop as a scripted model: its tool calls run, their results come back in the request', async () => {
    const seen: string[] = [];
    const model = fromFunction((_prompt, request) => {
      const last = request.messages.at(-1);
      if (last?.role === 'tool') {
        seen.push(last.content);
        return `the file says ${last.content}`;
      }
      return { text: '', toolCalls: [{ name: 'read', arguments: { path: 'a.txt' } }] };
    });
    const read = { name: 'read', description: 'read a file', parameters: { type: 'object' as const, properties: { path: { type: 'string' as const } }, required: ['path'] }, execute: (args: { path: string }) => `contents of ${args.path}` };
    const { response, steps } = await runTools(model, { messages: [{ role: 'user', content: 'what is in a.txt?' }] }, [read]);
    expect(steps).toBe(2);
    expect(seen).toEqual(['contents of a.txt']);
    expect(response).toMatchObject({ text: 'the file says contents of a.txt', finishReason: 'stop' });
    const first = await model.generate({ messages: [{ role: 'user', content: 'go' }] });
    expect(first.finishReason).toBe('tool_calls');
    expect(first.toolCalls[0]).toMatchObject({ name: 'read', arguments: { path: 'a.txt' } });
    expect(first.toolCalls[0]?.id).toMatch(/^call_\d+$/);
  });

  it('refuses a tool call without a name, naming what to return', async () => {
    const model = fromFunction(() => ({ text: '', toolCalls: [{ arguments: {} } as never] }));
    await expect(model.generate({ messages: [{ role: 'user', content: 'go' }] })).rejects.toThrow(/tool call 0 without a name/);
  });

  it('streams its answer as text then done', async () => {
    const events = [];
    for await (const event of fromFunction(() => 'streamed').stream({ messages: [{ role: 'user', content: 'x' }] })) events.push(event);
    expect(events.map((e) => e.type)).toEqual(['text', 'done']);
    expect(events[0]).toEqual({ type: 'text', delta: 'streamed' });
  });

  it('times out and aborts a function that never answers', async () => {
    const never = fromFunction(() => new Promise<string>(() => {}));
    await expect(never.generate({ messages: [{ role: 'user', content: 'x' }], timeoutMs: 50 })).rejects.toBeInstanceOf(ModelTimeoutError);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await expect(never.generate({ messages: [{ role: 'user', content: 'x' }], signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });

  it('wraps a failure in a ModelError with a redacted message', async () => {
    registerSecret('sk-fn-SECRET-456789');
    const model = fromFunction(() => {
      throw new Error('upstream refused key sk-fn-SECRET-456789');
    });
    const error = await model.generate({ messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toBe('function failed: upstream refused key [redacted]');
  });
});

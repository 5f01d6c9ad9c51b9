import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StructuredOutputError } from '../../src/models/errors.js';
import { generateObject } from '../../src/models/generate-object.js';
import { extractJson } from '../../src/models/json-extract.js';
import type { JsonSchema } from '../../src/models/json-schema.js';
import { ScriptedModel } from './helpers/scripted-model.js';

const schema: JsonSchema = {
  type: 'object',
  required: ['name', 'tags'],
  additionalProperties: false,
  properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' }, minItems: 1 } },
};
const ask = { messages: [{ role: 'user' as const, content: 'Describe the project' }] };

describe('extractJson', () => {
  it('reads bare JSON, fenced JSON and JSON after prose', () => {
    expect(extractJson('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(extractJson('```json\n{"a": [1, 2]}\n```')).toEqual({ ok: true, value: { a: [1, 2] } });
    expect(extractJson('Sure! Here is the object:\n{"a": "}{"} and that is all.')).toEqual({ ok: true, value: { a: '}{' } });
    expect(extractJson('The list: [1, 2, 3].')).toEqual({ ok: true, value: [1, 2, 3] });
  });

  it('says what is wrong when there is no usable JSON', () => {
    const problem = (text: string) => {
      const result = extractJson(text);
      return result.ok ? 'parsed' : result.problem;
    };
    expect(problem('')).toContain('empty');
    expect(problem('I cannot do that.')).toContain('no JSON');
    expect(problem('{"a": [1, 2')).toContain('cut off');
    expect(problem('{"a": 1,}')).toContain('does not parse');
  });
});

describe('generateObject', () => {
  it('asks for JSON with the schema and returns the validated object', async () => {
    const model = new ScriptedModel(['Here it is:\n```json\n{"name": "atlas", "tags": ["maps"]}\n```']);
    const result = await generateObject(model, { ...ask, system: 'You describe projects.', schema, purpose: 'task' });
    expect(result).toMatchObject({ object: { name: 'atlas', tags: ['maps'] }, attempts: 1, usage: { inputTokens: 10, outputTokens: 5 } });
    const request = model.requests[0]!;
    expect(request.responseFormat).toEqual({ type: 'json', schema, name: 'response' });
    expect(request.system).toContain('You describe projects.');
    expect(request.system).toContain('"required":["name","tags"]');
    expect(request.purpose).toBe('task');
  });

  it('re-asks with the concrete problems, as a repair of the original purpose', async () => {
    const model = new ScriptedModel(['{"name": 42, "tags": [], "extra": true}', '{"name": "atlas", "tags": ["maps"]}']);
    const result = await generateObject(model, { ...ask, schema, purpose: 'plan' });
    expect(result.attempts).toBe(2);
    expect(result.usage).toEqual({ inputTokens: 20, outputTokens: 10 });
    const repair = model.requests[1]!;
    expect(repair).toMatchObject({ purpose: 'repair', repairOf: 'plan' });
    expect(repair.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(repair.messages[1]?.content).toBe('{"name": 42, "tags": [], "extra": true}');
    const note = repair.messages[2]!.content;
    expect(note).toContain('$.name: must be a string, got number 42');
    expect(note).toContain('$.tags: must have at least 1 item, has 0');
    expect(note).toContain('$.extra: is not allowed here');
  });

  it('throws StructuredOutputError listing the last problems when repairs run out', async () => {
    const model = new ScriptedModel(['not json', '{"name": "x"}', '{"tags": ["a"]}']);
    const error = await generateObject(model, { ...ask, schema, maxRepairs: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StructuredOutputError);
    const structured = error as StructuredOutputError;
    expect(structured.attempts).toBe(3);
    expect(structured.problems).toEqual(['$.name: is required but missing']);
    expect(structured.message).toContain('after 3 attempts');
    expect(structured.message).toContain('$.name: is required but missing');
    expect(structured.lastText).toBe('{"tags": ["a"]}');
    expect(model.requests).toHaveLength(3);
  });

  it('makes one call only with maxRepairs 0', async () => {
    const model = new ScriptedModel(['nope']);
    await expect(generateObject(model, { ...ask, schema, maxRepairs: 0 })).rejects.toBeInstanceOf(StructuredOutputError);
    expect(model.requests).toHaveLength(1);
  });

  it('runs the extra semantic checks and repairs on their problems', async () => {
    const model = new ScriptedModel(['{"name": "a", "tags": ["x", "x"]}', '{"name": "a", "tags": ["x", "y"]}']);
    const result = await generateObject<{ name: string; tags: string[] }>(model, {
      ...ask,
      schema,
      validate: (value) => (new Set(value.tags).size === value.tags.length ? [] : ['tags must not repeat']),
    });
    expect(result.object.tags).toEqual(['x', 'y']);
    expect(model.requests[1]?.messages[2]?.content).toContain('- tags must not repeat');
  });

  it('says when an answer was cut off at the token limit', async () => {
    const model = new ScriptedModel([{ text: '{"name": "a", "ta', finishReason: 'length' }, '{"name": "a", "tags": ["t"]}']);
    await generateObject(model, { ...ask, schema });
    expect(model.requests[1]?.messages[2]?.content).toContain('cut off at the token limit');
  });

  it('accepts a zod schema: sends its JSON Schema and returns what zod parsed', async () => {
    const Person = z.object({ name: z.string().min(1), age: z.number().int().nonnegative(), role: z.string().default('member') });
    const model = new ScriptedModel(['{"name": "", "age": -1}', '{"name": "Ada", "age": 36}']);
    const result = await generateObject(model, { ...ask, schema: Person });
    expect(result.object).toEqual({ name: 'Ada', age: 36, role: 'member' });
    const sent = model.requests[0]!.responseFormat!.schema!;
    expect(sent.$schema).toBeUndefined();
    expect(sent).toMatchObject({ type: 'object', properties: { name: { type: 'string' } } });
    const note = model.requests[1]!.messages[2]!.content;
    expect(note).toMatch(/\$\.name: .*>=1/);
    expect(note).toMatch(/\$\.age: /);
  });
});

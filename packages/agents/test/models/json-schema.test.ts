import { describe, expect, it } from 'vitest';
import { validateJsonSchema, type JsonSchema } from '../../src/models/json-schema.js';

describe('validateJsonSchema', () => {
  const task: JsonSchema = {
    type: 'object',
    required: ['id', 'dependencies'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', pattern: '^[a-z0-9-]+$', minLength: 1 },
      dependencies: { type: 'array', items: { type: 'string' } },
      requires: { enum: ['security', 'performance', 'docs'] },
      review: { type: 'boolean' },
      weight: { type: 'integer', minimum: 1, maximum: 5 },
    },
  };

  it('accepts a valid value', () => {
    expect(validateJsonSchema({ id: 'a-1', dependencies: [], requires: 'docs', weight: 3 }, task)).toEqual([]);
  });

  it('reports each problem with its path', () => {
    expect(validateJsonSchema({ id: 'Bad Id', dependencies: ['x', 7], requires: 'speed', weight: 2.5, colour: 'red' }, task)).toEqual([
      '$.id: must match the pattern ^[a-z0-9-]+$; got "Bad Id"',
      '$.dependencies[1]: must be a string, got number 7',
      '$.requires: must be one of "security", "performance", "docs"; got "speed"',
      '$.weight: must be an integer, got number 2.5',
      '$.colour: is not allowed here (allowed: id, dependencies, requires, review, weight)',
    ]);
    expect(validateJsonSchema({}, task)).toEqual(['$.id: is required but missing', '$.dependencies: is required but missing']);
    expect(validateJsonSchema([], task)).toEqual(['$: must be an object, got array []']);
  });

  it('checks arrays, numbers, strings and nesting', () => {
    const plan: JsonSchema = { type: 'object', properties: { tasks: { type: 'array', minItems: 1, maxItems: 2, items: task } } };
    expect(validateJsonSchema({ tasks: [] }, plan)).toEqual(['$.tasks: must have at least 1 item, has 0']);
    expect(validateJsonSchema({ tasks: [{ id: 'a', dependencies: [] }, { id: 'b', dependencies: [] }, { id: 'c', dependencies: [] }] }, plan)).toEqual([
      '$.tasks: must have at most 2 items, has 3',
    ]);
    expect(validateJsonSchema({ tasks: [{ id: '', dependencies: [] }] }, plan)).toContain('$.tasks[0].id: must not be empty');
    expect(validateJsonSchema(12, { type: 'number', maximum: 10 })).toEqual(['$: must be <= 10, got 12']);
    expect(validateJsonSchema(3, { type: 'number' })).toEqual([]);
    expect(validateJsonSchema('abcdef', { type: 'string', maxLength: 3 })).toEqual(['$: must be at most 3 characters long (is 6)']);
    expect(validateJsonSchema(null, { type: ['string', 'null'] })).toEqual([]);
    expect(validateJsonSchema({ 'odd key': 1 }, { type: 'object', additionalProperties: { type: 'string' } })).toEqual([
      '$["odd key"]: must be a string, got number 1',
    ]);
  });

  it('follows local $refs and anyOf', () => {
    const schema: JsonSchema = {
      $defs: { node: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } } } },
      $ref: '#/$defs/node',
    };
    expect(validateJsonSchema({ name: 'root', children: [{ name: 'leaf' }] }, schema)).toEqual([]);
    expect(validateJsonSchema({ name: 'root', children: [{}] }, schema)).toEqual(['$.children[0].name: is required but missing']);
    expect(validateJsonSchema(true, { anyOf: [{ type: 'string' }, { type: 'number' }] })).toEqual(['$: matches none of the 2 allowed shapes']);
  });

  it('stops after maxProblems', () => {
    const many = Array.from({ length: 50 }, () => 1);
    expect(validateJsonSchema(many, { type: 'array', items: { type: 'string' } }, { maxProblems: 3 })).toHaveLength(3);
  });
});

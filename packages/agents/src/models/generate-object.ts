import { checkInt } from '@agent-team/core';
import type { ZodType } from 'zod';
import { StructuredOutputError } from './errors.js';
import { extractJson } from './json-extract.js';
import { validateJsonSchema, type JsonSchema } from './json-schema.js';
import { appendToSystem, jsonInstruction } from './prompt-format.js';
import type { GenerateRequest, GenerateResponse, LanguageModel, Usage } from './types.js';

export interface GenerateObjectRequest<T> extends GenerateRequest {
  /** The shape of the answer: a JSON Schema, or a zod schema (validated, and its output returned, by zod). */
  schema: JsonSchema | ZodType<T>;
  /**
   * How many times the model is re-asked, with the concrete problems, when its
   * answer does not parse or validate.
   * @default 2
   */
  maxRepairs?: number;
  /** Checks the schema cannot express (a plan's dependencies form a DAG...); returns problems, empty when fine. */
  validate?: (value: T) => string[];
  /** Name of the schema sent to providers that take one. @default 'response' */
  schemaName?: string;
}

export interface GenerateObjectResult<T> {
  object: T;
  /** The response that produced `object`. */
  response: GenerateResponse;
  /** Model calls made, repairs included. */
  attempts: number;
  /** Tokens over all attempts. */
  usage: Usage;
}

/**
 * Asks for JSON matching `schema` and returns the validated object. An answer
 * that does not parse or validate is sent back with its problems (purpose
 * `repair`), at most `maxRepairs` times; then {@link StructuredOutputError}.
 *
 * @example
 * const { object } = await generateObject<{ tasks: Task[] }>(model, {
 *   purpose: 'plan', schema: planSchema, messages: [{ role: 'user', content: goal }],
 *   validate: (plan) => checkDag(plan.tasks),
 * });
 */
export async function generateObject<T = unknown>(
  model: LanguageModel,
  request: GenerateObjectRequest<T>,
): Promise<GenerateObjectResult<T>> {
  const { schema, maxRepairs = 2, validate, schemaName, ...base } = request;
  checkInt('maxRepairs', maxRepairs, { min: 0 });
  const zodSchema = isZodSchema(schema) ? schema : undefined;
  const jsonSchema = zodSchema ? await zodToJsonSchema(zodSchema) : (schema as JsonSchema);
  const first: GenerateRequest = {
    ...base,
    system: appendToSystem(base.system, jsonInstruction(jsonSchema)),
    responseFormat: { type: 'json', schema: jsonSchema, name: schemaName ?? base.responseFormat?.name ?? 'response' },
  };

  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  let current = first;
  let problems: string[] = [];
  let lastText = '';
  for (let attempt = 1; attempt <= maxRepairs + 1; attempt++) {
    const response = await model.generate(current);
    usage.inputTokens += response.usage.inputTokens;
    usage.outputTokens += response.usage.outputTokens;
    lastText = response.text;

    const checked = check<T>(response, jsonSchema, zodSchema, validate);
    if (checked.ok) return { object: checked.value, response, attempts: attempt, usage };
    problems = checked.problems;

    current = {
      ...first,
      purpose: 'repair',
      repairOf: base.purpose === 'repair' ? base.repairOf : base.purpose,
      messages: [
        ...first.messages,
        { role: 'assistant', content: response.text || '(empty answer)' },
        { role: 'user', content: repairPrompt(problems) },
      ],
    };
  }
  throw new StructuredOutputError({
    provider: model.provider,
    modelId: model.id,
    problems,
    lastText,
    attempts: maxRepairs + 1,
  });
}

type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

function check<T>(
  response: GenerateResponse,
  jsonSchema: JsonSchema,
  zodSchema: ZodType<T> | undefined,
  validate: ((value: T) => string[]) | undefined,
): Checked<T> {
  const truncated =
    response.finishReason === 'length'
      ? ['the answer was cut off at the token limit; give a shorter answer that still matches the schema']
      : [];
  const extracted = extractJson(response.text);
  if (!extracted.ok) return { ok: false, problems: [...truncated, extracted.problem] };

  let value: T;
  if (zodSchema) {
    const parsed = zodSchema.safeParse(extracted.value);
    if (!parsed.success) {
      return {
        ok: false,
        problems: parsed.error.issues.map((issue) => `${issuePath(issue.path)}: ${issue.message}`),
      };
    }
    value = parsed.data;
  } else {
    const problems = validateJsonSchema(extracted.value, jsonSchema);
    if (problems.length > 0) return { ok: false, problems };
    value = extracted.value as T;
  }
  const semantic = validate ? validate(value) : [];
  return semantic.length > 0 ? { ok: false, problems: semantic } : { ok: true, value };
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}.${String(key)}`), '$');
}

function repairPrompt(problems: string[]): string {
  return [
    'Your previous answer could not be used. Problems:',
    ...problems.map((problem) => `- ${problem}`),
    'Answer again with only the corrected, complete JSON value: no prose, no code fences.',
  ].join('\n');
}

function isZodSchema(schema: unknown): schema is ZodType {
  return typeof schema === 'object' && schema !== null && '_zod' in schema && typeof (schema as ZodType).safeParse === 'function';
}

/** zod loads here, not up front: whoever passes a zod schema has loaded it already, everyone else never needs it. */
async function zodToJsonSchema(schema: ZodType): Promise<JsonSchema> {
  const { z } = await import('zod');
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema) as JsonSchema;
  return json;
}

/**
 * The JSON Schema subset that structured output and tool parameters need, and a
 * small validator for it. A full validator (ajv) would be a heavy dependency
 * for what a model's answer needs checking against; the problems it reports are
 * fed back to the model, so they are phrased for a reader, with the path.
 */

export type JsonSchemaType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

export interface JsonSchema {
  type?: JsonSchemaType | readonly JsonSchemaType[];
  description?: string;
  title?: string;
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  enum?: readonly unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: readonly JsonSchema[];
  oneOf?: readonly JsonSchema[];
  allOf?: readonly JsonSchema[];
  default?: unknown;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  [keyword: string]: unknown;
}

export interface ValidateOptions {
  /**
   * Stop after this many problems; a model does better with the first few than with a wall.
   * @default 20
   */
  maxProblems?: number;
}

/** Checks `value` against `schema`; returns the problems, empty when valid. */
export function validateJsonSchema(value: unknown, schema: JsonSchema, options: ValidateOptions = {}): string[] {
  const problems: string[] = [];
  const ctx: Ctx = { root: schema, problems, max: options.maxProblems ?? 20 };
  check(value, schema, '$', ctx);
  return problems;
}

interface Ctx {
  root: JsonSchema;
  problems: string[];
  max: number;
}

function report(ctx: Ctx, path: string, message: string): void {
  if (ctx.problems.length < ctx.max) ctx.problems.push(`${path}: ${message}`);
}

/** Resolves a local `$ref` ("#/$defs/x", "#/definitions/x", "#"); other refs are not followed. */
export function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref !== undefined && hops < 32; hops++) {
    const ref = current.$ref;
    if (ref === '#') {
      current = root;
      continue;
    }
    const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
    const table = match?.[1] === '$defs' ? root.$defs : root.definitions;
    const target = match?.[2] === undefined ? undefined : table?.[decodePointer(match[2])];
    if (target === undefined) return {};
    current = target;
  }
  return current;
}

function decodePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The types a schema allows, as a list (empty when it does not say). */
export function schemaTypes(schema: JsonSchema): readonly JsonSchemaType[] {
  const type = schema.type;
  if (type === undefined) return [];
  return typeof type === 'string' ? [type] : type;
}

export function typeOfJson(value: unknown): JsonSchemaType | 'undefined' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'object';
    case 'undefined':
      return 'undefined';
    default:
      return 'other';
  }
}

function matchesType(value: unknown, type: JsonSchemaType): boolean {
  const actual = typeOfJson(value);
  if (type === 'number') return actual === 'number' || actual === 'integer';
  return actual === type;
}

function check(value: unknown, rawSchema: JsonSchema, path: string, ctx: Ctx): void {
  if (ctx.problems.length >= ctx.max) return;
  const schema = resolveRef(rawSchema, ctx.root);

  if (schema.allOf) for (const sub of schema.allOf) check(value, sub, path, ctx);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (!options) continue;
    const fits = options.filter((sub) => validateJsonSchema(value, { ...sub, $defs: ctx.root.$defs, definitions: ctx.root.definitions }).length === 0);
    if (fits.length === 0 || (key === 'oneOf' && fits.length > 1)) {
      report(ctx, path, key === 'oneOf' && fits.length > 1 ? 'matches more than one of the allowed shapes' : `matches none of the ${options.length} allowed shapes`);
    }
  }

  if (schema.const !== undefined && !deepEqual(value, schema.const)) {
    report(ctx, path, `must be ${JSON.stringify(schema.const)}`);
    return;
  }
  if (schema.enum && !schema.enum.some((allowed) => deepEqual(allowed, value))) {
    report(ctx, path, `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}; got ${preview(value)}`);
    return;
  }

  if (schema.type !== undefined) {
    const types = schemaTypes(schema);
    if (!types.some((type) => matchesType(value, type))) {
      const actual = typeOfJson(value);
      report(ctx, path, value === undefined ? `is missing (expected ${types.join(' or ')})` : `must be ${types.map(article).join(' or ')}, got ${actual === 'integer' ? 'number' : actual} ${preview(value)}`);
      return;
    }
  }

  if (typeof value === 'string') checkString(value, schema, path, ctx);
  else if (typeof value === 'number') checkNumber(value, schema, path, ctx);
  else if (Array.isArray(value)) checkArray(value, schema, path, ctx);
  else if (value !== null && typeof value === 'object') checkObject(value as Record<string, unknown>, schema, path, ctx);
}

function checkString(value: string, schema: JsonSchema, path: string, ctx: Ctx): void {
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    report(ctx, path, schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters long`);
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    report(ctx, path, `must be at most ${schema.maxLength} characters long (is ${value.length})`);
  }
  if (schema.pattern !== undefined) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(schema.pattern, 'u');
    } catch {
      re = undefined; // a pattern JavaScript cannot compile is not the model's fault
    }
    if (re && !re.test(value)) report(ctx, path, `must match the pattern ${schema.pattern}; got ${preview(value)}`);
  }
}

function checkNumber(value: number, schema: JsonSchema, path: string, ctx: Ctx): void {
  if (schema.minimum !== undefined && value < schema.minimum) report(ctx, path, `must be >= ${schema.minimum}, got ${value}`);
  if (schema.maximum !== undefined && value > schema.maximum) report(ctx, path, `must be <= ${schema.maximum}, got ${value}`);
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
    report(ctx, path, `must be > ${schema.exclusiveMinimum}, got ${value}`);
  }
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) {
    report(ctx, path, `must be < ${schema.exclusiveMaximum}, got ${value}`);
  }
}

function checkArray(value: unknown[], schema: JsonSchema, path: string, ctx: Ctx): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    report(ctx, path, `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}, has ${value.length}`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    report(ctx, path, `must have at most ${schema.maxItems} items, has ${value.length}`);
  }
  if (schema.uniqueItems) {
    const seen = new Set<string>();
    for (const item of value) {
      const key = JSON.stringify(item);
      if (seen.has(key)) report(ctx, path, `items must be unique; ${preview(item)} appears twice`);
      seen.add(key);
    }
  }
  if (schema.items) value.forEach((item, i) => check(item, schema.items as JsonSchema, `${path}[${i}]`, ctx));
}

function checkObject(value: Record<string, unknown>, schema: JsonSchema, path: string, ctx: Ctx): void {
  for (const key of schema.required ?? []) {
    if (!Object.prototype.hasOwnProperty.call(value, key) || value[key] === undefined) {
      report(ctx, childPath(path, key), 'is required but missing');
    }
  }
  const properties = schema.properties ?? {};
  for (const [key, child] of Object.entries(value)) {
    const propSchema = Object.prototype.hasOwnProperty.call(properties, key) ? properties[key] : undefined;
    if (propSchema !== undefined) {
      check(child, propSchema, childPath(path, key), ctx);
    } else if (schema.additionalProperties === false) {
      const allowed = Object.keys(properties);
      report(ctx, childPath(path, key), `is not allowed here${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`);
    } else if (typeof schema.additionalProperties === 'object') {
      check(child, schema.additionalProperties, childPath(path, key), ctx);
    }
  }
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function preview(value: unknown): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  );
}

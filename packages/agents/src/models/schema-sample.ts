import { resolveRef, schemaTypes, typeOfJson, validateJsonSchema, type JsonSchema, type JsonSchemaType } from './json-schema.js';
import { kebab, type NumberedItem } from './offline-text.js';
import type { SeededRandom } from './offline-random.js';

/** What the sampler may draw on to make values plausible: words of the prompt. */
export interface SampleHints {
  words: readonly string[];
  /** Whole sentences to use for long text fields. */
  text?: string;
  /** Numbered items seen in the prompt, for fields such as `choice`. */
  items?: readonly NumberedItem[];
}

/**
 * A value that validates against `schema`, built from the prompt's words:
 * the offline model's tool-call arguments and the JSON answers for schemas it
 * has no template for.
 */
export function sampleFromSchema(schema: JsonSchema, rng: SeededRandom, hints: SampleHints, root: JsonSchema = schema, name = ''): unknown {
  const node = resolveRef(schema, root);
  if (node.const !== undefined) return node.const;
  if (node.enum && node.enum.length > 0) return rng.pick(node.enum);
  if (node.default !== undefined && validateJsonSchema(node.default, { ...node, $defs: root.$defs, definitions: root.definitions }).length === 0) {
    return node.default;
  }
  const options = node.anyOf ?? node.oneOf;
  if (options && options.length > 0) {
    const concrete = options.find((option) => resolveRef(option, root).type !== 'null') ?? options[0];
    if (concrete) return sampleFromSchema(concrete, rng, hints, root, name);
  }
  if (node.allOf && node.allOf.length > 0) {
    return sampleFromSchema(Object.assign({}, ...node.allOf.map((s) => resolveRef(s, root))) as JsonSchema, rng, hints, root, name);
  }

  switch (primaryType(node)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set(node.required ?? []);
      for (const [key, child] of Object.entries(node.properties ?? {})) {
        // Optional fields half the time, so arguments look like a caller chose them.
        if (required.has(key) || rng.chance(0.5)) out[key] = sampleFromSchema(child, rng, hints, root, key);
      }
      return out;
    }
    case 'array': {
      const min = node.minItems ?? 1;
      const max = Math.max(min, Math.min(node.maxItems ?? min + 2, min + 2));
      const count = rng.int(min, max);
      const items: unknown[] = [];
      for (let i = 0; i < count; i++) items.push(node.items ? sampleFromSchema(node.items, rng, hints, root, name) : sampleWords(rng, hints, 2));
      return node.uniqueItems ? dedupe(items) : items;
    }
    case 'integer':
    case 'number': {
      if (/choice|index|candidate|winner|selected/i.test(name) && hints.items && hints.items.length > 0) {
        return clampNumber(rng.pick(hints.items).n, node, true);
      }
      const low = node.minimum ?? (node.exclusiveMinimum !== undefined ? node.exclusiveMinimum + 1 : 1);
      const high = node.maximum ?? (node.exclusiveMaximum !== undefined ? node.exclusiveMaximum - 1 : Math.max(low, 10));
      const value = primaryType(node) === 'integer' ? rng.int(Math.ceil(low), Math.floor(high)) : Math.round((low + rng.next() * (high - low)) * 100) / 100;
      return clampNumber(value, node, primaryType(node) === 'integer');
    }
    case 'boolean':
      return rng.chance(0.5);
    case 'null':
      return null;
    default:
      return fitString(sampleString(node, rng, hints, name), node, hints);
  }
}

/**
 * `value` changed as little as needed to validate against `schema`: missing
 * required fields sampled, unknown fields dropped where not allowed, enums and
 * bounds respected. Used to make a templated answer (a plan, a review) fit a
 * caller's own schema.
 */
export function conformToSchema(value: unknown, schema: JsonSchema, rng: SeededRandom, hints: SampleHints, root: JsonSchema = schema, name = ''): unknown {
  const node = resolveRef(schema, root);
  const scoped = { ...node, $defs: root.$defs, definitions: root.definitions };
  if (validateJsonSchema(value, scoped).length === 0) return value;
  if (node.const !== undefined) return node.const;
  if (node.enum && node.enum.length > 0) {
    return node.enum.find((allowed) => JSON.stringify(allowed) === JSON.stringify(value)) ?? nearestEnum(node.enum, value);
  }
  const options = node.anyOf ?? node.oneOf;
  if (options && options.length > 0) {
    const fitting = options.find((option) => validateJsonSchema(value, { ...option, $defs: root.$defs, definitions: root.definitions }).length === 0);
    if (fitting) return value;
    const sameType = options.find((option) => acceptsType(resolveRef(option, root), value)) ?? options[0];
    return sameType ? conformToSchema(value, sameType, rng, hints, root, name) : value;
  }

  const type = targetType(node, value);
  switch (type) {
    case 'object': {
      const source = isRecord(value) ? value : {};
      const out: Record<string, unknown> = {};
      const properties = node.properties ?? {};
      for (const [key, child] of Object.entries(properties)) {
        if (Object.prototype.hasOwnProperty.call(source, key) && source[key] !== undefined) {
          out[key] = conformToSchema(source[key], child, rng, hints, root, key);
        } else if ((node.required ?? []).includes(key)) {
          out[key] = sampleFromSchema(child, rng, hints, root, key);
        }
      }
      for (const [key, child] of Object.entries(source)) {
        if (key in properties || child === undefined) continue;
        if (node.additionalProperties === false) continue;
        out[key] = typeof node.additionalProperties === 'object' ? conformToSchema(child, node.additionalProperties, rng, hints, root, key) : child;
      }
      return out;
    }
    case 'array': {
      let items: unknown[] = Array.isArray(value) ? [...(value as unknown[])] : value === undefined ? [] : [value];
      if (node.items) items = items.map((item) => conformToSchema(item, node.items as JsonSchema, rng, hints, root, name));
      if (node.maxItems !== undefined) items = items.slice(0, node.maxItems);
      while (node.minItems !== undefined && items.length < node.minItems) {
        items.push(node.items ? sampleFromSchema(node.items, rng, hints, root, name) : sampleWords(rng, hints, 2));
      }
      return node.uniqueItems ? dedupe(items) : items;
    }
    case 'integer':
    case 'number': {
      const number = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(number)) return sampleFromSchema(node, rng, hints, root, name);
      return clampNumber(number, node, type === 'integer');
    }
    case 'boolean':
      return typeof value === 'boolean' ? value : Boolean(value);
    case 'null':
      return null;
    default: {
      const text =
        typeof value === 'string'
          ? value
          : typeof value === 'number' || typeof value === 'boolean'
            ? String(value)
            : sampleString(node, rng, hints, name);
      return fitString(text, node, hints);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function primaryType(node: JsonSchema): JsonSchemaType {
  const types = schemaTypes(node);
  if (types.length > 0) return types.find((t) => t !== 'null') ?? types[0] ?? 'string';
  if (node.properties) return 'object';
  if (node.items) return 'array';
  return 'string';
}

function acceptsType(node: JsonSchema, value: unknown): boolean {
  const actual = typeOfJson(value);
  const types = schemaTypes(node);
  return types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
}

function targetType(node: JsonSchema, value: unknown): JsonSchemaType {
  const types = schemaTypes(node).length > 0 ? schemaTypes(node) : [primaryType(node)];
  const actual = typeOfJson(value);
  const same = types.find((t) => t === actual || (t === 'number' && actual === 'integer'));
  return same ?? types.find((t) => t !== 'null') ?? types[0] ?? 'string';
}

function clampNumber(value: number, node: JsonSchema, integer: boolean): number {
  let out = integer ? Math.round(value) : value;
  if (node.minimum !== undefined) out = Math.max(out, node.minimum);
  if (node.maximum !== undefined) out = Math.min(out, node.maximum);
  if (node.exclusiveMinimum !== undefined && out <= node.exclusiveMinimum) out = node.exclusiveMinimum + (integer ? 1 : 0.01);
  if (node.exclusiveMaximum !== undefined && out >= node.exclusiveMaximum) out = node.exclusiveMaximum - (integer ? 1 : 0.01);
  return out;
}

function nearestEnum(options: readonly unknown[], value: unknown): unknown {
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    const match = options.find((option) => typeof option === 'string' && (option.toLowerCase().includes(lower) || lower.includes(option.toLowerCase())));
    if (match !== undefined) return match;
  }
  return options[0];
}

function dedupe(items: unknown[]): unknown[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = JSON.stringify(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sampleWords(rng: SeededRandom, hints: SampleHints, count: number): string {
  const pool = hints.words.length > 0 ? hints.words : ['item', 'value', 'example'];
  return rng.sample(pool, Math.min(count, pool.length)).join(' ');
}

/** A string that suits the field: by format, then by the field's name, else words of the prompt. */
function sampleString(node: JsonSchema, rng: SeededRandom, hints: SampleHints, name: string): string {
  const pool = hints.words.length > 0 ? hints.words : ['example'];
  switch (node.format) {
    // Fixed dates: the offline model never reads the clock.
    case 'date-time':
      return '2026-01-01T00:00:00Z';
    case 'date':
      return '2026-01-01';
    case 'time':
      return '12:00:00';
    case 'email':
      return `${kebab([rng.pick(pool)], 20)}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${kebab(rng.sample(pool, 2), 30)}`;
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    default:
      break;
  }
  const field = name.toLowerCase();
  if (/(^|_)(url|uri|link|href)$/.test(field)) return `https://example.com/${kebab(rng.sample(pool, 2), 30)}`;
  if (/(path|file|filename)$/.test(field)) return `${kebab(rng.sample(pool, 2), 30)}.md`;
  if (/(^id$|_id$|id$|slug|key)$/.test(field)) return kebab(rng.sample(pool, 2), 30);
  if (/(query|search|topic|keywords?|terms?|q)$/.test(field)) return rng.sample(pool, Math.min(3, pool.length)).join(' ');
  if (/(name|title|label)$/.test(field)) return rng.sample(pool, Math.min(2, pool.length)).join(' ');
  if (/(description|summary|reason|rationale|justification|feedback|text|content|body|answer|message|explanation|notes?)$/.test(field) && hints.text) {
    return hints.text;
  }
  return rng.sample(pool, Math.min(rng.int(1, 3), pool.length)).join(' ');
}

function fitString(text: string, node: JsonSchema, hints: SampleHints): string {
  let out = text;
  if (node.maxLength !== undefined && out.length > node.maxLength) out = out.slice(0, node.maxLength);
  if (node.minLength !== undefined && out.length < node.minLength) {
    const filler = hints.words.length > 0 ? hints.words.join(' ') : 'details';
    while (out.length < node.minLength) out = `${out}${out ? ' ' : ''}${filler}`;
    if (node.maxLength !== undefined) out = out.slice(0, node.maxLength);
  }
  return out;
}

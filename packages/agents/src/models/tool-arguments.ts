/**
 * Tool-call arguments as an object. Providers send them as a JSON string
 * (OpenAI, Anthropic streaming) or an object (Anthropic); a malformed or
 * non-object value becomes `{}` with the raw text kept, so the tool loop can
 * tell the model what was wrong instead of crashing.
 */
export function parseToolArguments(input: unknown): { arguments: Record<string, unknown>; rawArguments?: string } {
  if (typeof input === 'string') {
    const text = input.trim();
    if (text === '') return { arguments: {} };
    try {
      const parsed: unknown = JSON.parse(text);
      if (isPlainObject(parsed)) return { arguments: parsed };
    } catch {
      // fall through: kept raw below
    }
    return { arguments: {}, rawArguments: input };
  }
  if (isPlainObject(input)) return { arguments: input };
  if (input === undefined || input === null) return { arguments: {} };
  return { arguments: {}, rawArguments: JSON.stringify(input) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type JsonExtraction = { ok: true; value: unknown } | { ok: false; problem: string };

/**
 * Finds the JSON value in a model's answer. Models wrap JSON in ```json
 * fences or lead with a sentence ("Here is the plan:") even when told not to,
 * so this tries, in order: the whole text, the first fenced block, and the
 * first balanced {...} or [...] in the text.
 */
export function extractJson(text: string): JsonExtraction {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, problem: 'the answer was empty; expected a JSON value' };
  const direct = tryParse(trimmed);
  if (direct.ok) return direct;

  const fence = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/.exec(trimmed);
  if (fence?.[1] !== undefined) {
    const fenced = tryParse(fence[1].trim());
    if (fenced.ok) return fenced;
  }

  const start = trimmed.search(/[[{]/);
  if (start >= 0) {
    const end = balancedEnd(trimmed, start);
    if (end > start) {
      const inner = tryParse(trimmed.slice(start, end + 1));
      if (inner.ok) return inner;
      return { ok: false, problem: `the JSON in the answer does not parse: ${inner.problem}` };
    }
    return { ok: false, problem: 'the JSON in the answer is cut off (a bracket is never closed); answer with the complete JSON' };
  }
  return { ok: false, problem: `the answer contains no JSON; it starts with ${JSON.stringify(trimmed.slice(0, 60))}` };
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}

/** Index of the bracket that closes the one at `start`, skipping brackets inside strings; -1 if none. */
function balancedEnd(text: string, start: number): number {
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') stack.push(ch === '{' ? '}' : ']');
    else if (ch === '}' || ch === ']') {
      if (stack.pop() !== ch) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

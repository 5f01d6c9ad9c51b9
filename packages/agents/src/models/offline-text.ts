/**
 * Plain-text analysis for the offline model: the words a prompt is about, its
 * sentences and bullet points, and the numbered references or candidates of
 * an aggregation or selection prompt.
 */

const FUNCTION_WORDS = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below between both but by ' +
    'can could did do does doing done down during each either else etc even ever every few for from further get gets give given ' +
    'had has have having he her here hers him his how however i if in into is it its itself just let like made make makes many ' +
    'may me might more most much must my need needs no nor not now of off on once one only or other others our out over own ' +
    'per please rather same shall she should so some such than that the their them then there these they this those through ' +
    'thus to too under until up upon us use used using very via was we well were what when where whether which while who whom ' +
    'why will with within without would yet you your yours'
  ).split(/\s+/),
);

const STOPWORDS = new Set([
  ...FUNCTION_WORDS,
  ...(
    // generic verbs that start a request but rarely name its subject
    'build create make implement develop add set improve fix find compare comparing explain describe design ' +
    'adopt support handle show consider migrate write investigate update ' +
    // instruction words that say how to answer, not what the work is about
    'answer answers json schema object objects field fields format respond response reply return returns output outputs ' +
    'valid validate key keys value values string strings array list item items prose fences code block blocks ' +
    'goal goals task tasks plan plans planning step steps dependency dependencies depend depends id ids description ' +
    'break into subtask subtasks final following below above write provide based according each per ' +
    'previous problems corrected complete again only no ' +
    'reference references candidate candidates response responses proposal proposals numbered number ' +
    'review reviewer verdict approve approved changes feedback issue issues work result results report ' +
    'user assistant system tool tools call calls'
  ).split(/\s+/),
]);

/** Lower-case word tokens, keeping inner hyphens and dots ("gpt-4.1", "file-backed"). */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9][a-z0-9]*(?:[-.][a-z0-9]+)*/g) ?? []).filter((w) => !/^\d+$/.test(w));
}

/** Content words of `text`, most frequent first (ties keep first appearance), at most `max`. */
export function keywords(text: string, max = 8): string[] {
  const counts = new Map<string, number>();
  for (const word of words(text)) {
    if (word.length < 3 || STOPWORDS.has(word)) continue;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([word, count], order) => ({ word, count, order }))
    .sort((x, y) => y.count - x.count || x.order - y.order)
    .slice(0, max)
    .map((entry) => entry.word);
}

/** The first `max` words of `text` that are not function words, for ids ("set up CI" -> set, ci). */
export function idWords(text: string, max = 3): string[] {
  return words(text)
    .filter((w) => w.length >= 2 && !FUNCTION_WORDS.has(w))
    .slice(0, max);
}

/** Stem -> the first word of `text` with that stem, to show stems as real words. */
export function stemWords(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of words(text)) {
    if (w.length < 3 || STOPWORDS.has(w)) continue;
    const s = stem(w);
    if (!out.has(s)) out.set(s, w);
  }
  return out;
}

/** A crude stem, so "tests", "testing" and "tested" meet. */
export function stem(word: string): string {
  return word.replace(/(ing|ed|es|s)$/, '').replace(/(.)\1$/, '$1') || word;
}

export function stemSet(text: string): Set<string> {
  return new Set(
    words(text)
      .filter((w) => w.length >= 3 && !STOPWORDS.has(w))
      .map(stem),
  );
}

/** Sentences of a paragraph (split after . ! ? followed by a space and a capital or digit). */
export function sentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+(?=[A-Z0-9"(])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * The points a text makes, in order: each bullet or numbered line is one,
 * and running prose gives one per sentence. Headings and fragments of fewer
 * than three words are skipped.
 */
export function points(text: string): string[] {
  const out: string[] = [];
  let prose: string[] = [];
  const flush = () => {
    out.push(...sentences(prose.join(' ')));
    prose = [];
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (/^#+\s/.test(line)) continue;
    if (/^([-*•]|\d+[.)])\s+/.test(line)) {
      flush();
      out.push(line.replace(/^([-*•]|\d+[.)])\s+/, '').trim());
    } else if (line === '') {
      flush();
    } else {
      prose.push(line);
    }
  }
  flush();
  return out.filter((p) => words(p).length >= 3);
}

export interface NumberedItem {
  /** The number the prompt gave it (1-based as shown). */
  n: number;
  text: string;
}

/**
 * Numbered references or candidates in a prompt, in the forms aggregation and
 * selection prompts use: "[1] ...", "(1) ...", "1. ...", "Reference 1: ...",
 * "Response 2:", "Candidate 3 -", "### Proposal 4", "<ref 1>...</ref>".
 * An item runs until the next item's marker; at least two are needed.
 */
export function numberedItems(text: string): NumberedItem[] {
  const tagged = [...text.matchAll(/<(?:ref|reference|candidate|response)\s*(?:id=)?["']?(\d+)["']?\s*>([\s\S]*?)<\/(?:ref|reference|candidate|response)>/gi)];
  if (tagged.length >= 2) return tagged.map((m) => ({ n: Number(m[1]), text: (m[2] ?? '').trim() }));

  // Labelled markers ("[2]", "Response 2:") win over plain "2." lines, which also number lists inside a reference.
  const labelled =
    /^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?(?:\[(\d+)\]|\((\d+)\)|(?:reference|ref|response|candidate|proposal|answer|option|source)[ \t]*#?(\d+)(?:\*\*)?[ \t]*[:.)\]-]?)(?:\*\*)?[ \t]*/gim;
  const plain = /^[ \t]*(?:\*\*)?(\d+)[.)](?:\*\*)?[ \t]+/gm;
  for (const marker of [labelled, plain]) {
    const items = itemsByMarker(text, marker);
    if (items.length >= 2) return items;
  }
  return [];
}

function itemsByMarker(text: string, marker: RegExp): NumberedItem[] {
  const found: Array<{ n: number; start: number; bodyStart: number }> = [];
  for (const m of text.matchAll(marker)) {
    const n = Number(m[1] ?? m[2] ?? m[3]);
    found.push({ n, start: m.index, bodyStart: m.index + m[0].length });
  }
  // Plain "1." lists inside one reference would look like references; keep only a run that counts up from 1.
  const items: NumberedItem[] = [];
  let expected = 1;
  let run: Array<{ n: number; start: number; bodyStart: number }> = [];
  for (const entry of found) {
    if (entry.n === expected) {
      run.push(entry);
      expected++;
    } else if (entry.n === 1 && run.length < 2) {
      run = [entry];
      expected = 2;
    }
  }
  if (run.length < 2) return [];
  for (let i = 0; i < run.length; i++) {
    const entry = run[i];
    const next = run[i + 1];
    if (!entry) continue;
    let body = text.slice(entry.bodyStart, next ? next.start : undefined);
    if (!next) body = body.split(/\n\s*\n(?=[A-Z][^\n]{0,80}:?\s*$)/m)[0] ?? body; // stop before a trailing instruction paragraph
    items.push({ n: entry.n, text: body.trim() });
  }
  return items.filter((item) => item.text.length > 0);
}

/** kebab-case id from words: lower case, [a-z0-9-], at most `maxLength` characters, cut at a word boundary. */
export function kebab(parts: readonly string[], maxLength = 40): string {
  const joined = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (joined.length <= maxLength) return joined || 'task';
  const cut = joined.slice(0, maxLength);
  const lastDash = cut.lastIndexOf('-');
  return (lastDash > 10 ? cut.slice(0, lastDash) : cut).replace(/-+$/, '') || 'task';
}

/** First `max` characters of a one-line version of `text`, cut at a word. */
export function clip(text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  const cut = line.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[,;:.\s]+$/, '')}...`;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "a", "a and b", "a, b and c". */
export function listPhrase(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

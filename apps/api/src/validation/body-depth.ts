/**
 * Deepest JSON nesting a request body may have. class-transformer and JSON.stringify walk values
 * recursively, so a body nested a few thousand levels deep (found by the fault suite's fuzz)
 * overflowed the stack and was answered 500. The JSON body parser rejects anything deeper, for
 * every route, before any of that code sees it: on the text, before JSON.parse (which spends
 * seconds and hundreds of megabytes on 16 MiB of `[[[[...`).
 */
export const MAX_BODY_DEPTH = 64;

/** Character codes of JSON's structure, for the scans of the body text. */
export const JSON_CHAR = {
  OPEN_BRACE: 0x7b,
  OPEN_BRACKET: 0x5b,
  CLOSE_BRACE: 0x7d,
  CLOSE_BRACKET: 0x5d,
  QUOTE: 0x22,
  BACKSLASH: 0x5c,
  COLON: 0x3a,
  COMMA: 0x2c,
} as const;
const { OPEN_BRACE, OPEN_BRACKET, CLOSE_BRACE, CLOSE_BRACKET, QUOTE, BACKSLASH, COLON } = JSON_CHAR;

/**
 * One pass over a JSON text: whether it nests deeper than `limit` levels (counted as nestsDeeperThan
 * counts the parsed value; the pass stops there), and how many keys its objects give (in JSON a colon
 * outside a string follows each key, and nothing else). Brackets and colons inside strings are
 * ignored. For text that is not JSON the answer means nothing; JSON.parse refuses such text afterwards.
 */
export function scanJsonText(text: string, limit: number): { tooDeep: boolean; keys: number } {
  let depth = 0;
  let keys = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === COLON) keys++;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return { tooDeep: true, keys };
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return { tooDeep: false, keys };
}

/** True when the JSON text nests deeper than `limit` levels (see scanJsonText). */
export function textNestsDeeperThan(text: string, limit: number): boolean {
  return scanJsonText(text, limit).tooDeep;
}

/**
 * True when `value` nests deeper than `limit` levels (a scalar is 0 deep, `{}` and `[]` are 1).
 * Iterative, and it stops at the first node past the limit, so no input can overflow the stack here.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > limit) return true;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

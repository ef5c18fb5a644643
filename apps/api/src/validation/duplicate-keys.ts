import { JSON_CHAR } from './body-depth';

const { OPEN_BRACE, OPEN_BRACKET, CLOSE_BRACE, CLOSE_BRACKET, BACKSLASH, COLON, COMMA } = JSON_CHAR;
const QUOTE = '"';
const QUOTE_CODE = JSON_CHAR.QUOTE;

/** Keys an object frame keeps in a list before it takes a Set (most objects are small: a list is cheaper). */
const LIST_KEYS = 16;

/** The keys of one object so far: a list while short, then a Set. */
class KeySet {
  private list: string[] | null = [];
  private set: Set<string> | null = null;

  /** Adds the key; false when it was there already. */
  add(key: string): boolean {
    if (this.list) {
      if (this.list.includes(key)) return false;
      this.list.push(key);
      if (this.list.length > LIST_KEYS) {
        this.set = new Set(this.list);
        this.list = null;
      }
      return true;
    }
    if (this.set!.has(key)) return false;
    this.set!.add(key);
    return true;
  }
}

/** An object being read (its keys so far, the key whose value comes next) or an array (its index). */
type Frame = { keys: KeySet; key: string; expectKey: boolean } | { keys: null; index: number };

/** Keys of every object in a parsed JSON value (iterative: no value can overflow the stack here). */
export function keyCount(value: unknown): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (node === null || typeof node !== 'object') continue;
    const children = Array.isArray(node) ? node : Object.values(node);
    if (!Array.isArray(node)) count += children.length;
    for (const child of children) if (child !== null && typeof child === 'object') pending.push(child);
  }
  return count;
}

/**
 * The path of the first key that appears twice in one object of a JSON text (`["tasks", "3",
 * "priority"]`), or undefined when every object's keys are unique. JSON.parse keeps the last of
 * duplicated keys without a word, so `{"priority": 1, "priority": 100}` would be taken as 100 by the
 * api and as 1 by a proxy or a log reader that keeps the first: the body parser refuses it instead.
 *
 * For text JSON.parse accepted: one pass, string values skipped with indexOf, keys compared as
 * JSON.parse reads them (`"a"` and `"\u0061"` are the same key). It costs about three times a
 * scanJsonText pass, so the parser runs it only when the text gives more keys than the parsed value
 * holds (a duplicate somewhere), and only on bodies up to NAMED_DUPLICATE_MAX_BYTES.
 */
export function duplicateKeyPath(text: string): string[] | undefined {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE_CODE) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (!top.keys.add(key)) return [...pathOf(stack.slice(0, -1)), key];
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === OPEN_BRACE) stack.push({ keys: new KeySet(), key: '', expectKey: true });
    else if (c === OPEN_BRACKET) stack.push({ keys: null, index: 0 });
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) stack.pop();
    else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
      else if (top) top.index++;
    } else if (c === COLON) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = false;
    }
  }
  return undefined;
}

/** Index of the quote that closes the string opening at `start` (a quote preceded by an even run of backslashes). */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf(QUOTE, from);
    if (quote < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

function pathOf(frames: Frame[]): string[] {
  return frames.map((frame) => (frame.keys ? frame.key : String(frame.index)));
}

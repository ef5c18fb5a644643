/**
 * Deepest JSON nesting a request body may have. class-transformer and JSON.stringify walk values
 * recursively, so a body nested a few thousand levels deep (found by the fault suite's fuzz)
 * overflowed the stack and was answered 500. The JSON body parser rejects anything deeper, for
 * every route, before any of that code sees it.
 */
export const MAX_BODY_DEPTH = 64;

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

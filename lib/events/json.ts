/** The value as a plain JSON object, or undefined (arrays and null are not objects here). */
export function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * An entry of a map keyed by data (a category, a product id, a trait name): only the map's own
 * entries, never one of Object.prototype's (`constructor`, `toString`, `__proto__` are keys like any other).
 */
export function own<T>(map: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Sets an entry of a map keyed by data; `__proto__` becomes an ordinary key instead of the prototype. */
export function setOwn<T>(map: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}

/** Whether a parsed JSON value nests objects and arrays deeper than `max` (the value itself is level 1); iterative, so any depth is safe to ask about. */
export function valueNestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

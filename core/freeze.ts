/** Deep-freezes plain data (objects, arrays, Maps' values). RegExps are frozen as values, not walked. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) freezeAll(value);
  return value;
}

// A loop over a stack of objects still to freeze, not a recursion: the recursive walker was inlined into
// itself by the optimizing compiler, once per kind of snapshot object it had seen, and one such compile
// on a cold build at scale took ~120 ms of a compiler thread's CPU (the freezing itself takes ~25 ms).
// Members are tested before they are pushed (most are strings, numbers or already-frozen shared objects),
// arrays are walked by index (Object.keys of a 50,000-route list made a string per index to look each up
// by) and objects with for-in (no key array per object; snapshot objects inherit no enumerable keys).
// An object reachable twice may be pushed twice; the second time it is frozen already and skipped.
function freezeAll(root: object): void {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const value = stack.pop() as object;
    if (Object.isFrozen(value)) continue;
    Object.freeze(value);
    if (value instanceof RegExp) continue;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) stack.push(v);
      }
    } else if (value instanceof Map) {
      for (const v of value.values()) if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) stack.push(v);
    } else {
      for (const key in value) {
        const v: unknown = (value as Record<string, unknown>)[key];
        if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) stack.push(v);
      }
    }
  }
}

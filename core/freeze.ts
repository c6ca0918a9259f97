/** Deep-freezes plain data (objects, arrays, Maps' values). RegExps are frozen as values, not walked. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') freezeObject(value);
  return value;
}

// Members are tested before the call (most are strings, numbers or already-frozen shared objects), arrays
// are walked by index (Object.keys of a 50,000-route list made a string per index to look each up by) and
// objects with for-in (no key array per object; snapshot objects inherit no enumerable keys).
function freezeObject(value: object): void {
  if (Object.isFrozen(value)) return;
  if (value instanceof RegExp) {
    Object.freeze(value);
    return;
  }
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v !== null && typeof v === 'object') freezeObject(v);
    }
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return;
  }
  for (const key in value) {
    const v: unknown = (value as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object') freezeObject(v);
  }
}

/** Deep-freezes plain data (objects, arrays, Maps' values). RegExps are frozen as values, not walked. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  if (value instanceof RegExp) return Object.freeze(value);
  Object.freeze(value);
  // Arrays by index: Object.keys of a 50,000-route list made a string per index to look each up by.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
    return value;
  }
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return value;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) deepFreeze((value as Record<string, unknown>)[keys[i] as string]);
  return value;
}

// Writing text into a buffer as latin1 (one byte a character: how node decodes the wire and how the
// gateway writes heads and log lines back), without making a string of the whole first.

/** Where copying by hand stops paying: past ~30 characters one call into node's encoder costs less. */
const LONG_TEXT = 32;

/** Writes `s` at `p` and returns the end. The buffer must have room for `s.length` bytes. */
export function putLatin1(buf: Buffer, p: number, s: string): number {
  const length = s.length;
  if (length >= LONG_TEXT) return p + buf.write(s, p, length, 'latin1');
  for (let i = 0; i < length; i++) buf[p + i] = s.charCodeAt(i);
  return p + length;
}

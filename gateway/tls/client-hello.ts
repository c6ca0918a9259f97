// Reads the SNI from a TLS ClientHello without terminating TLS (passthrough listeners).

export type ClientHelloResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'hello'; readonly sni: string | undefined };

const INCOMPLETE: ClientHelloResult = { kind: 'incomplete' };
const INVALID: ClientHelloResult = { kind: 'invalid' };

/** Parses the first TLS record(s) buffered so far. Only a ClientHello in one record is supported. */
export function parseClientHello(buf: Buffer): ClientHelloResult {
  if (buf.length < 5) return INCOMPLETE;
  if (buf[0] !== 0x16 /* handshake */ || buf[1] !== 0x03) return INVALID;
  const recordLength = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLength) return INCOMPLETE;
  let p = 5;
  const end = 5 + recordLength;
  if (buf[p] !== 0x01 /* client_hello */) return INVALID;
  const helloLength = (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
  if (5 + 4 + helloLength > end) return INVALID; // fragmented across records: not supported
  p += 4 + 2 + 32; // handshake header, client_version, random
  if (p >= end) return INVALID;
  p += 1 + buf[p]!; // session id
  if (p + 2 > end) return INVALID;
  p += 2 + buf.readUInt16BE(p); // cipher suites
  if (p + 1 > end) return INVALID;
  p += 1 + buf[p]!; // compression methods
  if (p + 2 > end) return { kind: 'hello', sni: undefined }; // no extensions
  const extEnd = Math.min(end, p + 2 + buf.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    p += 4;
    if (p + len > extEnd) return INVALID;
    if (type === 0x0000 /* server_name */) {
      let q = p + 2; // server_name_list length
      while (q + 3 <= p + len) {
        const nameType = buf[q]!;
        const nameLen = buf.readUInt16BE(q + 1);
        q += 3;
        if (q + nameLen > p + len) return INVALID;
        if (nameType === 0) return { kind: 'hello', sni: buf.toString('ascii', q, q + nameLen).toLowerCase() };
        q += nameLen;
      }
      return { kind: 'hello', sni: undefined };
    }
    p += len;
  }
  return { kind: 'hello', sni: undefined };
}

// The OCSP staple of a TLS Secret (`tls.ocsp-staple`, the key Istio's credentials controller forwards
// to Envoy), checked before it is served: a DER OCSPResponse (RFC 6960) that parses, says successful,
// carries a basic response for this certificate's serial with status good, and is current. Stapling a
// stale or foreign response would make strict clients fail the handshake, so such a staple is dropped
// with a warning instead. The responder's signature is the client's to verify; it is not checked here.
import type { X509Certificate } from 'node:crypto';

/** id-pkix-ocsp-basic, 1.3.6.1.5.5.7.48.1.1, DER-encoded content octets. */
const OCSP_BASIC = Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01]);

interface Tlv {
  readonly tag: number;
  /** Start and end of the contents. */
  readonly start: number;
  readonly end: number;
}

class DerError extends Error {}

function readTlv(buf: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new DerError('truncated');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new DerError('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new DerError('truncated');
  return { tag, start: p, end: p + len };
}

/** The children of a constructed value. */
function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DerError(`${what} missing`);
  return t;
}

/** GeneralizedTime `YYYYMMDDHHMMSS[.f]Z` → ms. */
function generalizedTime(buf: Buffer, t: Tlv): number {
  const s = buf.toString('ascii', t.start, t.end);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s);
  if (!m) throw new DerError(`bad time ${s}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Upper-case hex of a serial without leading zeros: DER pads with a zero octet, node's print may not. */
function serialHex(buf: Buffer, t: Tlv): string {
  return canonicalSerial(buf.toString('hex', t.start, t.end));
}

function canonicalSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '');
}

/** Why `der` cannot be stapled for `leaf` at `now`, or undefined when it can. */
export function ocspStapleProblem(der: Buffer, leaf: X509Certificate, now: Date): string | undefined {
  try {
    const top = readTlv(der, 0, der.length);
    if (top.tag !== 0x30 || top.end !== der.length) return 'not a DER OCSPResponse';
    const [status, bytes] = children(der, top);
    const st = expect(status, 0x0a, 'responseStatus');
    const code = der[st.start];
    if (st.end - st.start !== 1 || code !== 0) return `responseStatus is ${code ?? '?'}, not successful (0)`;
    const [typeOid, response] = children(der, expect(children(der, expect(bytes, 0xa0, 'responseBytes'))[0], 0x30, 'ResponseBytes'));
    const oid = expect(typeOid, 0x06, 'responseType');
    if (!der.subarray(oid.start, oid.end).equals(OCSP_BASIC)) return 'not a basic OCSP response';
    const basic = readTlv(der, expect(response, 0x04, 'response').start, response!.end);
    const tbs = expect(children(der, expect(basic, 0x30, 'BasicOCSPResponse'))[0], 0x30, 'tbsResponseData');
    const fields = children(der, tbs);
    let i = fields[0]?.tag === 0xa0 ? 1 : 0; // version [0], default v1
    i += 2; // responderID, producedAt
    const responses = expect(fields[i], 0x30, 'responses');
    const want = canonicalSerial(leaf.serialNumber);
    for (const single of children(der, responses)) {
      const [certId, certStatus, thisUpdate, next] = children(der, expect(single, 0x30, 'SingleResponse'));
      const idFields = children(der, expect(certId, 0x30, 'CertID'));
      const serial = expect(idFields[3], 0x02, 'serialNumber');
      if (serialHex(der, serial) !== want) continue;
      if (certStatus?.tag !== 0x80) return certStatus?.tag === 0xa1 ? 'the certificate is revoked' : 'the certificate status is not good';
      const from = generalizedTime(der, expect(thisUpdate, 0x18, 'thisUpdate'));
      if (from > now.getTime() + 5 * 60_000) return `thisUpdate ${new Date(from).toISOString()} is in the future`;
      if (next?.tag === 0xa0) {
        const until = generalizedTime(der, expect(children(der, next)[0], 0x18, 'nextUpdate'));
        if (until < now.getTime()) return `expired: nextUpdate ${new Date(until).toISOString()} has passed`;
      }
      return undefined;
    }
    return `no response for this certificate (serial ${want})`;
  } catch (e) {
    return e instanceof DerError ? `not a DER OCSPResponse (${e.message})` : `not a DER OCSPResponse (${(e as Error).message})`;
  }
}

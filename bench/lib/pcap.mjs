// A reader for the classic pcap files tcpdump writes (-w), enough for loopback TCP: each record's kernel
// timestamp, its TCP ports and payload. The latency bench (bench/floor.mjs --hold) reads a proxy's own time
// per request from these timestamps, which the kernel takes when a process hands a segment to loopback: no
// process's scheduling, the load client's or tcpdump's, moves them.

const MAGIC_MICRO = 0xa1b2c3d4;
const MAGIC_NANO = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1; // what tcpdump reports for Linux's lo
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113; // `-i any`

/**
 * @typedef {{ t: number, src: number, dst: number, len: number, flags: number, head: string }} Segment
 * t: nanoseconds since the file's first record; src/dst: TCP ports; len: TCP payload bytes on the wire
 * (from the IP length, whatever the snap length cut); flags: the TCP flags byte (FIN 0x01, SYN 0x02,
 * RST 0x04); head: the captured payload bytes as latin1.
 */

export const TCP_FIN = 0x01;
export const TCP_RST = 0x04;

/** Every TCP segment of a pcap file (IPv4 and IPv6), in file order. Throws on a file that is not pcap. */
export function readTcpSegments(buf) {
  if (buf.length < 24) throw new Error('pcap: shorter than its global header');
  let le;
  let nano;
  const m = buf.readUInt32LE(0);
  if (m === MAGIC_MICRO || m === MAGIC_NANO) {
    le = true;
    nano = m === MAGIC_NANO;
  } else {
    const b = buf.readUInt32BE(0);
    if (b !== MAGIC_MICRO && b !== MAGIC_NANO) throw new Error(`pcap: bad magic 0x${m.toString(16)}`);
    le = false;
    nano = b === MAGIC_NANO;
  }
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const link = u32(20) & 0x0fffffff;
  const linkHeader = link === LINKTYPE_ETHERNET ? 14 : link === LINKTYPE_LINUX_SLL ? 16 : link === LINKTYPE_RAW ? 0 : -1;
  if (linkHeader < 0) throw new Error(`pcap: link type ${link} not supported (capture on lo, or with -i any)`);
  const out = [];
  let firstSec;
  let firstNs = 0;
  for (let o = 24; o + 16 <= buf.length; ) {
    const sec = u32(o);
    const frac = u32(o + 4);
    const caplen = u32(o + 8);
    const rec = o + 16;
    o = rec + caplen;
    if (o > buf.length) break; // a record cut short by an interrupted write
    const ns = nano ? frac : frac * 1000;
    if (firstSec === undefined) {
      firstSec = sec;
      firstNs = ns;
    }
    // Relative to the first record: absolute nanoseconds would pass 2^53.
    const t = (sec - firstSec) * 1e9 + (ns - firstNs);
    const seg = tcpOf(buf, rec + linkHeader, rec + caplen, link === LINKTYPE_RAW ? undefined : buf.readUInt16BE(rec + linkHeader - 2));
    if (seg) {
      seg.t = t;
      out.push(seg);
    }
  }
  return out;
}

function tcpOf(buf, ip, end, etherType) {
  if (ip >= end) return undefined;
  const version = buf[ip] >> 4;
  if (etherType !== undefined && etherType !== 0x0800 && etherType !== 0x86dd) return undefined;
  let tcp;
  let ipEnd;
  if (version === 4) {
    if (buf[ip + 9] !== 6) return undefined;
    tcp = ip + (buf[ip] & 0x0f) * 4;
    ipEnd = ip + buf.readUInt16BE(ip + 2);
  } else if (version === 6) {
    // Loopback TCP carries no extension headers.
    if (buf[ip + 6] !== 6) return undefined;
    tcp = ip + 40;
    ipEnd = tcp + buf.readUInt16BE(ip + 4);
  } else {
    return undefined;
  }
  if (tcp + 20 > end) return undefined;
  const payload = tcp + (buf[tcp + 12] >> 4) * 4;
  return { t: 0, src: buf.readUInt16BE(tcp), dst: buf.readUInt16BE(tcp + 2), len: Math.max(0, ipEnd - payload), flags: buf[tcp + 13], head: payload < end ? buf.toString('latin1', payload, end) : '' };
}

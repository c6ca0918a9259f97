// bench/floor.mjs --hold reads the latency a proxy adds to each request from a tcpdump capture: these
// captures are written byte for byte as tcpdump writes them (pcap, nanosecond timestamps, Ethernet on lo),
// so the reader and the matching are checked against known answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';

interface Segment { t: number; src: number; dst: number; len: number; flags: number; head: string }
interface Hold {
  total: number; matched: number; unmatched: number; misordered: number; markerMismatch: number;
  added: number[]; requestLeg: number[]; responseLeg: number[]; busyOnArrival: number[]; addedIdleArrival: number[];
}
const pcap = (await import(new URL('../../../bench/lib/pcap.mjs', import.meta.url).href)) as { readTcpSegments(b: Buffer): Segment[] };
const hold = (await import(new URL('../../../bench/lib/hold.mjs', import.meta.url).href)) as {
  holdTimes(s: Segment[], run: { proxyPort: number; upstreamPort: number; total: number; order: number[]; ports: number[] }): Hold;
  requestNumber(head: string): number | undefined;
  slowSpells(added: number[], arrivals: number[], o?: { overMs?: number; withinMs?: number; minRun?: number; writes?: number[] }): { slow: number; inSpells: number; spells: number; outside: number[]; silences: number[] };
};

const PROXY = 8443;
const UPSTREAM = 9000;
const FIN = 0x11; // FIN|ACK
const PSH = 0x18; // PSH|ACK

interface Packet { us: number; src: number; dst: number; payload?: string; flags?: number; v6?: boolean }

/** A pcap file as tcpdump -w --time-stamp-precision=nano writes one on Linux's lo. */
function capture(packets: Packet[]): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b23c4d, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(262144, 16);
  global.writeUInt32LE(1, 20); // Ethernet
  const records = packets.map((p) => {
    const payload = Buffer.from(p.payload ?? '', 'latin1');
    const tcp = Buffer.alloc(32); // 20 bytes and the timestamp option, as Linux sends
    tcp.writeUInt16BE(p.src, 0);
    tcp.writeUInt16BE(p.dst, 2);
    tcp[12] = 8 << 4;
    tcp[13] = p.flags ?? (payload.length ? PSH : 0x10);
    let ip: Buffer;
    if (p.v6) {
      ip = Buffer.alloc(40);
      ip[0] = 0x60;
      ip.writeUInt16BE(tcp.length + payload.length, 4);
      ip[6] = 6;
    } else {
      ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(20 + tcp.length + payload.length, 2);
      ip[9] = 6;
    }
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(p.v6 ? 0x86dd : 0x0800, 12);
    const frame = Buffer.concat([eth, ip, tcp, payload]);
    const caplen = Math.min(frame.length, 160); // tcpdump -s 160
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + Math.floor(p.us / 1e6), 0);
    rec.writeUInt32LE(Math.round((p.us % 1e6) * 1000), 4);
    rec.writeUInt32LE(caplen, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame.subarray(0, caplen)]);
  });
  return Buffer.concat([global, ...records]);
}

const get = (n: number) => `GET /1k?n=${n} HTTP/1.1\r\nhost: localhost\r\n\r\n`;
const ok = `HTTP/1.1 200 OK\r\ncontent-length: 1024\r\n\r\n${'x'.repeat(1024)}`;

test('pcap: every TCP segment with its kernel time, ports, flags and true payload length', () => {
  const segs = pcap.readTcpSegments(capture([
    { us: 10, src: 50000, dst: PROXY, payload: get(7) },
    { us: 12.5, src: PROXY, dst: 50000, payload: ok, v6: true },
    { us: 13, src: 50000, dst: PROXY, flags: FIN },
  ]));
  assert.equal(segs.length, 3);
  assert.deepEqual(segs.map((s) => [s.t, s.src, s.dst, s.len]), [[0, 50000, PROXY, get(7).length], [2500, PROXY, 50000, ok.length], [3000, 50000, PROXY, 0]]);
  // The payload length comes from the IP header, not from what the snap length kept.
  assert.ok(segs[1]!.head.length < ok.length);
  assert.equal(segs[2]!.flags & 0x01, 1);
  assert.equal(hold.requestNumber(segs[0]!.head), 7);
  assert.throws(() => pcap.readTcpSegments(Buffer.alloc(24)), /bad magic/);
});

test('hold: what the proxy adds is its request leg plus its response leg, per request', () => {
  // Connection A is plain HTTP; connection B is TLS: two handshake segments first, numbers unreadable, and
  // after the client's FIN the server's close_notify, which must not count as the end of a response.
  const tls = (bytes: number) => 'T'.repeat(bytes);
  const packets: Packet[] = [
    { us: 0, src: 50002, dst: PROXY, payload: tls(300) }, // ClientHello
    { us: 1, src: PROXY, dst: 50002, payload: tls(900) },
    { us: 2, src: 50002, dst: PROXY, payload: tls(80) }, // client Finished
    // request 0 on A: in at 100, out to the upstream at 130, back at 200, out to the client at 260 and 275
    { us: 100, src: 50001, dst: PROXY, payload: get(0) },
    { us: 130, src: 41000, dst: UPSTREAM, payload: get(0) },
    { us: 200, src: UPSTREAM, dst: 41000, payload: ok },
    // two response segments, written out of time order (tcpdump's ring across two cores)
    { us: 275, src: PROXY, dst: 50001, payload: ok.slice(40) },
    { us: 260, src: PROXY, dst: 50001, payload: ok.slice(0, 40) },
    // request 1 on B: in at 300, to the upstream at 400 (a second upstream connection), back at 410, out at 500
    { us: 300, src: 50002, dst: PROXY, payload: tls(120) },
    { us: 400, src: 41001, dst: UPSTREAM, payload: get(1) },
    { us: 410, src: UPSTREAM, dst: 41001, payload: ok },
    { us: 500, src: PROXY, dst: 50002, payload: tls(1300) },
    // request 2 on A, reusing the first upstream connection
    { us: 600, src: 50001, dst: PROXY, payload: get(2) },
    { us: 610, src: 41000, dst: UPSTREAM, payload: get(2) },
    { us: 700, src: UPSTREAM, dst: 41000, payload: ok },
    { us: 720, src: PROXY, dst: 50001, payload: ok },
    { us: 5000, src: 50002, dst: PROXY, flags: FIN },
    { us: 5001, src: PROXY, dst: 50002, payload: tls(24) }, // close_notify
  ];
  const h = hold.holdTimes(pcap.readTcpSegments(capture(packets)), {
    proxyPort: PROXY, upstreamPort: UPSTREAM, total: 3,
    // The client's record: request numbers in the order connections took them, and those connections' ports.
    order: [0, 1, 2], ports: [50001, 50002, 50001],
  });
  assert.equal(h.matched, 3);
  assert.equal(h.unmatched + h.misordered + h.markerMismatch, 0);
  const ms = (us: number) => us / 1000;
  const close = (a: number[], b: number[]) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-9, `${x} vs ${b[i]}`));
  close(h.requestLeg, [ms(30), ms(100), ms(10)]);
  close(h.responseLeg, [ms(75), ms(90), ms(20)]);
  close(h.added, [ms(105), ms(190), ms(30)]);
});

test('hold: a wrong order of requests on a connection is caught, not measured', () => {
  const packets: Packet[] = [
    { us: 100, src: 50001, dst: PROXY, payload: get(0) },
    { us: 130, src: 41000, dst: UPSTREAM, payload: get(0) },
    { us: 200, src: UPSTREAM, dst: 41000, payload: ok },
    { us: 260, src: PROXY, dst: 50001, payload: ok },
    { us: 300, src: 50001, dst: PROXY, payload: get(1) },
    { us: 330, src: 41000, dst: UPSTREAM, payload: get(1) },
    { us: 400, src: UPSTREAM, dst: 41000, payload: ok },
    { us: 460, src: PROXY, dst: 50001, payload: ok },
  ];
  const segs = pcap.readTcpSegments(capture(packets));
  const swapped = hold.holdTimes(segs, { proxyPort: PROXY, upstreamPort: UPSTREAM, total: 2, order: [1, 0], ports: [50001, 50001] });
  assert.equal(swapped.markerMismatch, 2);
  // A warm-up request (number ≥ total) takes its place in the order but is not counted.
  const warm = hold.holdTimes(segs, { proxyPort: PROXY, upstreamPort: UPSTREAM, total: 1, order: [0, 1], ports: [50001, 50001] });
  assert.equal(warm.markerMismatch, 0);
  assert.equal(warm.matched, 1);
  // A request the capture lacks a leg of is unmatched, not guessed.
  const missing = hold.holdTimes(segs.filter((s) => s.src !== UPSTREAM || s.t < 200_000), { proxyPort: PROXY, upstreamPort: UPSTREAM, total: 2, order: [0, 1], ports: [50001, 50001] });
  assert.equal(missing.matched, 1);
  assert.equal(missing.unmatched, 1);
});

test('hold: a request that finds the proxy busy is told apart from one that finds it idle', () => {
  // Request 1 arrives (210 µs) while request 0's response is inside the proxy (200 → 260 µs).
  const packets: Packet[] = [
    { us: 100, src: 50001, dst: PROXY, payload: get(0) },
    { us: 130, src: 41000, dst: UPSTREAM, payload: get(0) },
    { us: 200, src: UPSTREAM, dst: 41000, payload: ok },
    { us: 210, src: 50002, dst: PROXY, payload: get(1) },
    { us: 240, src: 41001, dst: UPSTREAM, payload: get(1) },
    { us: 260, src: PROXY, dst: 50001, payload: ok },
    { us: 300, src: UPSTREAM, dst: 41001, payload: ok },
    { us: 320, src: PROXY, dst: 50002, payload: ok },
  ];
  const h = hold.holdTimes(pcap.readTcpSegments(capture(packets)), { proxyPort: PROXY, upstreamPort: UPSTREAM, total: 2, order: [0, 1], ports: [50001, 50002] });
  assert.deepEqual(h.busyOnArrival, [0, 1]);
  assert.equal(h.addedIdleArrival.length, 1);
  assert.ok(Math.abs(h.addedIdleArrival[0]! - 0.09) < 1e-9, String(h.addedIdleArrival[0]));
});

test('hold: slow requests in a spell (the core serving nothing for milliseconds) are told apart from slow ones on their own', () => {
  // One request a millisecond (arrivals in ns, given out of order); held 0.3 ms, except:
  //   3, 4, 5, 6: a spell (four in a row over 1 ms, each within 5 ms of the last);
  //   20: over 1 ms alone; 40 and 43: two, 3 ms apart: too few for a spell;
  //   60, 66, 72: three over 1 ms but 6 ms apart: not a spell.
  const held = new Map([[3, 4.1], [4, 3.2], [5, 2.2], [6, 1.3], [20, 1.8], [40, 1.5], [43, 1.2], [60, 2], [66, 2], [72, 2]]);
  const ms = Array.from({ length: 100 }, (_, i) => 99 - i);
  const added = ms.map((m) => held.get(m) ?? 0.3);
  const arrivals = ms.map((m) => m * 1e6);
  const s = hold.slowSpells(added, arrivals);
  assert.deepEqual({ slow: s.slow, inSpells: s.inSpells, spells: s.spells }, { slow: 10, inSpells: 4, spells: 1 });
  assert.equal(s.outside.length, 96);
  assert.ok(!s.outside.includes(4.1) && s.outside.includes(1.8) && s.outside.includes(1.2), 'the spell is left out, the rest kept');
  // A looser window joins 60, 66 and 72 into a second spell.
  assert.deepEqual(hold.slowSpells(added, arrivals, { withinMs: 6 }).spells, 2);
  // The spell runs from the first arrival (3 ms) to the last release (6 + 1.3 = 7.3 ms). The proxy wrote at
  // 3.1 ms and then not until 7.1: silent for 4 ms of it.
  const writes = [0.5, 1.5, 2.5, 3.1, 7.1, 7.2, 7.3, 8].map((m) => m * 1e6);
  const [silence] = hold.slowSpells(added, arrivals, { writes }).silences;
  assert.ok(Math.abs(silence! - 4) < 1e-9, `longest silence ${silence}`);
});

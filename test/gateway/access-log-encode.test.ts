// The TEXT access-log line is encoded straight into the sink's batch (encodeText) rather than built as a
// string: it must give exactly the bytes of the string formatter (formatText) written as latin1, for every
// field shape a request can produce, and the sink must keep lines whole across batch boundaries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeText, formatText, type AccessLogEntry } from '../../gateway/telemetry/access-log.js';
import { createStdoutSink } from '../../gateway/telemetry/stdout-sink.js';

function entry(overrides: Partial<AccessLogEntry>): AccessLogEntry {
  return {
    startTime: Date.UTC(2026, 10, 25, 12, 0, 0, 7), method: 'GET', path: '/', protocol: 'HTTP/1.1', responseCode: 200,
    responseFlags: '-', responseCodeDetails: 'via_upstream', connectionTerminationDetails: undefined,
    upstreamTransportFailureReason: undefined, bytesReceived: 0, bytesSent: 5, durationMs: 1, upstreamServiceTimeMs: 1,
    xForwardedFor: '10.0.0.1', userAgent: 'curl', requestId: 'id', authority: 'a.example', upstreamHost: '127.0.0.1:80',
    upstreamCluster: 'outbound|80||a.svc', upstreamLocalAddress: undefined, downstreamLocalAddress: '127.0.0.1:8080',
    downstreamRemoteAddress: '127.0.0.1:5000', requestedServerName: undefined, routeName: 'r', ...overrides,
  };
}

function encoded(e: AccessLogEntry, size = 64 * 1024): Buffer | undefined {
  const buf = Buffer.alloc(size);
  const end = encodeText(e, buf, 3);
  return end < 0 ? undefined : buf.subarray(3, end);
}

const expected = (e: AccessLogEntry): Buffer => Buffer.from(formatText(e), 'latin1');

test('every field shape encodes to the bytes of the formatted line', () => {
  const cases: Partial<AccessLogEntry>[] = [
    {},
    // Missing and empty values are '-'.
    { responseCodeDetails: '', xForwardedFor: undefined, userAgent: '', requestId: undefined, authority: undefined, upstreamHost: undefined,
      upstreamCluster: undefined, downstreamLocalAddress: undefined, downstreamRemoteAddress: undefined, routeName: undefined, upstreamServiceTimeMs: undefined },
    // Local replies: no upstream, flags and details set, a failure reason with spaces.
    { responseCode: 503, responseFlags: 'UF', responseCodeDetails: 'upstream_reset_before_response_started{connection_failure}',
      upstreamTransportFailureReason: 'delayed connect error: 111', connectionTerminationDetails: 'x' },
    // Request bytes above 0x7f as node decodes them (latin1), and a character above 0xff (its low byte, as a latin1 write).
    { userAgent: Buffer.from('agent \u2603', 'utf8').toString('latin1'), path: '/caf\u00e9?q=\u00ff', authority: 'h\u2603st' },
    // Config text and error messages: UTF-8.
    { routeName: 'caf\u00e9-\u2603', upstreamCluster: 'outbound|80||\u00fcber.svc', requestedServerName: 'xn--\u00e9', upstreamTransportFailureReason: 'SAN \u00fcber' },
    // Numbers: zero, large, past 32 bits, fractional durations rounding both ways, and shapes that are not counts.
    { bytesReceived: 0, bytesSent: 4_294_967_295, durationMs: 0.49, upstreamServiceTimeMs: 0 },
    { bytesReceived: 4_294_967_296, bytesSent: 2 ** 53, durationMs: 2.5, upstreamServiceTimeMs: 123_456_789 },
    { bytesReceived: -1, bytesSent: 1e21, durationMs: 1e-7, responseCode: 0 },
    { durationMs: Number.NaN, bytesSent: 10, bytesReceived: 9 },
    // Milliseconds of the start time at both ends of a second.
    { startTime: Date.UTC(2026, 0, 1, 0, 0, 0, 0) },
    { startTime: Date.UTC(2026, 11, 31, 23, 59, 59, 999) },
    { method: 'PROPFIND', protocol: 'HTTP/2', path: '/' + 'p'.repeat(4000) },
  ];
  for (const c of cases) {
    const e = entry(c);
    assert.deepEqual(encoded(e), expected(e), JSON.stringify(c));
  }
});

test('random field values encode to the bytes of the formatted line', () => {
  let seed = 0x9e3779b9;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const text = (): string | undefined => {
    if (next() < 0.1) return undefined;
    const len = Math.floor(next() * 40);
    let s = '';
    for (let i = 0; i < len; i++) {
      const r = next();
      s += String.fromCharCode(r < 0.7 ? 0x20 + Math.floor(next() * 0x5f) : r < 0.9 ? 0x80 + Math.floor(next() * 0x80) : 0x100 + Math.floor(next() * 0x2000));
    }
    return s;
  };
  const count = (): number => (next() < 0.5 ? Math.floor(next() * 1000) : Math.floor(next() * 2 ** 40));
  for (let i = 0; i < 500; i++) {
    const e = entry({
      path: text() ?? '/', userAgent: text(), requestId: text(), authority: text(), xForwardedFor: text(), upstreamHost: text(),
      upstreamCluster: text(), routeName: text(), requestedServerName: text(), upstreamTransportFailureReason: text(),
      responseCodeDetails: text() ?? '', bytesReceived: count(), bytesSent: count(), durationMs: next() * 5000,
      upstreamServiceTimeMs: next() < 0.2 ? undefined : count(), startTime: Date.UTC(2026, 0, 1) + Math.floor(next() * 1e10),
    });
    assert.deepEqual(encoded(e), expected(e), `case ${i}`);
  }
});

test('a line that does not fit reports it rather than writing past the buffer', () => {
  const e = entry({ path: '/' + 'a'.repeat(200) });
  const line = expected(e);
  const buf = Buffer.alloc(line.length + 3);
  assert.equal(encodeText(e, buf, 4), -1, 'one byte short');
  assert.equal(encodeText(e, buf, 3), line.length + 3, 'exactly enough');
  assert.deepEqual(buf.subarray(3), line);
  // The UTF-8 fields are measured too.
  const u = entry({ routeName: '\u2603'.repeat(10) });
  assert.equal(encodeText(u, Buffer.alloc(expected(u).length - 1), 0), -1);
});

test('the sink keeps encoded lines whole and in order across batches, and a line larger than a batch arrives intact', () => {
  const writes: Buffer[] = [];
  const sink = createStdoutSink({ write: (chunk: Buffer | string) => writes.push(Buffer.from(chunk as Buffer)) });
  const entries: AccessLogEntry[] = [];
  for (let i = 0; i < 400; i++) entries.push(entry({ path: `/${i}/` + 'x'.repeat(i * 3), bytesSent: i, routeName: i % 7 === 0 ? 'r\u00e9' : 'r' }));
  entries.splice(200, 0, entry({ path: '/' + 'h'.repeat(70 * 1024) }));
  sink.write('a JSON-style line\n');
  for (const e of entries) sink.writeText(e);
  sink.flush();
  assert.ok(writes.length > 2, 'several batches were written');
  assert.deepEqual(Buffer.concat(writes), Buffer.concat([Buffer.from('a JSON-style line\n'), ...entries.map(expected)]));
});

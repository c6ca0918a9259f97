// Access-log lines are latin1 strings written byte for byte (stdout-sink.ts): text from the wire is
// already in that form, text from config or error messages is turned into its UTF-8 bytes first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAccessLog, formatText, logBytes, TextTail, writeTextLine, type AccessLogEntry } from '../../gateway/telemetry/access-log.js';
import { createStdoutSink } from '../../gateway/telemetry/stdout-sink.js';

function entry(overrides: Partial<AccessLogEntry>): AccessLogEntry {
  return {
    startTime: Date.UTC(2026, 10, 25, 12, 0, 0, 7), method: 'GET', path: '/', protocol: 'HTTP/1.1', responseCode: 200,
    responseFlags: '-', responseCodeDetails: 'via_upstream', connectionTerminationDetails: undefined,
    upstreamTransportFailureReason: undefined, bytesReceived: 0, bytesSent: 5, durationMs: 1, upstreamServiceTimeMs: 1,
    xForwardedFor: '10.0.0.1', userAgent: 'curl', requestId: 'id', authority: 'a.example', upstreamHost: '127.0.0.1:80',
    upstreamCluster: 'outbound|80||a.svc', upstreamLocalAddress: undefined, downstreamLocalAddress: '127.0.0.1:8080',
    downstreamRemoteAddress: '127.0.0.1:5000', requestedServerName: undefined, routeName: 'r', textTail: undefined, ...overrides,
  };
}

// One sink for the file: each adds a beforeExit listener.
const out: Buffer[] = [];
const sink = createStdoutSink({ write: (c: Buffer | string) => out.push(Buffer.from(c as Buffer)) });

/** What the sink writes: flushed, and the capture emptied. */
function taken(): Buffer {
  sink.flush();
  return Buffer.concat(out.splice(0));
}

function logged(line: string): string {
  sink.write(line);
  return taken().toString('utf8');
}

test('a route name and an error message from outside the wire are logged as UTF-8, in text and JSON', () => {
  const e = entry({ routeName: 'caf\u00e9-\u2603', upstreamTransportFailureReason: 'SAN \u00fcber' });
  const text = logged(formatAccessLog('text', e));
  assert.match(text, / caf\u00e9-\u2603\n$/);
  assert.match(text, /"SAN \u00fcber"/);
  const json = JSON.parse(logged(formatAccessLog('json', e)));
  assert.equal(json.route_name, 'caf\u00e9-\u2603');
  assert.equal(json.upstream_transport_failure_reason, 'SAN \u00fcber');
});

test('a UTF-8 user agent, as node decodes it off the wire, is logged as the bytes the client sent', () => {
  const agent = Buffer.from('agent \u2603', 'utf8').toString('latin1');
  assert.match(logged(formatAccessLog('text', entry({ userAgent: agent }))), /"agent \u2603"/);
  assert.equal(JSON.parse(logged(formatAccessLog('json', entry({ userAgent: agent })))).user_agent, 'agent \u2603');
});

test('ASCII text is passed through as the same string', () => {
  const name = 'outbound|80||a.svc.cluster.local';
  assert.equal(logBytes(name), name);
  assert.equal(logBytes(undefined), undefined);
});

/** Istio's default TEXT format string, field by field, as a plain template: what the byte writer must produce. */
function istioText(e: AccessLogEntry): string {
  const d = (v: string | number | undefined): string | number => (v === undefined || v === '' ? '-' : v);
  return (
    `[${new Date(e.startTime).toISOString()}] "${e.method} ${e.path} ${e.protocol}" ${e.responseCode} ${e.responseFlags} ` +
    `${d(e.responseCodeDetails)} ${d(e.connectionTerminationDetails)} "${d(logBytes(e.upstreamTransportFailureReason))}" ` +
    `${e.bytesReceived} ${e.bytesSent} ${Math.round(e.durationMs)} ${d(e.upstreamServiceTimeMs)} ` +
    `"${d(e.xForwardedFor)}" "${d(e.userAgent)}" "${d(e.requestId)}" "${d(e.authority)}" ` +
    `"${d(e.upstreamHost)}" ${d(logBytes(e.upstreamCluster))} ${d(e.upstreamLocalAddress)} ${d(e.downstreamLocalAddress)} ` +
    `${d(e.downstreamRemoteAddress)} ${d(logBytes(e.requestedServerName))} ${d(logBytes(e.routeName))}\n`
  );
}

test('the TEXT line written as bytes is Istio\'s format string, for numbers of every size, missing fields and kept line ends', () => {
  const tail = new TextTail();
  const entries: AccessLogEntry[] = [
    entry({}),
    entry({ textTail: tail }),
    // The connection's kept end, reused, then invalidated by another route and endpoint.
    entry({ textTail: tail, startTime: Date.UTC(2026, 10, 25, 12, 0, 1, 999) }),
    entry({ textTail: tail, routeName: 'other', upstreamHost: '10.0.0.9:8080' }),
    entry({ startTime: Date.UTC(1999, 11, 31, 23, 59, 59, 0), responseCode: 0, responseFlags: 'DC', responseCodeDetails: 'downstream_remote_disconnect',
      connectionTerminationDetails: 'upstream_reset_after_response_started', upstreamTransportFailureReason: 'connection refused', bytesReceived: 9_007_199_254_740_991,
      bytesSent: 1234567890, durationMs: 12345.5, upstreamServiceTimeMs: undefined, xForwardedFor: undefined, userAgent: '', requestId: undefined,
      authority: undefined, upstreamHost: undefined, upstreamCluster: undefined, downstreamLocalAddress: undefined, downstreamRemoteAddress: undefined, routeName: undefined }),
    // Numbers a broken peer could put there (a negative or fractional Content-Length read as a number).
    entry({ bytesReceived: -5, bytesSent: 0.5, durationMs: 0.49, upstreamServiceTimeMs: 10 }),
    entry({ bytesReceived: 1e21, durationMs: Number.NaN }),
    entry({ path: '/caf\u00c3\u00a9?q=' + 'x'.repeat(5000), userAgent: Buffer.from('agent \u2603', 'utf8').toString('latin1'), requestedServerName: 'sni.example', upstreamLocalAddress: '127.0.0.1:40000' }),
  ];
  for (const e of entries) {
    const expected = istioText(e);
    assert.equal(formatText(e), expected);
    assert.equal(logged(formatText(e)), Buffer.from(expected, 'latin1').toString('utf8'));
    // Straight into the stdout sink's batch, as the gateway writes it.
    sink.write('before\n');
    writeTextLine(e, sink);
    writeTextLine(e, sink);
    assert.equal(taken().toString('latin1'), 'before\n' + expected + expected);
  }
});

test('TEXT lines that overflow a batch, one longer than a batch among them, arrive whole and in order', () => {
  const short = entry({ path: '/short' });
  const long = entry({ path: '/' + 'p'.repeat(70 * 1024) });
  let expected = '';
  for (let i = 0; i < 300; i++) {
    const e = i === 150 ? long : short;
    writeTextLine(e, sink);
    expected += istioText(e);
  }
  assert.ok(out.length >= 2, `batches flushed as they filled (${out.length})`);
  assert.equal(taken().toString('latin1'), expected);
});

// Access-log lines are latin1 strings written byte for byte (stdout-sink.ts): text from the wire is
// already in that form, text from config or error messages is turned into its UTF-8 bytes first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAccessLog, logBytes, type AccessLogEntry } from '../../gateway/telemetry/access-log.js';
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

function logged(line: string): string {
  const out: Buffer[] = [];
  const sink = createStdoutSink({ write: (c: Buffer | string) => out.push(Buffer.from(c as Buffer)) });
  sink.write(line);
  sink.flush();
  return Buffer.concat(out).toString('utf8');
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

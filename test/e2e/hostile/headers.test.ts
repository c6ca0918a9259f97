// Headers to the upstream are built, never copied: hop-by-hop headers, the ones Connection nominates,
// and every header by which a client could claim to be the gateway or a proxy in front of it are gone
// from the exact bytes the upstream receives; the same on the response to the client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHostileFixture, HOST, type HostileFixture } from './fixture.js';
import { sendRaw, statuses } from './raw-client.js';

/** Header names and values (lower-cased names) of the last request head the upstream received. */
function lastHead(f: HostileFixture): Map<string, string[]> {
  const head = f.upstream.heads.at(-1) ?? '';
  const fields = new Map<string, string[]>();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return fields;
}

describe('default edge policy', () => {
  let f: HostileFixture;
  before(async () => {
    f = await startHostileFixture();
  });
  after(async () => {
    await f?.stop();
  });

  test('hop-by-hop, nominated and client-asserted headers never reach the upstream', async () => {
    const answer = await sendRaw(
      f.port,
      `GET /h HTTP/1.1\r\nHost: ${HOST}\r\nConnection: keep-alive, X-Nominated\r\nX-Nominated: 1\r\nKeep-Alive: timeout=5\r\n` +
        'Proxy-Connection: keep-alive\r\nTE: gzip\r\nTrailer: x-sum\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n' +
        'X-Envoy-Upstream-Rq-Timeout-Ms: 1\r\nX-Envoy-Original-Path: /admin\r\nX-Forwarded-Client-Cert: By=spiffe://evil\r\nX-Gatehouse-Debug: 1\r\n' +
        'Forwarded: for=6.6.6.6;host=evil\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Port: 1\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n' +
        'X-Forwarded-For: 6.6.6.6\r\nX-Kept: yes\r\n\r\n',
    );
    assert.deepEqual(statuses(answer.text), [200]);
    const got = lastHead(f);
    for (const name of ['x-nominated', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'http2-settings', 'proxy-authorization',
      'x-envoy-upstream-rq-timeout-ms', 'x-envoy-original-path', 'x-forwarded-client-cert', 'x-gatehouse-debug', 'forwarded',
      'x-forwarded-host', 'x-forwarded-port', 'x-real-ip', 'upgrade', 'transfer-encoding']) {
      assert.equal(got.get(name), undefined, `${name} reached the upstream: ${f.upstream.heads.at(-1)}`);
    }
    assert.deepEqual(got.get('x-kept'), ['yes']);
    assert.deepEqual(got.get('x-forwarded-proto'), ['http'], 'the scheme is the gateway’s, not the client’s');
    assert.deepEqual(got.get('x-forwarded-for'), ['6.6.6.6, 127.0.0.1'], 'the peer is appended');
    assert.deepEqual(got.get('x-envoy-external-address'), ['127.0.0.1'], 'with no trusted hops the peer is the client');
  });

  test('TE: trailers survives (gRPC needs it); other TE values do not', async () => {
    await sendRaw(f.port, `GET /te HTTP/1.1\r\nHost: ${HOST}\r\nTE: trailers, deflate\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(lastHead(f).get('te'), ['trailers']);
  });

  test('an h2c Upgrade is served as a plain request and never forwarded as an upgrade', async () => {
    const answer = await sendRaw(f.port, `GET /up HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`);
    assert.deepEqual(statuses(answer.text), [200]);
    assert.doesNotMatch(answer.text, /^HTTP\/1\.1 101/);
    const got = lastHead(f);
    assert.equal(got.get('upgrade'), undefined);
    assert.equal(got.get('http2-settings'), undefined);
  });

  test('hop-by-hop headers of the upstream response never reach the client', async () => {
    const answer = await sendRaw(f.port, `GET /fault/hop-headers HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(statuses(answer.text), [200]);
    const head = answer.text.slice(0, answer.text.indexOf('\r\n\r\n')).toLowerCase();
    assert.match(head, /\r\nx-kept: yes/);
    for (const name of ['x-internal', 'proxy-connection', 'trailer', 'upgrade', 'keep-alive: timeout=5']) {
      assert.ok(!head.includes(`\r\n${name}`), `${name} reached the client: ${head}`);
    }
  });
});

describe('--headers-with-underscores drop, --xff-trusted-hops 1', () => {
  let f: HostileFixture;
  before(async () => {
    f = await startHostileFixture({ args: ['--headers-with-underscores', 'drop', '--xff-trusted-hops', '1'] });
  });
  after(async () => {
    await f?.stop();
  });

  test('a header with an underscore is dropped and the request served', async () => {
    const answer = await sendRaw(f.port, `GET /u HTTP/1.1\r\nHost: ${HOST}\r\nX_User: admin\r\nX-User: alice\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(statuses(answer.text), [200]);
    const got = lastHead(f);
    assert.equal(got.get('x_user'), undefined);
    assert.deepEqual(got.get('x-user'), ['alice']);
  });

  test('one trusted hop: the client is the last address the proxy in front appended', async () => {
    await sendRaw(f.port, `GET /x HTTP/1.1\r\nHost: ${HOST}\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.5\r\nConnection: close\r\n\r\n`);
    const got = lastHead(f);
    assert.deepEqual(got.get('x-envoy-external-address'), ['203.0.113.5']);
    assert.deepEqual(got.get('x-forwarded-for'), ['6.6.6.6, 203.0.113.5, 127.0.0.1']);
  });
});

describe('WebSocket smuggling', () => {
  let f: HostileFixture;
  before(async () => {
    f = await startHostileFixture();
  });
  after(async () => {
    await f?.stop();
  });

  test('an upgrade the upstream answers without 101 is no tunnel: bytes after it never reach the upstream', async () => {
    const heads = f.upstream.heads.length;
    const answer = await sendRaw(
      f.port,
      `GET /ws HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n` +
        `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    );
    assert.deepEqual(statuses(answer.text), [200], 'the upstream refused the upgrade with a plain 200');
    assert.ok(answer.closed);
    const received = f.upstream.heads.slice(heads).map((h) => h.split(' ')[1]);
    assert.deepEqual(received, ['/ws'], `upstream received: ${JSON.stringify(received)}`);
    assert.ok(!f.upstream.bytes().includes('/smuggled'));
  });
});

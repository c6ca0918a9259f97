// The data plane's pure helpers, table-driven: Host normalisation, path normalisation, redirect
// Locations as Envoy builds them, and SNI extraction from a real ClientHello.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { test } from 'node:test';
import { normalizeHost } from '../../gateway/proxy/host.js';
import { redirectLocation, tlsRedirectLocation } from '../../gateway/proxy/redirect.js';
import { normalizeRequestPath } from '../../gateway/proxy/path.js';
import { parseClientHello } from '../../gateway/tls/client-hello.js';

test('normalizeHost: lower-case, no port, no trailing dot; malformed is undefined', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com.:80', 'example.com'],
    ['10.0.0.1:443', '10.0.0.1'],
    ['[::1]:8443', '[::1]'],
    ['under_score.example.com', 'under_score.example.com'],
    [undefined, undefined],
    ['', undefined],
    ['exa mple.com', undefined],
    ['example.com/path', undefined],
    ['example.com:80x', undefined],
    ['example.com:', undefined],
    ['user@example.com', undefined],
    ['[::1', undefined],
    [':80', undefined],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeHost(input), expected, `normalizeHost(${JSON.stringify(input)})`);
});

test('path normalisation (BASE) removes dot segments and takes the path of absolute-form targets', () => {
  const cases: [string, string | undefined][] = [
    ['/a/b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['http://host.example/x/../y', '/y'],
    ['http://host.example', '/'],
    ['*', '*'],
    ['relative', undefined],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeRequestPath(input, 'BASE'), expected, `normalizeRequestPath(${input})`);
});

test('redirect Locations follow Envoy: scheme, authority, port derivation, path and query', () => {
  assert.equal(tlsRedirectLocation('a.example.com', '/x?y=1'), 'https://a.example.com/x?y=1');
  assert.equal(tlsRedirectLocation('a.example.com:80', '/'), 'https://a.example.com/');
  assert.equal(tlsRedirectLocation('a.example.com:8080', '/'), 'https://a.example.com:8080/');
  const r = (action: Parameters<typeof redirectLocation>[0], scheme: string, authority: string, path: string, query: string) =>
    redirectLocation(action, scheme, authority, path, query);
  assert.equal(r({ type: 'redirect', uri: '/new', code: 301 }, 'http', 'a.example.com', '/old', 'q=1'), 'http://a.example.com/new?q=1');
  assert.equal(r({ type: 'redirect', uri: '/new?z=9', code: 301 }, 'http', 'a.example.com', '/old', 'q=1'), 'http://a.example.com/new?z=9');
  assert.equal(r({ type: 'redirect', authority: 'b.example.com', code: 302 }, 'http', 'a.example.com:8080', '/p', ''), 'http://b.example.com/p');
  assert.equal(r({ type: 'redirect', scheme: 'https', code: 301 }, 'http', 'a.example.com:80', '/p', ''), 'https://a.example.com/p');
  assert.equal(r({ type: 'redirect', scheme: 'https', code: 301 }, 'http', 'a.example.com:8080', '/p', ''), 'https://a.example.com:8080/p');
  assert.equal(r({ type: 'redirect', port: 8443, scheme: 'https', code: 301 }, 'http', 'a.example.com:8080', '/p', ''), 'https://a.example.com:8443/p');
  assert.equal(r({ type: 'redirect', port: 443, scheme: 'https', code: 301 }, 'http', 'a.example.com', '/p', ''), 'https://a.example.com/p');
  assert.equal(r({ type: 'redirect', port: 'FROM_PROTOCOL_DEFAULT', scheme: 'https', code: 301 }, 'http', 'a.example.com:8080', '/p', ''), 'https://a.example.com/p');
  assert.equal(r({ type: 'redirect', port: 'FROM_REQUEST_PORT', code: 301 }, 'http', 'a.example.com:8080', '/p', ''), 'http://a.example.com:8080/p');
});

test('parseClientHello finds the SNI in a real ClientHello, and waits for the whole record', async () => {
  const server = createServer();
  const captured = new Promise<Buffer>((resolve) => {
    server.on('connection', (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (parseClientHello(all).kind !== 'incomplete') {
          socket.destroy();
          resolve(all);
        }
      });
      socket.on('error', () => undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = tlsConnect({ host: '127.0.0.1', port, servername: 'Shop.Example.COM', rejectUnauthorized: false });
  client.on('error', () => undefined);
  try {
    const hello = await captured;
    assert.deepEqual(parseClientHello(hello), { kind: 'hello', sni: 'shop.example.com' });
    assert.deepEqual(parseClientHello(hello.subarray(0, 40)), { kind: 'incomplete' });
    assert.deepEqual(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')), { kind: 'invalid' });
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

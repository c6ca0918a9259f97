// Response header names from the upstream's raw bytes: the common ones are matched without making a
// string of the bytes, and must come out exactly as converting and lower-casing would give them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listWithStrings, responseHeaderList, responseHeaderName } from '../../gateway/proxy/headers.js';

const converted = (b: Buffer) => b.toString('latin1').toLowerCase();

test('a common name in any ASCII case is the lower-case name; anything else is converted as before', () => {
  for (const name of ['Content-Type', 'CONTENT-LENGTH', 'date', 'ETag', 'Set-Cookie', 'X-Envoy-Upstream-Service-Time', 'te', 'Vary']) {
    const raw = Buffer.from(name, 'latin1');
    assert.equal(responseHeaderName(raw), converted(raw), name);
  }
  // Same lengths as common names, other bytes: the candidates must not match them.
  for (const bytes of [
    Buffer.from('content-typf'),
    Buffer.from('x-custom-hdr'),
    Buffer.from([0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x0d, 0x74, 0x79, 0x70, 0x65]), // CR where '-' is: no case folding of non-letters
    Buffer.from('d\u00e1te', 'latin1'),
    Buffer.from('DATE'.replace('A', '\u00c1'), 'latin1'), // a latin1 capital is not an ASCII letter
    Buffer.alloc(0),
  ]) {
    assert.equal(responseHeaderName(bytes), converted(bytes), JSON.stringify(bytes.toString('latin1')));
    assert.notEqual(responseHeaderName(bytes), 'content-type');
  }
});

test('the downstream list drops hop-by-hop and gateway-owned names whatever their case', () => {
  const raw = ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Drop', 'Keep-Alive', 'timeout=5', 'X-Drop', '1', 'SERVER', 'up', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'].map((s) => Buffer.from(s, 'latin1'));
  // Values stay the upstream's bytes (copied into the HTTP/1 head as they came).
  assert.deepEqual(listWithStrings(responseHeaderList(raw)), ['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2']);
  assert.ok(Buffer.isBuffer(responseHeaderList(raw)[1]));
});

// Limits at the edge, each driven over real sockets: oversized requests get 431/414 and reach no
// upstream; slow clients are cut off by the header and request deadlines; idle keep-alive connections
// are closed; connections over the limit are closed on accept rather than queued.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../support/wait.js';
import { startHostileFixture, HOST, type HostileFixture } from './fixture.js';
import { sendRaw, statuses } from './raw-client.js';

/** Opens a keep-alive connection and completes one request on it; resolves with the open socket. */
function openServedConnection(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('data', (d: string) => {
      text += d;
      if (/\r\n\r\nok$/.test(text)) {
        clearTimeout(timer);
        socket.removeAllListeners('data');
        resolve(socket);
      }
    });
    socket.on('close', () => reject(new Error(`closed before an answer: ${JSON.stringify(text)}`)));
    socket.write(`GET /idle HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  });
}

describe('default limits', () => {
  let f: HostileFixture;
  before(async () => {
    f = await startHostileFixture();
  });
  after(async () => {
    await f?.stop();
  });

  test('101 request headers get 431; 100 are served', async () => {
    const fields = (n: number) => Array.from({ length: n - 2 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const heads = f.upstream.heads.length;
    const over = await sendRaw(f.port, `GET /many HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n${fields(101)}\r\n`);
    assert.deepEqual(statuses(over.text), [431]);
    assert.equal(f.upstream.heads.length, heads);
    const at = await sendRaw(f.port, `GET /many HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n${fields(100)}\r\n`);
    assert.deepEqual(statuses(at.text), [200]);
  });

  test('headers over 60 KiB get 431; 50 KiB are served', async () => {
    const heads = f.upstream.heads.length;
    const over = await sendRaw(f.port, `GET /big HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(61 * 1024)}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(statuses(over.text), [431]);
    assert.ok(over.closed);
    assert.equal(f.upstream.heads.length, heads);
    const under = await sendRaw(f.port, `GET /big HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(50 * 1024)}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(statuses(under.text), [200]);
  });

  test('a request target over 16 KiB gets 414 and reaches no upstream', async () => {
    const heads = f.upstream.heads.length;
    const over = await sendRaw(f.port, `GET /${'a'.repeat(16 * 1024)} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(statuses(over.text), [414]);
    assert.equal(f.upstream.heads.length, heads);
    const under = await sendRaw(f.port, `GET /${'a'.repeat(8 * 1024)} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(statuses(under.text), [200]);
  });

  test('200 idle keep-alive connections are held, and the gateway still serves', async () => {
    const sockets: net.Socket[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        sockets.push(...(await Promise.all(Array.from({ length: 20 }, () => openServedConnection(f.port)))));
      }
      assert.equal(sockets.length, 200);
      const answer = await sendRaw(f.port, `GET /after HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
      assert.deepEqual(statuses(answer.text), [200]);
      assert.ok(sockets.every((s) => !s.destroyed && s.readyState === 'open'), 'idle connections stay open within the idle timeout');
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

describe('short deadlines and a connection limit', () => {
  let f: HostileFixture;
  before(async () => {
    f = await startHostileFixture({
      args: ['--request-headers-timeout', '1s', '--request-timeout', '2s', '--idle-timeout', '2s', '--max-connections', '20'],
    });
  });
  after(async () => {
    await f?.stop();
  });

  test('slowloris: headers trickling in are cut off at the header deadline and reach no upstream', async () => {
    const heads = f.upstream.heads.length;
    const socket = net.connect(f.port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1').on('data', (d: string) => (text += d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(`GET /slow HTTP/1.1\r\nHost: ${HOST}\r\n`);
    // Keep sending a header byte every 200 ms: activity must not extend the deadline.
    const trickle = setInterval(() => socket.writable && socket.write('X-A: b\r\n'), 200);
    try {
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('still open after 6 s')), 6000))]);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    assert.ok(statuses(text).every((s) => s === 408), `answer: ${text}`);
    assert.equal(f.upstream.heads.length, heads);
  });

  test('slow body: a request whose body stops arriving is cut off at the request deadline; no complete request upstream', async () => {
    const requests = f.upstream.requests.length;
    const answer = await sendRaw(f.port, `POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 100\r\n\r\n0123456789`, { waitMs: 8000 });
    assert.ok(answer.closed, 'the gateway closed the connection');
    assert.ok(statuses(answer.text).every((s) => s === 408 || s === 400 || s === 503), `answer: ${answer.text}`);
    assert.equal(f.upstream.requests.length, requests, 'the upstream never saw a complete body');
  });

  test('an idle keep-alive connection is closed after the idle timeout', async () => {
    const socket = await openServedConnection(f.port);
    const closed = new Promise<boolean>((resolve) => {
      socket.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 6000);
    });
    assert.equal(await closed, true);
  });

  test('connections over the limit are closed on accept; freed slots are usable again', async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) held.push(...(await Promise.all(Array.from({ length: 5 }, () => openServedConnection(f.port)))));
      const refused = await sendRaw(f.port, `GET /over HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      assert.equal(refused.text, '', 'no answer past the limit');
      assert.ok(refused.closed);
      for (const s of held.splice(0, 5)) s.destroy();
      await waitFor(async () => statuses((await sendRaw(f.port, `GET /again HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`)).text)[0] === 200, {
        timeoutMs: 5000,
        what: 'a slot freed by closed connections',
      });
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

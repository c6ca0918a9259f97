// An upstream on a raw TCP socket that records the exact bytes the gateway sent it, parses just enough
// HTTP/1.1 framing to know where each request ends, and misbehaves on request when the path asks:
//   /fault/reset-early   reset before any response byte
//   /fault/reset-mid     headers and part of a chunked body, then reset
//   /fault/hang          never answers
//   /fault/bad-framing   a response with both Content-Length and Transfer-Encoding
//   /fault/big?bytes=N   a Content-Length body of N bytes, written with backpressure
//   /fault/hop-headers   a response carrying every hop-by-hop header
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  /** Request line and header block exactly as received, without the blank line. */
  readonly head: string;
  readonly body: Buffer;
}

export interface RawUpstream {
  readonly port: number;
  /** Every byte received, across connections, in arrival order. */
  bytes(): string;
  /** Complete requests (head + whole body). */
  readonly requests: RecordedRequest[];
  /** Requests whose head arrived, complete or not. */
  readonly heads: string[];
  /** Connections whose request body was cut short when the peer went away. */
  incompleteBodies: number;
  /** Times a /fault/big response waited for the gateway to drain (backpressure reached the upstream). */
  readonly stalls: number;
  close(): Promise<void>;
}

export async function startRawUpstream(): Promise<RawUpstream> {
  const chunks: Buffer[] = [];
  const requests: RecordedRequest[] = [];
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const state = { incompleteBodies: 0, stalls: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let pendingHead: string | undefined;
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      buffer = Buffer.concat([buffer, d]);
      for (let guard = 0; guard < 100; guard++) {
        const parsed = parseOne(buffer);
        if (parsed === 'incomplete') {
          const end = buffer.indexOf('\r\n\r\n');
          if (end >= 0 && pendingHead === undefined) {
            pendingHead = buffer.subarray(0, end).toString('latin1');
            heads.push(pendingHead);
          }
          return;
        }
        if (pendingHead === undefined) heads.push(parsed.head);
        pendingHead = undefined;
        buffer = buffer.subarray(parsed.consumed);
        requests.push({ head: parsed.head, body: parsed.body });
        answer(socket, parsed.head, state);
        if (socket.destroyed) return;
      }
    });
    socket.on('close', () => {
      if (pendingHead !== undefined) state.incompleteBodies++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    bytes: () => Buffer.concat(chunks).toString('latin1'),
    requests,
    heads,
    get incompleteBodies() {
      return state.incompleteBodies;
    },
    set incompleteBodies(n: number) {
      state.incompleteBodies = n;
    },
    get stalls() {
      return state.stalls;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

type Parsed = { head: string; body: Buffer; consumed: number } | 'incomplete';

function parseOne(buffer: Buffer): Parsed {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return 'incomplete';
  const head = buffer.subarray(0, end).toString('latin1');
  let offset = end + 4;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const parts: Buffer[] = [];
    for (let guard = 0; guard < 100_000; guard++) {
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd < 0) return 'incomplete';
      const size = parseInt(buffer.subarray(offset, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        const trailerEnd = buffer.indexOf('\r\n\r\n', lineEnd);
        if (trailerEnd < 0) return 'incomplete';
        return { head, body: Buffer.concat(parts), consumed: trailerEnd + 4 };
      }
      if (buffer.length < lineEnd + 2 + size + 2) return 'incomplete';
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
    return 'incomplete';
  }
  const n = length ? Number(length[1]) : 0;
  if (buffer.length < offset + n) return 'incomplete';
  return { head, body: buffer.subarray(offset, offset + n), consumed: offset + n };
}

function answer(socket: net.Socket, head: string, state: { stalls: number }): void {
  const target = head.slice(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
  if (target.startsWith('/fault/reset-early')) {
    socket.resetAndDestroy();
    return;
  }
  if (target.startsWith('/fault/reset-mid')) {
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    setTimeout(() => socket.resetAndDestroy(), 50);
    return;
  }
  if (target.startsWith('/fault/hang')) return;
  if (target.startsWith('/fault/bad-framing')) {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    return;
  }
  if (target.startsWith('/fault/hop-headers')) {
    socket.write(
      'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\n' +
        'Proxy-Connection: keep-alive\r\nTrailer: x-checksum\r\nUpgrade: h2c\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok',
    );
    return;
  }
  if (target.startsWith('/fault/big')) {
    const total = Number(/bytes=(\d+)/.exec(target)?.[1] ?? 0);
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${total}\r\n\r\n`);
    const block = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = (): void => {
      while (sent < total && !socket.destroyed) {
        const n = Math.min(block.length, total - sent);
        sent += n;
        if (!socket.write(n === block.length ? block : block.subarray(0, n))) {
          state.stalls++;
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    return;
  }
  socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok');
}

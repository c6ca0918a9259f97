// Reads a terminating connection's ClientHello before OpenSSL sees it. OpenSSL fixes the protocol
// version, the cipher list and the session ticket keys from the context the connection starts with,
// before node's SNI callback runs; knowing the SNI first lets that context be the chain's own.
import type { Socket } from 'node:net';
import { parseClientHello } from './client-hello.js';

/** A ClientHello larger than this is not one we will buffer (one TLS record at most). */
const MAX_HELLO_BYTES = 16 * 1024 + 5;
/** A client that has not finished its ClientHello by then is dropped. */
const HELLO_TIMEOUT_MS = 10_000;

/**
 * Buffers the first TLS record, then pauses the socket, puts the bytes back (node's TLSSocket replays a
 * wrapped socket's buffered data into OpenSSL) and calls `onHello`. `parsed` is false when the record is
 * not a whole ClientHello in one record: the caller falls back to choosing the chain at SNI time.
 */
export function readClientHello(socket: Socket, onHello: (parsed: boolean, sni: string | undefined) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  const onError = (): void => {
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const hello = parseClientHello(buffered);
    if (hello.kind === 'incomplete' && buffered.length <= MAX_HELLO_BYTES) return;
    socket.off('data', onData);
    socket.off('error', onError);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(buffered);
    if (hello.kind === 'hello') onHello(true, hello.sni);
    else onHello(false, undefined);
  };
  socket.on('error', onError);
  socket.setTimeout(HELLO_TIMEOUT_MS, () => socket.destroy());
  socket.on('data', onData);
}

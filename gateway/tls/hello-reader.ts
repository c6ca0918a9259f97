// Reads a terminating connection's ClientHello before OpenSSL sees it. OpenSSL fixes the protocol
// version, the cipher list and the session ticket keys from the context the connection starts with,
// before node's SNI callback runs; knowing the SNI first lets that context be the chain's own.
import type { Socket } from 'node:net';
import { DeadlineSweep } from '../listeners/deadline-sweep.js';
import { parseClientHello } from './client-hello.js';

/** A ClientHello larger than this is not one we will buffer (one TLS record at most). */
const MAX_HELLO_BYTES = 16 * 1024 + 5;
/** A client that has not finished its ClientHello by then is dropped (at most, see ClientHelloReader). */
export const HELLO_TIMEOUT_MS = 10_000;

/**
 * Called once per connection whose first record was read (or could not be): `parsed` is false when the
 * record is not a whole ClientHello in one record, and the caller falls back to choosing the chain at
 * SNI time. Not called for a connection that closed, errored or timed out first (it is destroyed).
 */
export type OnClientHello = (socket: Socket, parsed: boolean, sni: string | undefined) => void;

/** What a connection being read carries, under kPending on the socket. */
interface PendingHello {
  readonly reader: ClientHelloReader;
  buffered: Buffer | undefined;
}

const kPending = Symbol('gatehouse.pendingHello');
type ReadingSocket = Socket & { [kPending]?: PendingHello };

/**
 * The ClientHello pre-read of one listener. Every connection shares the same 'data' and 'error'
 * listeners (the state is on the socket) and one deadline sweep, so a connection costs no closures and
 * no timer of its own. A client still short of a whole ClientHello `timeoutMs` after it connected is
 * destroyed (see DeadlineSweep for how late at most).
 */
export class ClientHelloReader {
  private readonly deadlines: DeadlineSweep<ReadingSocket>;

  constructor(private readonly onHello: OnClientHello, timeoutMs = HELLO_TIMEOUT_MS) {
    this.deadlines = new DeadlineSweep(timeoutMs);
  }

  /**
   * Buffers the first TLS record, then pauses the socket, puts the bytes back (node's TLSSocket replays a
   * wrapped socket's buffered data into OpenSSL) and calls the listener's `onHello`.
   */
  read(socket: Socket): void {
    const s = socket as ReadingSocket;
    s[kPending] = { reader: this, buffered: undefined };
    this.deadlines.add(s);
    s.on('error', onReadError);
    s.on('data', onReadData);
  }

  /** Connections whose ClientHello is still being read (or that ended and were not swept yet). */
  get pending(): number {
    return this.deadlines.size;
  }

  /** Whether the deadline sweep is scheduled (while connections are being read, and one sweep after). */
  get sweeping(): boolean {
    return this.deadlines.sweeping;
  }

  /** @internal the end of one connection's read, by completion or by an error */
  finish(socket: ReadingSocket): void {
    socket[kPending] = undefined;
    socket.off('data', onReadData);
    socket.off('error', onReadError);
    this.deadlines.delete(socket);
  }

  /** @internal */
  deliver(socket: Socket, parsed: boolean, sni: string | undefined): void {
    this.onHello(socket, parsed, sni);
  }
}

/** The 'data' listener of every connection being read (`this` is the socket). */
function onReadData(this: ReadingSocket, chunk: Buffer): void {
  const pending = this[kPending];
  if (pending === undefined) return;
  const buffered = pending.buffered === undefined ? chunk : Buffer.concat([pending.buffered, chunk]);
  const hello = parseClientHello(buffered);
  if (hello.kind === 'incomplete' && buffered.length <= MAX_HELLO_BYTES) {
    pending.buffered = buffered;
    return;
  }
  const reader = pending.reader;
  reader.finish(this);
  this.pause();
  this.unshift(buffered);
  if (hello.kind === 'hello') reader.deliver(this, true, hello.sni);
  else reader.deliver(this, false, undefined);
}

/** The 'error' listener of every connection being read: a reset mid-hello just ends it. */
function onReadError(this: ReadingSocket): void {
  const pending = this[kPending];
  if (pending !== undefined) pending.reader.finish(this);
  this.destroy();
}

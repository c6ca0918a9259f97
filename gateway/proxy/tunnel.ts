// Splices a client socket to an upstream socket after a successful WebSocket upgrade.

/** How long a tunnel may stay half-closed before both sides are closed. */
const HALF_CLOSE_MS = 5_000;

interface Duplexish extends NodeJS.ReadWriteStream {
  destroy(): void;
  on(event: string, listener: (...args: never[]) => void): this;
}

export interface TunnelCounters {
  bytesSent: number;
  bytesReceived: number;
}

export function spliceTunnel(client: Duplexish, upstream: Duplexish, counters: TunnelCounters): void {
  let lingering: NodeJS.Timeout | undefined;
  const close = (): void => {
    if (lingering) clearTimeout(lingering);
    client.destroy();
    upstream.destroy();
  };
  // One side finishing is passed on (pipe ends the other, flushing what is buffered); node's HTTP
  // sockets allow half-open, so a peer that never closes its half is cut off after a grace period.
  const halfClosed = (): void => {
    lingering ??= setTimeout(close, HALF_CLOSE_MS).unref();
  };
  upstream.on('error', close);
  upstream.on('close', () => {
    // Let what the upstream sent last reach the client before its socket closes.
    client.end();
    halfClosed();
  });
  upstream.on('end', halfClosed);
  client.on('error', close);
  client.on('close', close);
  client.on('end', halfClosed);
  upstream.on('data', (c: Buffer) => (counters.bytesSent += c.length));
  client.on('data', (c: Buffer) => (counters.bytesReceived += c.length));
  upstream.pipe(client);
  client.pipe(upstream);
  client.resume();
}

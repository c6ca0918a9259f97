// Upstream servers the tests start: an echo server that reports what reached it, with a few
// misbehaviours on request (hang, gated, reset mid-body), and a server speaking broken HTTP.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';

export interface EchoReport {
  readonly upstream: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaderNames: string[];
  readonly bodyBytes: number;
  readonly bodyChunks: number;
  /** The gateway side's port of the connection: equal values mean a reused connection. */
  readonly remotePort: number;
}

export interface EchoUpstream {
  readonly name: string;
  readonly port: number;
  readonly received: EchoReport[];
  /** Requests to /gated wait here until released. */
  readonly gated: ServerResponse[];
  releaseGated(): void;
  close(): Promise<void>;
}

export async function startEchoUpstream(name: string): Promise<EchoUpstream> {
  const received: EchoReport[] = [];
  const gated: ServerResponse[] = [];
  const respond = (req: IncomingMessage, res: ServerResponse, report: EchoReport) => {
    const body = JSON.stringify(report);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-upstream': name,
      // Hop-by-hop headers that must not reach the client.
      connection: 'keep-alive, x-hop-response',
      'x-hop-response': 'secret',
      'keep-alive': 'timeout=30',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const server: Server = createServer((req, res) => {
    let bytes = 0;
    let chunks = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      chunks++;
    });
    req.on('end', () => {
      const rawHeaderNames = req.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
      const report: EchoReport = { upstream: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaderNames, bodyBytes: bytes, bodyChunks: chunks, remotePort: req.socket.remotePort ?? 0 };
      received.push(report);
      const path = '/' + ((req.url ?? '').split('?')[0] ?? '').split('/').pop();
      if (path === '/hang') return;
      if (path === '/gated') {
        gated.push(res);
        (res as ServerResponse & { report?: EchoReport }).report = report;
        return;
      }
      if (path === '/reset-mid-body') {
        res.writeHead(200, { 'content-length': '100000', 'x-upstream': name });
        res.write(Buffer.alloc(1000, 0x61), () => setImmediate(() => req.socket.destroy()));
        return;
      }
      if (path === '/stream') {
        res.writeHead(200, { 'x-upstream': name, 'content-type': 'text/plain' });
        for (let i = 0; i < 10; i++) res.write(`chunk-${i}\n`);
        res.end();
        return;
      }
      respond(req, res, report);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    name,
    port,
    received,
    gated,
    releaseGated() {
      for (const res of gated.splice(0)) {
        const report = (res as ServerResponse & { report?: EchoReport }).report as EchoReport;
        const body = JSON.stringify(report);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': name });
        res.end(body);
      }
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server that answers any request with bytes that are not HTTP. */
export async function startBrokenUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end('THIS IS NOT HTTP\r\n\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

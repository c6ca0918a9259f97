// Upstreams the tests start: echo servers that say who answered and record what reached them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamHit {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface EchoUpstream {
  readonly name: string;
  readonly port: number;
  readonly hits: UpstreamHit[];
  close(): Promise<void>;
}

/** Answers JSON `{upstream, method, url, headers, body}` with header `x-upstream: <name>`. */
export async function startEchoUpstream(
  name: string,
  { delayMs = 0, onRequest }: { delayMs?: number; onRequest?: (req: http.IncomingMessage) => void } = {},
): Promise<EchoUpstream> {
  const hits: UpstreamHit[] = [];
  const server = http.createServer((req, res) => {
    onRequest?.(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      hits.push(hit);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
        res.end(JSON.stringify({ upstream: name, ...hit }));
      };
      if (delayMs > 0) setTimeout(send, delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

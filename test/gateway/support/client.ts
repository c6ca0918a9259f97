// Test clients over real sockets: HTTP/1.1 (no connection reuse unless asked), HTTPS with SNI, h2.
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly rawHeaderNames: string[];
}

export interface RequestOptions {
  port: number;
  path?: string;
  method?: string;
  host?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer | Readable;
  timeoutMs?: number;
  /** HTTPS: SNI name and trust. */
  tls?: { servername?: string; ca: string; cert?: string; key?: string };
}

export function request(o: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { host: o.host ?? 'example.com', ...o.headers };
    const common = { host: '127.0.0.1', port: o.port, path: o.path ?? '/', method: o.method ?? 'GET', headers, agent: false as const };
    const req = o.tls
      ? httpsRequest({ ...common, servername: o.tls.servername, ca: o.tls.ca, cert: o.tls.cert, key: o.tls.key })
      : httpRequest(common);
    const timer = setTimeout(() => req.destroy(new Error('client timeout')), o.timeoutMs ?? 5_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          rawHeaderNames: res.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()),
        });
      });
    });
    if (o.body && typeof (o.body as Readable).pipe === 'function') (o.body as Readable).pipe(req);
    else req.end(o.body as string | Buffer | undefined);
  });
}

export interface H2Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export async function h2session(port: number, servername: string, ca: string): Promise<ClientHttp2Session> {
  const session = h2connect(`https://127.0.0.1:${port}`, { servername, ca });
  session.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

export function h2request(session: ClientHttp2Session, authority: string, path: string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ':path': path, ':authority': authority });
    const timer = setTimeout(() => {
      stream.close();
      reject(new Error('h2 request timed out'));
    }, 5_000);
    let headers: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (headers = h as Record<string, string | string[] | undefined>));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on('end', () => {
      clearTimeout(timer);
      resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString('utf8') });
    });
    stream.end();
  });
}

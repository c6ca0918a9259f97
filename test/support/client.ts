// A plain HTTP(S)/1.1 client for tests: one fresh connection per call unless an agent is given.
import http from 'node:http';
import https from 'node:https';

export interface ClientResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  json<T = any>(): T;
}

export interface RequestOptions {
  port: number;
  host?: string;
  /** The Host header; defaults to `host`. */
  authority?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  tls?: { servername?: string; ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  agent?: http.Agent | false;
  timeoutMs?: number;
}

export function request(o: RequestOptions): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const host = o.host ?? '127.0.0.1';
    const options: https.RequestOptions = {
      host,
      port: o.port,
      path: o.path ?? '/',
      method: o.method ?? 'GET',
      headers: { host: o.authority ?? host, ...o.headers },
      agent: o.agent ?? false,
      timeout: o.timeoutMs ?? 5000,
    };
    if (o.tls) {
      Object.assign(options, {
        servername: o.tls.servername ?? (o.authority ?? host).split(':')[0],
        ca: o.tls.ca,
        cert: o.tls.cert,
        key: o.tls.key,
        rejectUnauthorized: o.tls.rejectUnauthorized ?? true,
      });
    }
    const req = (o.tls ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`client timeout after ${o.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

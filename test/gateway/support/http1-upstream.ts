// The upstream behind the HTTP/1 server tests: each path asks for one kind of response (its framing,
// its status), and every request is recorded when it arrives and again when its body is whole.
//   /cl       200 with Content-Length           /nocl   200 written in parts, no Content-Length
//   /204      204                                /304    304 with an ETag
//   /dated    299, chunked, with its own Date and two Set-Cookie
//   /echo     200 JSON: method, url, body length, sha256, the body (first 4 KiB), the headers
//   /gated    held until release(); then as /echo
//   /sink     reads nothing until openSink(); then as /echo
// Responses carry `x-upstream: u` and `x-remove-me: 1` (a name the route header tests remove).
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';

export interface Arrival {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  /** Set once the body is whole. */
  body?: Buffer;
}

export interface EchoBody {
  readonly method: string;
  readonly url: string;
  readonly length: number;
  readonly sha256: string;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

export interface Http1Upstream {
  readonly port: number;
  /** Requests in the order their heads arrived. */
  readonly arrivals: Arrival[];
  /** Answers the requests held at /gated, oldest first. */
  release(): void;
  /** Lets the /sink requests read their bodies. */
  openSink(): void;
  /** /sink requests held, not reading their bodies. */
  readonly sinkPending: number;
  close(): Promise<void>;
}

export const CL_BODY = 'hello over a content-length body\n';
export const UPSTREAM_DATE = 'Tue, 01 Jan 2030 00:00:00 GMT';
export const NOCL_PARTS = ['first part;', 'second part;', 'third part\n'];

export async function startHttp1Upstream(): Promise<Http1Upstream> {
  const arrivals: Arrival[] = [];
  const gated: Array<() => void> = [];
  const sinks: Array<() => void> = [];
  let sinkOpen = false;
  const echo = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const reply: EchoBody = {
      method: req.method ?? '',
      url: req.url ?? '',
      length: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      body: body.subarray(0, 4096).toString('latin1'),
      headers: req.headers,
    };
    const text = JSON.stringify(reply);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-upstream': 'u', 'x-remove-me': '1' });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  const server = createServer((req, res) => {
    // The Date a gateway sends is its own concern; the upstream leaves it out so no two runs differ.
    res.sendDate = false;
    const arrival: Arrival = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders };
    arrivals.push(arrival);
    const path = (req.url ?? '').split('?')[0];
    const chunks: Buffer[] = [];
    const read = (): void => {
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        arrival.body = body;
        answer(path, req, res, body);
      });
      // A held /sink was paused explicitly: a 'data' listener alone would not start it flowing.
      req.resume();
    };
    if (path === '/sink' && !sinkOpen) {
      req.pause();
      sinks.push(read);
    } else read();
  });
  const answer = (path: string | undefined, req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    switch (path) {
      case '/cl':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(CL_BODY), 'x-upstream': 'u' });
        res.end(req.method === 'HEAD' ? undefined : CL_BODY);
        return;
      case '/nocl':
        res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'u' });
        for (const part of NOCL_PARTS) res.write(part);
        res.end();
        return;
      case '/dated':
        // The upstream's own Date (the gateway must not add a second), repeated Set-Cookie, an unknown status.
        res.writeHead(299, [
          ['Date', UPSTREAM_DATE],
          ['Set-Cookie', 'a=1; Path=/'],
          ['Set-Cookie', 'b=2; Path=/'],
          ['Content-Type', 'text/plain'],
        ]);
        res.end(CL_BODY);
        return;
      case '/204':
        res.writeHead(204, { 'x-upstream': 'u' });
        res.end();
        return;
      case '/304':
        res.writeHead(304, { etag: '"v1"', 'x-upstream': 'u' });
        res.end();
        return;
      case '/gated':
        gated.push(() => echo(req, res, body));
        return;
      default:
        echo(req, res, body);
    }
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    arrivals,
    release() {
      for (const answerHeld of gated.splice(0)) answerHeld();
    },
    openSink() {
      sinkOpen = true;
      for (const read of sinks.splice(0)) read();
    },
    get sinkPending() {
      return sinks.length;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

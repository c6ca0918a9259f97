// The benchmark upstream: a minimal node:http (and node:https, same certificate) server with keep-alive.
// GET /1k answers 1024 bytes; any other path answers a tiny body. Run as its own process:
//   node bench/lib/upstream.mjs [--cert FILE --key FILE [--client-ca FILE]]
// With --client-ca a third server (`mtls`) requires a client certificate issued by that CA: the mTLS upstream
// the proxies forward to, while the direct rows keep the plain HTTPS one.
// It listens on 127.0.0.1 ephemeral ports and prints one JSON line {"http":PORT,"https":PORT|null}.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';

export const TINY_BODY = 'hello gatehouse\n';
export const KB_BODY = 'x'.repeat(1023) + '\n';

const tiny = Buffer.from(TINY_BODY);
const kb = Buffer.from(KB_BODY);

function handler(req, res) {
  const body = req.url === '/1k' || req.url.startsWith('/1k?') ? kb : tiny;
  // Drain any request body, then answer with a fixed length so the connection stays alive.
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}

function tune(server) {
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;
  server.maxRequestsPerSocket = 0;
  return server;
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', 1024, () => resolve(server.address().port));
  });
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const servers = [];
  const httpServer = tune(http.createServer(handler));
  servers.push(httpServer);
  const out = { http: await listen(httpServer), https: null };
  const certFile = opt('--cert');
  const keyFile = opt('--key');
  if (certFile && keyFile) {
    const httpsServer = tune(https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handler));
    servers.push(httpsServer);
    out.https = await listen(httpsServer);
    const clientCa = opt('--client-ca');
    if (clientCa) {
      const mtlsServer = tune(https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), requestCert: true, rejectUnauthorized: true, ca: readFileSync(clientCa) }, handler));
      servers.push(mtlsServer);
      out.mtls = await listen(mtlsServer);
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  const shutdown = () => {
    for (const s of servers) {
      s.closeAllConnections?.();
      s.close();
    }
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

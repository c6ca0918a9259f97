// How the proxy core is mounted on a listener. 'http1' (the default): HTTP/1 requests are served by
// Gatehouse's own server on node's llhttp (gateway/http1), HTTP/2 by node's compatibility API. 'node':
// node's HTTP/1 server hands its request event straight to the core ('raw' is the older name). 'fastify':
// one catch-all fastify route in front of node's server (Istio routes are never fastify routes). The
// last two stay so the data path can be measured each way (bench/floor.mjs --targets
// gatehouse,gatehouse-node,gatehouse-fastify) and as the fallback where node's parser binding is not
// reachable. fastify still serves the admin/status/stats ports.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2SecureServer } from 'node:http2';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestHandler } from '../proxy/request-handler.js';

export type DataPath = 'http1' | 'node' | 'fastify';

export function dataPathFromEnv(value: string | undefined): DataPath {
  if (value === 'fastify') return 'fastify';
  if (value === 'node' || value === 'raw') return 'node';
  return 'http1';
}

type AnyServer = HttpServer | Http2SecureServer;

/** Wires `handler` to `server` and resolves once requests reach it. */
export async function mountHandler<S extends AnyServer>(dataPath: DataPath, server: S, handler: RequestHandler, http2: boolean): Promise<FastifyInstance | undefined> {
  if (dataPath !== 'fastify') {
    server.on('request', handler);
    return undefined;
  }
  // Loaded only for this data path: a raw `--workers` worker then never loads fastify (~0.5 s and ~15 MiB each).
  const { default: Fastify } = await import('fastify');
  const app = Fastify({
    // The server is ours; fastify only routes to the one catch-all handler.
    serverFactory: (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void) => {
      server.on('request', fastifyHandler as (req: IncomingMessage, res: ServerResponse) => void);
      return server as unknown as HttpServer;
    },
    ...(http2 ? { http2: true, https: { allowHTTP1: true } } : {}),
    logger: false,
    return503OnClosing: false,
    // Hosts, paths and bodies are the proxy's business: fastify must not judge or buffer them.
    bodyLimit: Number.MAX_SAFE_INTEGER,
    requestIdHeader: false,
    forceCloseConnections: false,
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 65535 },
    frameworkErrors: (_error: Error, request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      handler(request.raw, reply.raw);
    },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  // Leave the body stream unread: the core streams it upstream.
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  app.all('/*', (request, reply) => {
    reply.hijack();
    handler(request.raw, reply.raw);
  });
  // Requests without a wildcard-matching URL (e.g. `*` or absolute-form) land here.
  app.setNotFoundHandler((request, reply) => {
    reply.hijack();
    handler(request.raw, reply.raw);
  });
  await app.ready();
  return app;
}

// How the proxy core is mounted on a listener's server. 'raw' hands node's request event straight to it;
// 'fastify' puts one catch-all route in front of it (Istio routes are never fastify routes). Both exist so the
// data path can be measured each way (bench/floor.mjs --targets gatehouse-raw,gatehouse-fastify);
// GATEHOUSE_DATAPATH=fastify selects fastify. raw is the default: on a quiet core it cost the same as fastify
// over HTTP and 6-8% less over HTTPS (docs/performance.md). fastify still serves the admin/status/stats ports.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2SecureServer } from 'node:http2';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestHandler } from '../proxy/request-handler.js';

export type DataPath = 'raw' | 'fastify';

export function dataPathFromEnv(value: string | undefined): DataPath {
  return value === 'fastify' ? 'fastify' : 'raw';
}

type AnyServer = HttpServer | Http2SecureServer;

/** Wires `handler` to `server` and resolves once requests reach it. */
export async function mountHandler<S extends AnyServer>(dataPath: DataPath, server: S, handler: RequestHandler, http2: boolean): Promise<FastifyInstance | undefined> {
  if (dataPath === 'raw') {
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

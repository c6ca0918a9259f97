// TLS passthrough: read the ClientHello, route by SNI (matchTcpRoute), then tunnel bytes to an
// endpoint of the chosen cluster. No route, no endpoint, or a bad hello: the connection closes.
import { connect, type Socket } from 'node:net';
import { matchTcpRoute, pickDestination, selectFilterChain } from '../../routes/match.js';
import type { PlaneState } from '../plane-state.js';
import { parseClientHello } from '../tls/client-hello.js';

/** A ClientHello larger than this is not one we will buffer. */
const MAX_HELLO_BYTES = 16 * 1024 + 5;
/** A client that has not finished its ClientHello by then is dropped. */
const HELLO_TIMEOUT_MS = 10_000;

export function handlePassthrough(client: Socket, port: number, plane: PlaneState): void {
  let buffered: Buffer = Buffer.alloc(0);
  client.on('error', () => client.destroy());
  client.setTimeout(HELLO_TIMEOUT_MS, () => client.destroy());

  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const hello = parseClientHello(buffered);
    if (hello.kind === 'incomplete') {
      if (buffered.length > MAX_HELLO_BYTES) client.destroy();
      return;
    }
    client.off('data', onData);
    client.pause();
    client.setTimeout(0);
    if (hello.kind === 'invalid') {
      client.destroy();
      return;
    }
    tunnel(client, port, plane, hello.sni, buffered);
  };
  client.on('data', onData);
}

function tunnel(client: Socket, port: number, plane: PlaneState, sni: string | undefined, hello: Buffer): void {
  const gen = plane.current;
  const listener = gen?.listeners.get(port);
  const chain = listener && listener.protocol === 'TLS' ? selectFilterChain(listener, sni) : undefined;
  const route = chain ? matchTcpRoute(chain, sni) : undefined;
  if (!gen || !route || route.destinations.length === 0) {
    plane.log('debug', `passthrough on port ${port}: no route for SNI ${sni ?? '(none)'}`);
    client.destroy();
    return;
  }
  const destination = pickDestination(route.destinations, route.totalWeight, Math.random());
  const endpoint = gen.clusters.get(destination.cluster)?.balancer.pick();
  if (!endpoint) {
    plane.log('debug', `passthrough on port ${port}: no endpoint in ${destination.cluster}`);
    client.destroy();
    return;
  }
  endpoint.inFlight++;
  const upstream = connect({ host: endpoint.endpoint.address, port: endpoint.endpoint.port });
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    endpoint.inFlight--;
    client.destroy();
    upstream.destroy();
  };
  upstream.on('error', release);
  upstream.on('close', release);
  client.on('close', release);
  upstream.once('connect', () => {
    upstream.write(hello);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
}

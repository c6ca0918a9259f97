// Free loopback ports for processes the tests start. The port is checked free and released, then bound
// by the gateway process a moment later, so it is drawn below the kernel's ephemeral range (32768+ on
// Linux) and below the conformance runner's range (20000+): nothing else on the machine is handed such a
// port between the check and the bind (outgoing connections and listen(0) take ephemeral ports).
import net from 'node:net';

const LOW = 10_000;
const HIGH = 20_000;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found in ${LOW}..${HIGH} after 200 attempts`);
}

export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let i = 0; i < n * 20 && ports.size < n; i++) ports.add(await freePort());
  return [...ports];
}

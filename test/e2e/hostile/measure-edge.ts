// Not a test: measures what the edge hardening issue asks to report, on loopback, bounded in count.
//   node --expose-gc dist/test/e2e/hostile/measure-edge.js [idleConnections=5000] [flood=1000]
// A flood larger than the listen backlog (511) leaves connections in the kernel's queues, not the
// gateway's, until the kernel gives up on them; shedding time then measures the kernel.
// 1. idle keep-alive connections held and the gateway's RSS per connection;
// 2. time to shed a flood of new connections over --max-connections 500 (each refused one closed).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startHostileFixture, HOST } from './fixture.js';

const idleCount = Number(process.argv[2] ?? 5000);
const floodCount = Number(process.argv[3] ?? 1000);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

function served(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => reject(new Error('no answer in 10 s')), 10_000);
    s.setEncoding('latin1');
    s.on('error', reject);
    s.on('data', (d: string) => {
      text += d;
      if (text.endsWith('\r\n\r\nok')) {
        clearTimeout(timer);
        resolve(s);
      }
    });
    s.write(`GET /idle HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  });
}

async function idle(): Promise<void> {
  const f = await startHostileFixture();
  const pid = f.gw.child.pid as number;
  const sockets: net.Socket[] = [];
  try {
    (await served(f.port)).destroy();
    global.gc?.();
    const before = rssMiB(pid);
    for (let i = 0; i < idleCount; i += 100) sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, idleCount - i) }, () => served(f.port)))));
    await new Promise((r) => setTimeout(r, 2000));
    const afterOpen = rssMiB(pid);
    const alive = sockets.filter((s) => !s.destroyed).length;
    console.log(`idle: ${alive} keep-alive connections held; gateway RSS ${before.toFixed(1)} → ${afterOpen.toFixed(1)} MiB; ${(((afterOpen - before) * 1024) / alive).toFixed(1)} KiB per connection`);
  } finally {
    for (const s of sockets) s.destroy();
    await f.stop();
  }
}

async function flood(): Promise<void> {
  const limit = 500;
  const f = await startHostileFixture({ args: ['--max-connections', String(limit)] });
  const sockets: net.Socket[] = [];
  try {
    let closedByGateway = 0;
    const start = process.hrtime.bigint();
    let shedAt = 0n;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        console.log(`flood: only ${closedByGateway} of ${floodCount} closed after 30 s`);
        resolve();
      }, 30_000);
      for (let i = 0; i < floodCount; i++) {
        const s = net.connect(f.port, '127.0.0.1');
        s.on('error', () => undefined);
        s.on('close', () => {
          closedByGateway++;
          if (closedByGateway === floodCount - limit) {
            shedAt = process.hrtime.bigint();
            clearTimeout(timer);
            resolve();
          }
        });
        sockets.push(s);
      }
    });
    const shedMs = shedAt === 0n ? Number.NaN : Number(shedAt - start) / 1e6;
    for (const s of sockets) s.destroy();
    const freedAt = process.hrtime.bigint();
    (await retryServed(f.port)).destroy();
    const recoverMs = Number(process.hrtime.bigint() - freedAt) / 1e6;
    console.log(`flood: ${floodCount} connections at --max-connections ${limit}: ${closedByGateway} closed by the gateway within ${shedMs.toFixed(0)} ms of the first connect; served again ${recoverMs.toFixed(0)} ms after the flood's connections closed`);
  } finally {
    for (const s of sockets) s.destroy();
    await f.stop();
  }
}

async function retryServed(port: number): Promise<net.Socket> {
  for (let i = 0; i < 200; i++) {
    try {
      return await served(port);
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  throw new Error('never served again');
}

await idle();
await flood();

// A client on a raw socket: sends exact bytes, collects the answer until the gateway closes the
// connection or `waitMs` passes, and says which of the two happened.
import net from 'node:net';

export interface RawAnswer {
  readonly text: string;
  /** True when the gateway closed (or reset) the connection within the wait. */
  readonly closed: boolean;
}

export function sendRaw(port: number, bytes: string | Buffer | Array<string | Buffer>, { waitMs = 3000 } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    for (const part of Array.isArray(bytes) ? bytes : [bytes]) socket.write(part);
  });
}

/** Status codes of every response in the answer, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}

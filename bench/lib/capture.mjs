// A tcpdump capture on loopback for the length of one benchmark row (bench/floor.mjs --hold). Its
// timestamps are the kernel's, taken as each segment is sent, so where tcpdump itself runs does not move
// them; it is pinned beside the load client all the same, off the proxy's core.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import net from 'node:net';
import { start, stop, sleep, which } from './procs.mjs';

export const TCPDUMP_HINT = 'tcpdump not found: apt-get install -y tcpdump (the capture needs root or CAP_NET_RAW)';

const END_MARK = 'GATEHOUSE-CAPTURE-END';

/**
 * Starts capturing TCP on lo to or from any of `ports`; resolves once tcpdump is listening. The capture
 * ends with a marker sent to `ports[last]` (a server that answers garbage with an error: the benchmark
 * upstream), so stop() knows every earlier segment is in the file.
 */
export async function startCapture({ ports, file, logFile, cpu, taskset }) {
  const tcpdump = which('tcpdump');
  if (!tcpdump) throw new Error(TCPDUMP_HINT);
  // 160 bytes reach past the link, IP and TCP headers to an HTTP request line; -B: a 32 MiB kernel buffer,
  // so a burst is not dropped while tcpdump waits for its core.
  const filter = `tcp and (${ports.map((p) => `port ${p}`).join(' or ')})`;
  // Not --immediate-mode: tcpdump then wakes once per filled ring block (or its timeout, about a second)
  // rather than once per segment, and takes that much less of the core it shares with the load client and
  // the upstream. -U writes each block's packets out as it reads them, so the end marker's arrival in the
  // file still means every segment before it is there.
  const child = start('tcpdump', tcpdump, ['-i', 'lo', '-n', '-s', '160', '-B', '32768', '-U', '--time-stamp-precision=nano', '-w', file, filter],
    { cpu, taskset, logFile });
  for (const deadline = Date.now() + 10_000; ; await sleep(20)) {
    if (child.exitCode !== null) throw new Error(`tcpdump exited (${child.exitCode}): ${log(logFile).slice(-300)}`);
    if (log(logFile).includes('listening on')) break;
    if (Date.now() > deadline) {
      await stop(child);
      throw new Error(`tcpdump did not start listening in 10 s: ${log(logFile).slice(-300)}`);
    }
  }
  return {
    /** Ends the capture (tcpdump writes out what it holds on SIGTERM); resolves to what the kernel dropped. */
    async stop() {
      await markEnd(ports[ports.length - 1], file);
      await stop(child, 10_000);
      const m = /(\d+) packets? dropped by kernel/.exec(log(logFile));
      return { dropped: m ? Number(m[1]) : undefined };
    },
  };
}

async function markEnd(port, file) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`${END_MARK}\r\n\r\n`);
  // Only what tcpdump appended since the last look is read (the capture runs to megabytes), from a little
  // before it, so a marker split across two looks is still found.
  let from = 0;
  try {
    for (const deadline = Date.now() + 10_000; ; await sleep(20)) {
      const { found, size } = scan(file, from, END_MARK);
      if (found) return;
      from = Math.max(0, size - END_MARK.length);
      if (Date.now() > deadline) throw new Error('tcpdump did not write the capture\'s end marker in 10 s: the capture would be cut short');
    }
  } finally {
    socket.destroy();
  }
}

function scan(file, from, mark) {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    readSync(fd, buf, 0, buf.length, from);
    return { found: buf.includes(mark), size };
  } finally {
    closeSync(fd);
  }
}

function log(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

// Workers share the primary's stdout pipe. A write(2) to a pipe is atomic only up to PIPE_BUF (4096 bytes
// on Linux), and the access-log sink flushes batches of up to 64 KiB, so two workers' batches could
// interleave mid-line. This writer cuts each batch at line ends into writes of at most PIPE_BUF bytes:
// every line reaches the pipe whole (a single line longer than PIPE_BUF is written alone, best effort).
// Chosen over forwarding batches to the primary by IPC: see docs/performance.md (workers).

export const PIPE_BUF = 4096;
const NEWLINE = 0x0a;

export interface ChunkSink {
  write(chunk: Uint8Array): unknown;
}

export function wholeLineWriter(out: ChunkSink = process.stdout, max: number = PIPE_BUF): { write(chunk: Buffer | string): void } {
  return {
    // The access-log sink hands over Buffers (its batches); a string is a latin1 line, as the sink writes them.
    write(chunk: Buffer | string): void {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      let start = 0;
      while (buf.length - start > max) {
        let end = buf.lastIndexOf(NEWLINE, start + max - 1);
        if (end < start) {
          end = buf.indexOf(NEWLINE, start + max);
          if (end === -1) end = buf.length - 1;
        }
        out.write(buf.subarray(start, end + 1));
        start = end + 1;
      }
      if (start < buf.length) out.write(buf.subarray(start));
    },
  };
}

// The default access-log sink. Writes to stdout are synchronous when stdout is a pipe or file on
// Linux, so lines are batched and flushed on a short timer or when the batch grows large.
// Lines are encoded straight into one preallocated buffer per batch: joining an array of strings
// (and encoding the joined string at write time) cost more per request than formatting the line.
// Lines are latin1 strings (one character per byte): node decodes request bytes as latin1, so writing
// them back as latin1 logs the bytes the client sent, as Envoy does, where UTF-8 would encode each byte
// above 0x7f twice; it is also a plain copy. The formatter (access-log.ts) gives text from elsewhere
// (config names, error messages) as its UTF-8 bytes in that form.

const FLUSH_INTERVAL_MS = 50;
const BATCH_BYTES = 64 * 1024;

export interface BufferedSink {
  readonly write: (line: string) => void;
  flush(): void;
}

export interface SinkOutput {
  write(chunk: Buffer | string): unknown;
}

export function createStdoutSink(out: SinkOutput = process.stdout): BufferedSink {
  // A fresh buffer per batch: the one just handed to `out` may still be queued by it.
  let batch = Buffer.allocUnsafe(BATCH_BYTES);
  let used = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (used === 0) return;
    const full = batch.subarray(0, used);
    batch = Buffer.allocUnsafe(BATCH_BYTES);
    used = 0;
    out.write(full);
  };

  const write = (line: string): void => {
    const bytes = line.length;
    if (used + bytes > BATCH_BYTES) {
      flush();
      if (bytes > BATCH_BYTES) {
        out.write(Buffer.from(line, 'latin1'));
        return;
      }
    }
    used += batch.write(line, used, bytes, 'latin1');
    if (!timer) {
      timer = setTimeout(flush, FLUSH_INTERVAL_MS);
      timer.unref();
    }
  };

  process.once('beforeExit', flush);
  return { write, flush };
}

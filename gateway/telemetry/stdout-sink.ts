// The default access-log sink. Writes to stdout are synchronous when stdout is a pipe or file on
// Linux, so lines are batched and flushed on a short timer or when the batch grows large.
// Lines go straight into one preallocated buffer per batch: the text format writes its bytes there
// itself (access-log.ts, writeTextLine), other lines are encoded into it. Joining strings and encoding
// the result at write time cost more per request than formatting the line.
// Lines are latin1 (one character per byte): node decodes request bytes as latin1, so writing them
// back as latin1 logs the bytes the client sent, as Envoy does, where UTF-8 would encode each byte
// above 0x7f twice; it is also a plain copy. The formatter gives text from elsewhere (config names,
// error messages) as its UTF-8 bytes in that form.

const FLUSH_INTERVAL_MS = 50;
const BATCH_BYTES = 64 * 1024;

/** Where access-log lines go: one whole line (ending in \n) a call, a latin1 string. */
export interface LineSink {
  write(line: string): void;
}

/** Where a formatter writes a line's bytes directly, without making the line a string. */
export interface LineRoom {
  /** The batch, with room for `max` more bytes from `used` on. */
  room(max: number): Buffer;
  /** Bytes of the batch already taken: where the next line starts. */
  readonly used: number;
  /** The line written into the batch from `used` ends at `end`. */
  commit(end: number): void;
}

/** A sink that takes lines as strings and as bytes written into its batch. */
export interface ByteLineSink extends LineSink, LineRoom {}

export interface BufferedSink extends ByteLineSink {
  flush(): void;
}

export interface SinkOutput {
  write(chunk: Buffer | string): unknown;
}

class StdoutSink implements BufferedSink {
  // A fresh buffer per batch: the one just handed to `out` may still be queued by it.
  private batch = Buffer.allocUnsafe(BATCH_BYTES);
  used = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private readonly onTimer = (): void => this.flush();

  constructor(private readonly out: SinkOutput) {}

  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.used === 0) return;
    const full = this.batch.subarray(0, this.used);
    this.batch = Buffer.allocUnsafe(BATCH_BYTES);
    this.used = 0;
    this.out.write(full);
  }

  room(max: number): Buffer {
    if (this.used + max > this.batch.length) {
      this.flush();
      // A line longer than a batch gets a batch of its own, flushed with the next line or the timer.
      if (max > this.batch.length) this.batch = Buffer.allocUnsafe(max);
    }
    return this.batch;
  }

  commit(end: number): void {
    this.used = end;
    if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  write(line: string): void {
    const bytes = line.length;
    const batch = this.room(bytes);
    this.commit(this.used + batch.write(line, this.used, bytes, 'latin1'));
  }
}

export function createStdoutSink(out: SinkOutput = process.stdout): BufferedSink {
  const sink = new StdoutSink(out);
  process.once('beforeExit', () => sink.flush());
  return sink;
}

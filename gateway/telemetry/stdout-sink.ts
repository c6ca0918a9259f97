// The default access-log sink. Writes to stdout are synchronous when stdout is a pipe or file on
// Linux, so lines are batched and flushed on a short timer or when the batch grows large.

const FLUSH_INTERVAL_MS = 50;
const FLUSH_BYTES = 64 * 1024;

export interface BufferedSink {
  readonly write: (line: string) => void;
  flush(): void;
}

export function createStdoutSink(out: { write(chunk: string): unknown } = process.stdout): BufferedSink {
  let batch: string[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (batch.length === 0) return;
    const text = batch.join('');
    batch = [];
    size = 0;
    out.write(text);
  };

  const write = (line: string): void => {
    batch.push(line);
    size += line.length;
    if (size >= FLUSH_BYTES) flush();
    else if (!timer) {
      timer = setTimeout(flush, FLUSH_INTERVAL_MS);
      timer.unref();
    }
  };

  process.once('beforeExit', flush);
  return { write, flush };
}

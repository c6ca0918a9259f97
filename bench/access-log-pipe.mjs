// What it costs a `--workers` worker to keep access-log lines whole on a shared stdout pipe, per line, against
// the single-process baseline (one write of each 64 KiB batch), measured in one run:
//   whole-lines  the batch cut at line ends into writes of ≤ PIPE_BUF (cli/whole-line-writer.ts)
//   ipc          the batch sent to the primary over the cluster channel, written by the primary
// CPU of every process involved (utime+stime), divided by lines written. stdout must be a pipe:
//   node bench/access-log-pipe.mjs | cat > /dev/null      (results go to stderr)
import cluster from 'node:cluster';
import { wholeLineWriter } from '../dist/cli/whole-line-writer.js';

const BATCHES = 1500;
const LINE = `[2026-11-25T21:00:00.000Z] "GET /some/path?with=query HTTP/1.1" 200 - via_upstream - "-" 0 16 1 1 "-" "wrk" "2f1c3a0e-6a55-4c1e-9b1e-1f2a3b4c5d6e" "127.0.0.1:8080" "127.0.0.1:9000" outbound|80||app.internal 127.0.0.1:51234 127.0.0.1:8080 127.0.0.1:40000 - default.app.0\n`;
const LINES_PER_BATCH = Math.floor((64 * 1024) / LINE.length);
const batch = LINE.repeat(LINES_PER_BATCH);
const cpu = (u) => u.user + u.system;

if (cluster.isWorker) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < BATCHES; i++) process.send(batch);
  process.send({ done: cpu(process.cpuUsage(t0)) });
} else {
  if (process.stdout.isTTY) throw new Error('pipe stdout: node bench/access-log-pipe.mjs | cat > /dev/null');
  const lines = BATCHES * LINES_PER_BATCH;
  const run = (write) => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < BATCHES; i++) write(batch);
    return cpu(process.cpuUsage(t0)) / lines;
  };
  const results = { single: [], 'whole-lines': [], ipc: [] };
  const whole = wholeLineWriter();
  for (let round = 0; round < 3; round++) {
    results.single.push(run((b) => process.stdout.write(b)));
    results['whole-lines'].push(run((b) => whole.write(b)));
    cluster.setupPrimary({ serialization: 'advanced' });
    const primary0 = process.cpuUsage();
    const workerCpu = await new Promise((resolve) => {
      const w = cluster.fork();
      w.on('message', (m) => (typeof m === 'string' ? process.stdout.write(m) : (resolve(m.done), w.kill())));
    });
    results.ipc.push((cpu(process.cpuUsage(primary0)) + workerCpu) / lines);
  }
  const median = (a) => [...a].sort((x, y) => x - y)[1];
  const base = median(results.single);
  for (const [k, v] of Object.entries(results)) {
    process.stderr.write(`${k.padEnd(12)} ${median(v).toFixed(3)} µs/line (median of 3)  ${(median(v) / base).toFixed(2)}× single  [${v.map((x) => x.toFixed(3)).join(', ')}]\n`);
  }
  process.stderr.write(`${LINES_PER_BATCH} lines of ${LINE.length} bytes per batch, ${BATCHES} batches per run\n`);
}

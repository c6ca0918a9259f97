// Runs autocannon in its own process (so it can be pinned like wrk) and prints one AC_JSON line.
//   node bench/lib/autocannon-runner.mjs <autocannon module URL> <url> <connections> <seconds>
// Used only when wrk is absent and autocannon is resolvable; it is never a dependency of the project.
const [moduleUrl, url, connections, seconds, workers = '1'] = process.argv.slice(2);
if (!/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url)) {
  console.error(`refusing non-loopback target ${url}`);
  process.exit(2);
}
const mod = await import(moduleUrl);
const autocannon = mod.default ?? mod;
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  pipelining: 1,
  ...(Number(workers) > 1 ? { workers: Number(workers) } : {}),
  timeout: 5,
  // The benchmark certificate is self-signed for localhost.
  tlsOptions: { rejectUnauthorized: false },
});
const secs = result.duration || Number(seconds);
const out = {
  requests: result.requests.total,
  seconds: secs,
  rps: result.requests.total / secs,
  p50_ms: result.latency.p50,
  p90_ms: result.latency.p90,
  p99_ms: result.latency.p99,
  max_ms: result.latency.max,
  errors: (result.errors ?? 0) + (result.timeouts ?? 0),
  non2xx: result.non2xx ?? 0,
};
process.stdout.write('AC_JSON ' + JSON.stringify(out) + '\n');

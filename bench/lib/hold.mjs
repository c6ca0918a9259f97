// The latency a proxy adds to each request, read from kernel timestamps (a tcpdump capture on lo, read by
// ./pcap.mjs), not from the load client's clock. A proxied request crosses four loopback writes:
//   t1 the client sends the request to the proxy      t2 the proxy sends it on to the upstream
//   t3 the upstream sends its response (last segment)  t4 the proxy sends the response's last segment
// A direct call is the same chain without the proxy, so what the proxy adds to that one request is exactly
// (t2 - t1) + (t4 - t3): its wake-up, parsing, routing and writing, and any queueing behind other requests or
// a stalled core. The load client's own lateness (its timers, its GC) and the upstream's fall outside both
// legs, so the figure moves with the proxy and its own core only, not with the direct call's noise.
//
// Matching: the upstream leg is plaintext HTTP, and each request carries its number (`?n=N`, bench/fixed-rate.mjs
// --trace) in its request line. The client leg may be TLS, so it is matched by order instead: the client
// records which connection (local port) each request went out on, in order; keep-alive without pipelining
// sends one request segment per request and the response before the next, so the last K client segments of a
// connection are its K requests (the TLS handshake's segments come first). A response ends at the last
// segment the other side sends before the connection's next request, or before the requesting side closes
// (after which a TLS server still sends its close_notify alert, no part of any response).
import { TCP_FIN, TCP_RST } from './pcap.mjs';

/**
 * @param {import('./pcap.mjs').Segment[]} segments  the capture, in time order
 * @param {{ proxyPort: number, upstreamPort: number, total: number, order: number[], ports: number[] }} run
 *   order[i] is the number of the i-th request the client assigned to a connection, ports[i] that
 *   connection's local port; numbers ≥ total are the client's warm-up requests, matched but not counted.
 */
export function holdTimes(segments, { proxyPort, upstreamPort, total, order, ports }) {
  const t1 = new Float64Array(total).fill(NaN);
  const t2 = new Float64Array(total).fill(NaN);
  const t3 = new Float64Array(total).fill(NaN);
  const t4 = new Float64Array(total).fill(NaN);
  let markerMismatch = 0;
  // tcpdump writes segments in the order its ring buffer got them, which across two cores is not quite time order.
  segments = segments.slice().sort((a, b) => a.t - b.t);

  // Client side: per connection, its request segments and the proxy's response segments.
  const down = new Map();
  const up = new Map();
  const conn = (map, port) => {
    let c = map.get(port);
    if (!c) map.set(port, (c = { req: [], resp: [], n: [], closedAt: Infinity }));
    return c;
  };
  for (const s of segments) {
    // The requesting side's FIN or RST: its connection's last response ended before it.
    if (s.flags & (TCP_FIN | TCP_RST)) {
      const c = s.dst === proxyPort ? conn(down, s.src) : s.dst === upstreamPort ? conn(up, s.src) : undefined;
      if (c) c.closedAt = Math.min(c.closedAt, s.t);
    }
    if (s.len === 0) continue;
    if (s.dst === proxyPort) conn(down, s.src).req.push(s);
    else if (s.src === proxyPort) conn(down, s.dst).resp.push(s);
    else if (s.dst === upstreamPort) {
      const c = conn(up, s.src);
      c.req.push(s);
      c.n.push(requestNumber(s.head));
    } else if (s.src === upstreamPort) conn(up, s.dst).resp.push(s);
  }

  const sequences = new Map();
  for (let i = 0; i < order.length; i++) {
    let q = sequences.get(ports[i]);
    if (!q) sequences.set(ports[i], (q = []));
    q.push(order[i]);
  }
  for (const [port, q] of sequences) {
    const c = down.get(port);
    // A connection with fewer request segments than requests cannot be matched: its requests stay unmatched.
    if (!c || c.req.length < q.length) continue;
    const reqs = c.req.slice(c.req.length - q.length);
    const ends = lastResponseBeforeNext(reqs, c.resp, c.closedAt);
    for (let k = 0; k < q.length; k++) {
      const n = q[k];
      // Plain HTTP shows the number on the client leg too: a check on the order matching.
      const seen = requestNumber(reqs[k].head);
      if (seen !== undefined && seen !== n) markerMismatch++;
      if (n >= total) continue;
      t1[n] = reqs[k].t;
      t4[n] = ends[k];
    }
  }
  for (const c of up.values()) {
    const ends = lastResponseBeforeNext(c.req, c.resp, c.closedAt);
    for (let k = 0; k < c.req.length; k++) {
      const n = c.n[k];
      if (n === undefined || n >= total || !Number.isNaN(t2[n])) continue;
      t2[n] = c.req[k].t;
      t3[n] = ends[k];
    }
  }

  const added = [];
  const arrivals = [];
  // Every instant the proxy wrote something we matched: a request sent on, a response's last segment.
  const writes = [];
  const requestLeg = [];
  const responseLeg = [];
  const measured = [];
  let unmatched = 0;
  let misordered = 0;
  for (let n = 0; n < total; n++) {
    if ([t1[n], t2[n], t3[n], t4[n]].some(Number.isNaN)) {
      unmatched++;
      continue;
    }
    if (!(t1[n] <= t2[n] && t2[n] <= t3[n] && t3[n] <= t4[n])) {
      misordered++;
      continue;
    }
    measured.push(n);
    arrivals.push(t1[n]);
    writes.push(t2[n], t4[n]);
    requestLeg.push((t2[n] - t1[n]) / 1e6);
    responseLeg.push((t4[n] - t3[n]) / 1e6);
    added.push(requestLeg[requestLeg.length - 1] + responseLeg[responseLeg.length - 1]);
  }
  const busyOnArrival = legsInProxyOnArrival(measured, t1, t2, t3, t4);
  // What the proxy adds to a request that finds it with nothing to do: its own latency (wake-up, work, a
  // stalled core), without queueing behind other requests, which grows with the CPU each request costs.
  const addedIdleArrival = added.filter((_, i) => busyOnArrival[i] === 0);
  writes.sort((a, b) => a - b);
  // arrivals: t1 of each entry of added; writes: t2 and t4 of them all, sorted. times: each request's four
  // instants (ns from the capture's first record), NaN where unmatched, for analyses.
  return { total, matched: added.length, unmatched, misordered, markerMismatch, added, arrivals, writes, requestLeg, responseLeg, busyOnArrival, addedIdleArrival, times: { t1, t2, t3, t4 } };
}

/**
 * Slow requests that come in spells: at least `minRun` requests each held over `overMs`, arriving within
 * `withinMs` of the one before. At one request a millisecond a spell of three means the proxy's core served
 * nothing for milliseconds (the hypervisor took it, or another task ran on it); a pause of the proxy's own
 * that is shorter (a scavenge here takes 0.5–1.5 ms) delays one or two requests and is not a spell. What
 * remains outside the spells is what the proxy itself does to single requests. With `writes` (the proxy's
 * write instants, ns, sorted), each spell's longest silence is measured: the longest time inside it, from
 * its first arrival to the latest arrival-plus-hold of its requests (a release less the upstream's own time),
 * in which the proxy wrote nothing at all.
 * @param {number[]} added ms per request   @param {number[]} arrivals ns per request, same order
 * @returns {{ slow: number, inSpells: number, spells: number, outside: number[], silences: number[] }}
 */
export function slowSpells(added, arrivals, { overMs = 1, withinMs = 5, minRun = 3, writes } = {}) {
  const slow = added.map((_, i) => i).filter((i) => added[i] > overMs).sort((a, b) => arrivals[a] - arrivals[b]);
  const inSpell = new Set();
  const silences = [];
  let spells = 0;
  for (let start = 0; start < slow.length;) {
    let end = start + 1;
    while (end < slow.length && (arrivals[slow[end]] - arrivals[slow[end - 1]]) / 1e6 <= withinMs) end++;
    if (end - start >= minRun) {
      spells++;
      let until = -Infinity;
      for (let k = start; k < end; k++) {
        inSpell.add(slow[k]);
        until = Math.max(until, arrivals[slow[k]] + added[slow[k]] * 1e6);
      }
      if (writes) silences.push(longestSilence(writes, arrivals[slow[start]], until));
    }
    start = end;
  }
  return { slow: slow.length, inSpells: inSpell.size, spells, outside: added.filter((_, i) => !inSpell.has(i)), silences };
}

/** The longest gap, in ms, between consecutive instants of sorted `writes` within [from, to] (ends included). */
function longestSilence(writes, from, to) {
  let lo = 0;
  let hi = writes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (writes[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  let last = from;
  let longest = 0;
  for (let i = lo; i < writes.length && writes[i] <= to; i++) {
    longest = Math.max(longest, writes[i] - last);
    last = writes[i];
  }
  return Math.max(longest, to - last) / 1e6;
}

/**
 * For each measured request, how many legs (another request not yet sent on, or a response not yet passed
 * back) were inside the proxy when it arrived.
 */
function legsInProxyOnArrival(measured, t1, t2, t3, t4) {
  // +1 when a leg enters the proxy, -1 when it leaves; at equal times leaving goes first.
  const events = [];
  for (let i = 0; i < measured.length; i++) {
    const n = measured[i];
    events.push([t1[n], 1, i], [t2[n], -1, -1], [t3[n], 1, -1], [t4[n], -1, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const busy = new Array(measured.length).fill(0);
  let open = 0;
  for (const [, step, i] of events) {
    if (i >= 0) busy[i] = open;
    open += step;
  }
  return busy;
}

/** The request number a request segment's first line carries (`GET /1k?n=17 HTTP/1.1`), if it is readable. */
export function requestNumber(head) {
  const eol = head.indexOf('\r\n');
  const line = eol < 0 ? head : head.slice(0, eol);
  const m = /[?&]n=(\d+)[ &]/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** For each request segment, the time of the last response segment before the next request (or the close). */
function lastResponseBeforeNext(reqs, resps, closedAt) {
  const ends = new Array(reqs.length).fill(NaN);
  let j = 0;
  for (let k = 0; k < reqs.length; k++) {
    const from = reqs[k].t;
    const to = k + 1 < reqs.length ? reqs[k + 1].t : closedAt;
    while (j < resps.length && resps[j].t < from) j++;
    while (j < resps.length && resps[j].t < to) ends[k] = resps[j++].t;
  }
  return ends;
}

/** The q-quantile of an unsorted list (nearest rank), as bench/fixed-rate.mjs reads its own. */
export function quantiles(xs, qs) {
  const v = Float64Array.from(xs).sort();
  return qs.map((q) => (v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : NaN));
}

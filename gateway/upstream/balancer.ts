// Load balancers over a cluster's endpoint pools. Built once per cluster; `pick` is the per-request
// call and allocates nothing.
import type { LoadBalancerPolicy } from '../../core/snapshot.js';
import type { EndpointPool } from './endpoint-pool.js';

export interface Balancer {
  /** Undefined when the cluster has no endpoints (503 UH). */
  pick(): EndpointPool | undefined;
}

/** Longest weighted round-robin schedule we expand; beyond it weights are scaled down. */
const MAX_SCHEDULE = 1024;

/** `weights[i]` is the endpoint weight of `pools[i]` in this cluster (pools are shared across snapshots, weights are not). */
export function createBalancer(policy: LoadBalancerPolicy, pools: readonly EndpointPool[], weights: readonly number[]): Balancer {
  if (pools.length === 0) return { pick: () => undefined };
  if (pools.length === 1) {
    const only = pools[0];
    return { pick: () => only };
  }
  switch (policy) {
    case 'RANDOM':
      return new WeightedRandom(pools, weights);
    case 'LEAST_REQUEST':
      return new LeastRequest(pools);
    default:
      return new RoundRobin(pools, weights);
  }
}

class RoundRobin implements Balancer {
  private readonly schedule: readonly EndpointPool[];
  private next = 0;
  constructor(pools: readonly EndpointPool[], weights: readonly number[]) {
    this.schedule = weightedSchedule(pools, weights);
    // Start at a random offset so many gateways do not all hit the first endpoint first.
    this.next = Math.floor(Math.random() * this.schedule.length);
  }
  pick(): EndpointPool | undefined {
    const pool = this.schedule[this.next];
    this.next = this.next + 1 === this.schedule.length ? 0 : this.next + 1;
    return pool;
  }
}

class WeightedRandom implements Balancer {
  private readonly cumulative: number[] = [];
  private readonly total: number;
  constructor(
    private readonly pools: readonly EndpointPool[],
    weights: readonly number[],
  ) {
    let sum = 0;
    for (let i = 0; i < pools.length; i++) {
      sum += weightOf(weights[i]);
      this.cumulative.push(sum);
    }
    this.total = sum;
  }
  pick(): EndpointPool | undefined {
    const r = Math.random() * this.total;
    for (let i = 0; i < this.cumulative.length; i++) {
      if (r < (this.cumulative[i] ?? 0)) return this.pools[i];
    }
    return this.pools[this.pools.length - 1];
  }
}

/** Envoy's default LEAST_REQUEST: the power of two choices over in-flight counts. */
class LeastRequest implements Balancer {
  constructor(private readonly pools: readonly EndpointPool[]) {}
  pick(): EndpointPool | undefined {
    const n = this.pools.length;
    const i = Math.floor(Math.random() * n);
    let j = Math.floor(Math.random() * (n - 1));
    if (j >= i) j++;
    const a = this.pools[i];
    const b = this.pools[j];
    if (!a || !b) return a ?? b;
    return b.inFlight < a.inFlight ? b : a;
  }
}

function weightOf(w: number | undefined): number {
  return w !== undefined && w > 0 ? w : 1;
}

function weightedSchedule(pools: readonly EndpointPool[], weights: readonly number[]): EndpointPool[] {
  let divisor = 0;
  let total = 0;
  for (let i = 0; i < pools.length; i++) {
    divisor = gcd(divisor, weightOf(weights[i]));
    total += weightOf(weights[i]);
  }
  const scale = total / divisor > MAX_SCHEDULE ? MAX_SCHEDULE / total : 1 / divisor;
  const slots: EndpointPool[][] = pools.map((p, i) => Array.from({ length: Math.max(1, Math.round(weightOf(weights[i]) * scale)) }, () => p));
  // Interleave so equal weights alternate rather than arrive in runs.
  const schedule: EndpointPool[] = [];
  for (let round = 0; schedule.length < slots.reduce((s, x) => s + x.length, 0); round++) {
    for (const s of slots) {
      const p = s[round];
      if (p) schedule.push(p);
    }
  }
  return schedule;
}

function gcd(a: number, b: number): number {
  let x = Math.round(a);
  let y = Math.round(b);
  while (y) [x, y] = [y, x % y];
  return x || 1;
}

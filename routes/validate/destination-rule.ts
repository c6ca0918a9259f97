// networking.istio.io DestinationRule (istio/api networking/v1alpha3/destination_rule.proto): traffic
// policies, client TLS towards upstreams, and subsets with unique DNS-label names.
import { CfgCode } from '../../core/codes.js';
import type { Located } from '../model/resource.js';
import {
  checkServiceHost,
  duration,
  isDnsLabel,
  istioObject,
  portSelector,
  stringList,
  stringMap,
  workloadSelector,
} from './common.js';
import type { Check, ObjectSchema, ResourceContext, Schema } from './schema.js';
import { any, bool, list, obj, required, str, unsupported, walk } from './schema.js';

const loadBalancer = obj(
  'LoadBalancerSettings',
  {
    simple: str({ enum: ['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'] }),
    consistentHash: unsupported(any(), 'consistent-hash load balancing is parsed, not acted on yet; the default balancer is used'),
    localityLbSetting: unsupported(any(), 'locality load balancing is parsed, not acted on yet; ignored'),
    warmupDurationSecs: duration,
    warmup: any(),
  },
  { oneOf: [['simple', 'consistentHash']] },
);

const checkClientTls: Check<Record<string, unknown>> = (tls, ctx, path) => {
  if (tls['mode'] !== 'MUTUAL' || typeof tls['credentialName'] === 'string') return;
  if (typeof tls['clientCertificate'] !== 'string' || typeof tls['privateKey'] !== 'string') {
    ctx.error(CfgCode.REQUIRED, 'tls mode MUTUAL needs credentialName or both clientCertificate and privateKey', [
      ...path,
      'credentialName',
    ]);
  }
};

const clientTls = obj(
  'ClientTLSSettings',
  {
    mode: str({ enum: ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] }),
    clientCertificate: str(),
    privateKey: str(),
    caCertificates: str(),
    caCrl: str(),
    credentialName: str(),
    subjectAltNames: stringList,
    sni: str(),
    insecureSkipVerify: bool(),
  },
  { check: checkClientTls },
);

const policyFields: Record<string, Schema> = {
  loadBalancer,
  connectionPool: unsupported(any(), 'connection pool limits are parsed, not enforced yet; ignored'),
  outlierDetection: unsupported(any(), 'outlier detection is parsed, not acted on yet; ignored'),
  tls: clientTls,
};

const trafficPolicy: ObjectSchema = obj('TrafficPolicy', {
  ...policyFields,
  portLevelSettings: list(obj('PortTrafficPolicy', { port: portSelector, ...policyFields })),
  tunnel: unsupported(any(), 'tunnelling is parsed, not acted on yet; ignored'),
  proxyProtocol: unsupported(any(), 'PROXY protocol towards upstreams is parsed, not acted on yet; ignored'),
  retryBudget: unsupported(any(), 'retry budgets are parsed, not acted on yet; ignored'),
});

const checkSubsetName: Check<string> = (v, ctx, path) => {
  if (!isDnsLabel(v)) ctx.error(CfgCode.VALUE, `subset name ${JSON.stringify(v)} must be a DNS label (lower-case letters, digits and '-')`, path);
};

const checkSubsets: Check<unknown[]> = (subsets, ctx, path) => {
  const seen = new Map<string, number>();
  subsets.forEach((s, i) => {
    const name = typeof s === 'object' && s !== null ? (s as Record<string, unknown>)['name'] : undefined;
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else ctx.error(CfgCode.DUPLICATE, `subset ${JSON.stringify(name)} is already defined at subsets[${first}]`, [...path, i, 'name']);
  });
};

const subset = obj('Subset', {
  name: required(str({ check: checkSubsetName })),
  labels: stringMap,
  trafficPolicy,
});

export const destinationRuleSchema = istioObject(
  'DestinationRule',
  obj('DestinationRuleSpec', {
    host: required(str({ check: checkServiceHost })),
    trafficPolicy,
    subsets: list(subset, { check: checkSubsets }),
    exportTo: stringList,
    workloadSelector,
  }),
);

export function validateDestinationRule(r: Located, ctx: ResourceContext): void {
  walk(destinationRuleSchema, r.object, [], ctx);
}

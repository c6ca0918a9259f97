// security.istio.io AuthorizationPolicy, RequestAuthentication, PeerAuthentication: read so that a
// directory shared with Istio loads cleanly, and shape-checked. PeerAuthentication drives auto mTLS to
// upstreams; the other two are flagged as not enforced yet — a user must not believe a policy protects
// them when it does not.
import { CfgCode } from '../../core/codes.js';
import type { Located } from '../model/resource.js';
import { istioObject, policyTargetReference, stringList, workloadSelector } from './common.js';
import type { ObjectSchema, ResourceContext } from './schema.js';
import { any, list, map, obj, required, str, walk } from './schema.js';

const targeting = {
  selector: workloadSelector,
  targetRef: policyTargetReference,
  targetRefs: list(policyTargetReference),
};

const condition = obj('Condition', { key: required(str()), values: stringList, notValues: stringList });

const rule = obj('Rule', {
  from: list(obj('Rule.From', { source: any() })),
  to: list(obj('Rule.To', { operation: any() })),
  when: list(condition),
});

const authorizationPolicy = istioObject(
  'AuthorizationPolicy',
  obj(
    'AuthorizationPolicySpec',
    {
      ...targeting,
      rules: list(rule),
      action: str({ enum: ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] }),
      provider: obj('ExtensionProvider', { name: str() }),
    },
    { oneOf: [['selector', 'targetRef', 'targetRefs']] },
  ),
  false,
);

const requestAuthentication = istioObject(
  'RequestAuthentication',
  obj('RequestAuthenticationSpec', {
    ...targeting,
    jwtRules: list(obj('JWTRule', { issuer: required(str()) }, { open: true })),
  }),
  false,
);

const mtls = obj('PeerAuthentication.MutualTLS', { mode: str({ enum: ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'] }) });

const peerAuthentication = istioObject(
  'PeerAuthentication',
  obj('PeerAuthenticationSpec', { selector: workloadSelector, mtls, portLevelMtls: map(mtls) }),
  false,
);

const SCHEMAS: Readonly<Record<string, ObjectSchema>> = {
  AuthorizationPolicy: authorizationPolicy,
  RequestAuthentication: requestAuthentication,
  PeerAuthentication: peerAuthentication,
};

export function validateSecurityPolicy(r: Located, ctx: ResourceContext): void {
  const schema = SCHEMAS[r.object.kind];
  if (!schema) return;
  // PeerAuthentication acts on what the gateway sends (auto mTLS to STRICT workloads); an ingress gateway's
  // own listeners are not governed by it in Istio either. The others would gate requests and do not yet.
  if (r.object.kind !== 'PeerAuthentication') {
    ctx.warn(CfgCode.UNSUPPORTED, `${r.object.kind} is parsed, not enforced yet; it has no effect on traffic`, []);
  }
  walk(schema, r.object, [], ctx);
}

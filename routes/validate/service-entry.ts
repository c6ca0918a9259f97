// networking.istio.io ServiceEntry (istio/api networking/v1alpha3/service_entry.proto), plus Istio's
// rules: unique port numbers and names, endpoints only naming declared ports, and resolution modes
// that fit the endpoints given.
import { CfgCode } from '../../core/codes.js';
import type { Located } from '../model/resource.js';
import { checkProtocol, checkServiceHost, istioObject, portNumber, stringList, stringMap } from './common.js';
import type { Check, ResourceContext } from './schema.js';
import { int, isRecord, list, map, obj, required, str, walk } from './schema.js';

const servicePort = obj('ServicePort', {
  number: required(portNumber),
  protocol: str({ check: checkProtocol }),
  name: required(str()),
  targetPort: portNumber,
});

const checkPorts: Check<unknown[]> = (ports, ctx, path) => {
  const numbers = new Map<number, number>();
  const names = new Map<string, number>();
  ports.forEach((p, i) => {
    if (!isRecord(p)) return;
    const n = p['number'];
    const name = p['name'];
    if (typeof n === 'number') {
      const first = numbers.get(n);
      if (first === undefined) numbers.set(n, i);
      else ctx.error(CfgCode.DUPLICATE, `port number ${n} is already declared at ports[${first}]`, [...path, i, 'number']);
    }
    if (typeof name === 'string') {
      const first = names.get(name);
      if (first === undefined) names.set(name, i);
      else ctx.error(CfgCode.DUPLICATE, `port name ${JSON.stringify(name)} is already declared at ports[${first}]`, [...path, i, 'name']);
    }
  });
};

const workloadEntry = obj('WorkloadEntry', {
  address: str(),
  ports: map(portNumber),
  labels: stringMap,
  network: str(),
  locality: str(),
  weight: int({ min: 0, max: 4294967295 }),
  serviceAccount: str(),
});

const checkSpec: Check<Record<string, unknown>> = (spec, ctx, path) => {
  const resolution = spec['resolution'] ?? 'NONE';
  const endpoints = Array.isArray(spec['endpoints']) ? spec['endpoints'] : [];
  const hosts = Array.isArray(spec['hosts']) ? spec['hosts'] : [];
  if (resolution === 'NONE' && endpoints.length > 0) {
    ctx.error(CfgCode.VALUE, 'endpoints cannot be given with resolution NONE; use STATIC or DNS', [...path, 'endpoints']);
  }
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && endpoints.length === 0) {
    hosts.forEach((h, i) => {
      if (typeof h === 'string' && h.startsWith('*')) {
        ctx.error(CfgCode.VALUE, `host ${JSON.stringify(h)} is a wildcard, which resolution ${resolution} cannot resolve without endpoints`, [
          ...path,
          'hosts',
          i,
        ]);
      }
    });
  }
  const declared = new Set<string>();
  const ports = Array.isArray(spec['ports']) ? spec['ports'] : [];
  for (const p of ports) if (isRecord(p) && typeof p['name'] === 'string') declared.add(p['name']);
  endpoints.forEach((e, i) => {
    if (!isRecord(e) || !isRecord(e['ports'])) return;
    for (const name of Object.keys(e['ports'])) {
      if (!declared.has(name)) {
        ctx.error(CfgCode.VALUE, `endpoint port ${JSON.stringify(name)} is not declared in ports`, [...path, 'endpoints', i, 'ports', name]);
      }
    }
  });
};

export const serviceEntrySchema = istioObject(
  'ServiceEntry',
  obj(
    'ServiceEntrySpec',
    {
      hosts: required(list(str({ check: checkServiceHost }))),
      addresses: stringList,
      ports: list(servicePort, { check: checkPorts }),
      location: str({ enum: ['MESH_EXTERNAL', 'MESH_INTERNAL'] }),
      resolution: str({ enum: ['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'] }),
      endpoints: list(workloadEntry),
      workloadSelector: obj('WorkloadSelector', { labels: stringMap }),
      exportTo: stringList,
      subjectAltNames: stringList,
    },
    { oneOf: [['endpoints', 'workloadSelector']], check: checkSpec },
  ),
);

export function validateServiceEntry(r: Located, ctx: ResourceContext): void {
  walk(serviceEntrySchema, r.object, [], ctx);
}

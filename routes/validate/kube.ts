// Core Kubernetes kinds: Secret (TLS material, base64 data), Service, EndpointSlice, Endpoints, Pod. Their
// nested objects are open: `kubectl get -o yaml` prints many fields Gatehouse has no use for, and
// warning about each would bury the diagnostics that matter.
import type { Located } from '../model/resource.js';
import { checkBase64, objectMeta, portNumber, stringList, stringMap } from './common.js';
import type { ObjectSchema, ResourceContext } from './schema.js';
import { any, bool, int, list, map, obj, required, str, walk } from './schema.js';

const envelope = { apiVersion: str(), kind: str(), metadata: objectMeta };
const port0 = int({ min: 0, max: 65535 });

const secret = obj('Secret', {
  ...envelope,
  type: str(),
  data: map(str({ check: checkBase64 })),
  stringData: stringMap,
  immutable: bool(),
});

const service = obj('Service', {
  ...envelope,
  spec: obj(
    'ServiceSpec',
    {
      type: str({ enum: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] }),
      clusterIP: str(),
      clusterIPs: stringList,
      selector: stringMap,
      ports: list(
        obj(
          'ServicePort',
          {
            name: str(),
            port: required(portNumber),
            targetPort: { type: 'int-or-string' },
            nodePort: port0,
            protocol: str({ enum: ['TCP', 'UDP', 'SCTP'] }),
            appProtocol: str(),
          },
          { open: true },
        ),
      ),
      externalName: str(),
    },
    { open: true },
  ),
  status: any(),
});

const endpointSlice = obj('EndpointSlice', {
  ...envelope,
  addressType: str({ enum: ['IPv4', 'IPv6', 'FQDN'] }),
  endpoints: list(
    obj(
      'Endpoint',
      {
        addresses: required(stringList),
        conditions: obj('EndpointConditions', { ready: bool(), serving: bool(), terminating: bool() }, { open: true }),
        hostname: str(),
        nodeName: str(),
        zone: str(),
        targetRef: obj('ObjectReference', { kind: str(), name: str(), namespace: str() }, { open: true }),
      },
      { open: true },
    ),
  ),
  ports: list(obj('EndpointPort', { name: str(), port: port0, protocol: str(), appProtocol: str() }, { open: true })),
});

const endpointAddress = obj('EndpointAddress', { ip: required(str()), hostname: str(), nodeName: str() }, { open: true });

const endpoints = obj('Endpoints', {
  ...envelope,
  subsets: list(
    obj('EndpointSubset', {
      addresses: list(endpointAddress),
      notReadyAddresses: list(endpointAddress),
      ports: list(obj('EndpointPort', { name: str(), port: required(port0), protocol: str(), appProtocol: str() }, { open: true })),
    }),
  ),
});

// Only labels, the service account and the pod IPs are read; everything else a dump carries is open.
const pod = obj('Pod', {
  ...envelope,
  spec: obj('PodSpec', { serviceAccountName: str() }, { open: true }),
  status: obj('PodStatus', { podIP: str(), podIPs: list(obj('PodIP', { ip: str() }, { open: true })) }, { open: true }),
});

const SCHEMAS: Readonly<Record<string, ObjectSchema>> = {
  Pod: pod,
  Secret: secret,
  Service: service,
  EndpointSlice: endpointSlice,
  Endpoints: endpoints,
};

export function validateKubeObject(r: Located, ctx: ResourceContext): void {
  const schema = SCHEMAS[r.object.kind];
  if (schema) walk(schema, r.object, [], ctx);
}

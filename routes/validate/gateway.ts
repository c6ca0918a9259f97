// networking.istio.io Gateway (istio/api networking/v1alpha3/gateway.proto), plus the rules Istio's
// own validation applies to servers: TLS settings where the protocol needs them, host syntax, unique
// port names.
import { CfgCode } from '../../core/codes.js';
import type { Located } from '../model/resource.js';
import { checkProtocol, isDnsLabel, isWildcardHostname, istioObject, portNumber, stringList, stringMap } from './common.js';
import type { Check, ResourceContext } from './schema.js';
import { bool, int, isRecord, list, obj, required, str, walk } from './schema.js';

const TLS_MODES = ['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'];
const TLS_VERSIONS = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];

/** `host`, or `namespace/host` where namespace may also be `*`, `.` or `~` (Istio's export scopes). */
const checkGatewayHost: Check<string> = (v, ctx, path) => {
  const parts = v.split('/');
  const host = parts.length === 2 ? (parts[1] as string) : v;
  const ns = parts.length === 2 ? (parts[0] as string) : undefined;
  let problem: string | undefined;
  if (parts.length > 2) problem = 'has more than one "/" (the form is namespace/host)';
  else if (ns !== undefined && !(ns === '*' || ns === '.' || ns === '~' || isDnsLabel(ns))) {
    problem = `names namespace ${JSON.stringify(ns)}, which is not "*", "." or a namespace name`;
  } else if (!isWildcardHostname(host)) problem = 'is not "*", "*.suffix" or a DNS name';
  if (problem) ctx.error(CfgCode.VALUE, `Gateway host ${JSON.stringify(v)} ${problem}`, path);
};

const tlsCertificate = obj('ServerTLSSettings.TLSCertificate', {
  serverCertificate: str(),
  privateKey: str(),
  caCertificates: str(),
});

const checkServerTls: Check<Record<string, unknown>> = (tls, ctx, path) => {
  const mode = tls['mode'] ?? 'PASSTHROUGH';
  const hasCredential =
    typeof tls['credentialName'] === 'string' ||
    (Array.isArray(tls['credentialNames']) && tls['credentialNames'].length > 0) ||
    (Array.isArray(tls['tlsCertificates']) && tls['tlsCertificates'].length > 0);
  const hasFiles = typeof tls['serverCertificate'] === 'string' && typeof tls['privateKey'] === 'string';
  if ((mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') && !hasCredential && !hasFiles) {
    ctx.error(
      CfgCode.REQUIRED,
      `tls mode ${String(mode)} needs credentialName (a Secret) or both serverCertificate and privateKey`,
      [...path, 'credentialName'],
    );
  }
  if ((mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') && !hasCredential && hasFiles && typeof tls['caCertificates'] !== 'string') {
    ctx.error(CfgCode.REQUIRED, `tls mode ${String(mode)} with certificate files needs caCertificates`, [...path, 'caCertificates']);
  }
};

const serverTls = obj(
  'ServerTLSSettings',
  {
    httpsRedirect: bool(),
    mode: str({ enum: TLS_MODES }),
    serverCertificate: str(),
    privateKey: str(),
    caCertificates: str(),
    caCrl: str(),
    credentialName: str(),
    credentialNames: stringList,
    caCertCredentialName: str(),
    tlsCertificates: list(tlsCertificate),
    subjectAltNames: stringList,
    verifyCertificateSpki: stringList,
    verifyCertificateHash: stringList,
    minProtocolVersion: str({ enum: TLS_VERSIONS }),
    maxProtocolVersion: str({ enum: TLS_VERSIONS }),
    cipherSuites: stringList,
  },
  { oneOf: [['credentialName', 'credentialNames']], check: checkServerTls },
);

const checkPort: Check<Record<string, unknown>> = (port, ctx, path) => {
  // Istio rejects a server port without a name; most manifests have one, so this only warns here.
  if (port['name'] === undefined || port['name'] === null || port['name'] === '') {
    ctx.warn(CfgCode.REQUIRED, 'port.name is not set (Istio requires it); accepted', [...path, 'name']);
  }
};

const port = obj(
  'Port',
  {
    number: required(portNumber),
    protocol: required(str({ check: checkProtocol })),
    name: str(),
    targetPort: int({ min: 1, max: 65535 }),
  },
  { check: checkPort },
);

const checkServer: Check<Record<string, unknown>> = (server, ctx, path) => {
  const p = server['port'];
  const protocol = isRecord(p) && typeof p['protocol'] === 'string' ? p['protocol'].toUpperCase() : undefined;
  if ((protocol === 'HTTPS' || protocol === 'TLS') && !isRecord(server['tls'])) {
    ctx.error(CfgCode.REQUIRED, `an ${protocol} server needs tls settings (mode and credentialName)`, [...path, 'tls']);
  }
};

const server = obj(
  'Server',
  {
    port: required(port),
    bind: str(),
    hosts: required(list(str({ check: checkGatewayHost }))),
    tls: serverTls,
    defaultEndpoint: str(),
    name: str(),
  },
  { check: checkServer },
);

const checkServers: Check<unknown[]> = (servers, ctx, path) => {
  // Istio: port names identify servers in stats and must be unique within a Gateway.
  const seen = new Map<string, number>();
  servers.forEach((s, i) => {
    const name = isRecord(s) && isRecord(s['port']) ? s['port']['name'] : undefined;
    if (typeof name !== 'string' || name === '') return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else {
      ctx.error(CfgCode.DUPLICATE, `port name ${JSON.stringify(name)} is already used by servers[${first}]; port names must be unique in a Gateway`, [
        ...path,
        i,
        'port',
        'name',
      ]);
    }
  });
};

export const gatewaySchema = istioObject(
  'Gateway',
  obj('GatewaySpec', { servers: required(list(server, { check: checkServers })), selector: stringMap }),
);

export function validateGateway(r: Located, ctx: ResourceContext): void {
  walk(gatewaySchema, r.object, [], ctx);
}

// Kubernetes Secrets read the way istiod's credentials controller reads them (pilot/pkg/credentials/kube):
// cert/key from `cert`+`key` or `tls.crt`+`tls.key` (non-empty values only), the CA from `cacert` or
// `ca.crt`, and for client verification a separate `<name>-cacert` Secret preferred over the CA inside
// `<name>`. Every PEM is parsed and checked with node:crypto here, so a Secret the data plane could not
// serve is a warning at build time and a refused handshake for that chain only, never a crash later.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { TlsSecret } from '../../core/snapshot.js';
import type { SecretResource } from '../model/index.js';
import type { Located } from '../model/resource.js';
import { CfgCode } from './context.js';
import { ocspStapleProblem } from './ocsp.js';
import type { CompileContext } from './context.js';

/** Where Istio's credentials controller (1.17+) and cert-manager's proposal keep a DER OCSP response. */
const OCSP_STAPLE_KEY = 'tls.ocsp-staple';
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Where a Secret is needed, for the diagnostic that explains why it cannot be used. */
export interface SecretUse {
  readonly resource: Located;
  readonly field: string;
}

export class SecretStore {
  readonly secrets: Record<string, TlsSecret> = {};
  private readonly ctx: CompileContext;
  /** Server material already checked, by Secret key: the key into `secrets`, or null when unusable. */
  private readonly checkedServer = new Map<string, string | null>();
  private readonly checkedCa = new Map<string, string | null>();

  constructor(ctx: CompileContext) {
    this.ctx = ctx;
  }

  /**
   * The certificate and key for a terminating server (or an upstream MUTUAL client). Undefined, with a
   * warning, when the Secret is missing or unusable.
   */
  serverCertificate(namespace: string, name: string, use: SecretUse): string | undefined {
    const key = `${namespace}/${name}`;
    const known = this.checkedServer.get(key);
    if (known !== undefined) return known ?? undefined;
    const result = this.readServer(namespace, name, use);
    this.checkedServer.set(key, result ?? null);
    return result;
  }

  /**
   * A CA bundle for verifying peers: the `<name>-cacert` Secret when it exists, else the CA inside `<name>`
   * (istiod's GetCaCert). Undefined, with a warning, when neither holds a usable CA.
   */
  caBundle(namespace: string, name: string, use: SecretUse): string | undefined {
    const key = `${namespace}/${name}`;
    const known = this.checkedCa.get(key);
    if (known !== undefined) return known ?? undefined;
    const result = this.readCa(namespace, name, use);
    this.checkedCa.set(key, result ?? null);
    return result;
  }

  private readServer(namespace: string, name: string, use: SecretUse): string | undefined {
    const secret = this.ctx.index.secrets.get(`${namespace}/${name}`);
    if (!secret) {
      this.ctx.warn(CfgCode.SECRET_NOT_FOUND, `Secret ${namespace}/${name} not found; this server refuses TLS handshakes`, use.resource, use.field);
      return undefined;
    }
    const material = servingMaterial(secretData(secret.object), this.ctx.now);
    if (!material.ok) {
      this.ctx.warn(CfgCode.SECRET_INVALID, `Secret ${namespace}/${name} cannot serve: ${material.why}; this server refuses TLS handshakes`, use.resource, use.field);
      return undefined;
    }
    const { certPem, keyPem, leaf, data } = material;
    let caPem: string | undefined;
    const rawCa = data.cacert || data['ca.crt'];
    if (rawCa && parseBundle(rawCa).ok) caPem = rawCa;
    const key = `${namespace}/${name}`;
    const ocspStaple = this.readStaple(secret, leaf);
    const existing = this.secrets[key];
    this.secrets[key] = {
      ...existing,
      name: key,
      certPem,
      keyPem,
      ...(caPem ? { caPem } : {}),
      ...(ocspStaple ? { ocspStaple } : {}),
      notAfter: new Date(leaf.validTo).toISOString(),
      subjectAltNames: parseSubjectAltNames(leaf.subjectAltName),
    };
    return key;
  }

  /** The Secret's `tls.ocsp-staple` (base64 DER in `data`), when it can be stapled for `leaf`; else a warning. */
  private readStaple(secret: Located<SecretResource>, leaf: X509Certificate): string | undefined {
    const raw = secret.object.data?.[OCSP_STAPLE_KEY];
    if (typeof raw !== 'string' || raw.length === 0) return undefined;
    const der = Buffer.from(raw, 'base64');
    const problem = ocspStapleProblem(der, leaf, this.ctx.now);
    if (problem) {
      const { namespace, name } = secret.object.metadata;
      this.ctx.warn(CfgCode.OCSP_STAPLE, `Secret ${namespace}/${name} ${OCSP_STAPLE_KEY} is not stapled: ${problem}`, secret, `data["${OCSP_STAPLE_KEY}"]`);
      return undefined;
    }
    return der.toString('base64');
  }

  private readCa(namespace: string, name: string, use: SecretUse): string | undefined {
    const separate = this.ctx.index.secrets.get(`${namespace}/${name}-cacert`);
    const own = this.ctx.index.secrets.get(`${namespace}/${name}`);
    const source = separate ?? own;
    if (!source) {
      this.ctx.warn(CfgCode.SECRET_NOT_FOUND, `Secret ${namespace}/${name} (or ${name}-cacert) for the client CA not found; this server refuses TLS handshakes`, use.resource, use.field);
      return undefined;
    }
    const sourceName = source.object.metadata.name;
    const data = secretData(source.object);
    const rawCa = data.cacert || data['ca.crt'];
    if (!rawCa) {
      this.ctx.warn(CfgCode.SECRET_INVALID, `Secret ${namespace}/${sourceName} has no CA (keys cacert or ca.crt, non-empty); this server refuses TLS handshakes`, use.resource, use.field);
      return undefined;
    }
    const parsed = parseBundle(rawCa);
    if (!parsed.ok) {
      this.ctx.warn(CfgCode.SECRET_INVALID, `Secret ${namespace}/${sourceName} CA cannot be used: ${parsed.why}; this server refuses TLS handshakes`, use.resource, use.field);
      return undefined;
    }
    const key = `${namespace}/${sourceName}`;
    const existing = this.secrets[key];
    this.secrets[key] = { ...existing, name: key, caPem: rawCa };
    return key;
  }
}

export type ServingMaterial =
  | { readonly ok: true; readonly certPem: string; readonly keyPem: string; readonly leaf: X509Certificate; readonly data: Record<string, string> }
  | { readonly ok: false; readonly why: string };

/**
 * A Secret's certificate and key as a TLS endpoint would use them, checked: both present, both parse, the
 * key belongs to the certificate, and the certificate is valid at `now`. Also what the control plane asks
 * before letting a changed Secret replace its last good version.
 */
export function servingMaterial(data: Record<string, string>, now: Date): ServingMaterial {
  let certPem: string | undefined;
  let keyPem: string | undefined;
  if (data.cert && data.key) {
    certPem = data.cert;
    keyPem = data.key;
  } else if (data['tls.crt'] && data['tls.key']) {
    certPem = data['tls.crt'];
    keyPem = data['tls.key'];
  }
  const invalid = (why: string): ServingMaterial => ({ ok: false, why });
  if (!certPem || !keyPem) {
    const hasCert = Boolean(data.cert || data['tls.crt']);
    const hasKey = Boolean(data.key || data['tls.key']);
    return invalid(!hasCert && !hasKey ? 'no certificate and no private key (keys tls.crt/tls.key or cert/key)' : !hasKey ? 'no private key' : 'no certificate');
  }
  const leafPem = certPem.match(PEM_CERT)?.[0];
  if (!leafPem) return invalid('the certificate is not PEM');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch (e) {
    return invalid(`the certificate does not parse (${(e as Error).message})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (e) {
    return invalid(`the private key does not parse (${(e as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) return invalid('the private key does not match the certificate');
  const validity = checkValidity(leaf, now);
  if (validity) return invalid(validity);
  return { ok: true, certPem, keyPem, leaf, data };
}

/** The CA bundle of a Secret (`cacert` or `ca.crt`), checked; undefined when it has none. */
export function caBundleProblem(data: Record<string, string>): string | undefined {
  const rawCa = data.cacert || data['ca.crt'];
  if (!rawCa) return undefined;
  const parsed = parseBundle(rawCa);
  return parsed.ok ? undefined : parsed.why;
}

/** `data` is base64 (as the API server stores it); `stringData` plain and winning, as on write. */
export function secretData(secret: SecretResource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString('utf8');
  }
  for (const [k, v] of Object.entries(secret.stringData ?? {})) {
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function parseBundle(pem: string): { ok: true } | { ok: false; why: string } {
  const blocks = pem.match(PEM_CERT);
  if (!blocks || blocks.length === 0) return { ok: false, why: 'no PEM certificate' };
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      return { ok: false, why: `a certificate does not parse (${(e as Error).message})` };
    }
  }
  return { ok: true };
}

function checkValidity(cert: X509Certificate, now: Date): string | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (!Number.isNaN(to) && now.getTime() > to) return `the certificate expired at ${new Date(to).toISOString()}`;
  if (!Number.isNaN(from) && now.getTime() < from) return `the certificate is not valid before ${new Date(from).toISOString()}`;
  return undefined;
}

/** `DNS:a.example.com, IP Address:10.0.0.1` → `['a.example.com', '10.0.0.1']`. */
function parseSubjectAltNames(text: string | undefined): string[] {
  if (!text) return [];
  const out: string[] = [];
  for (const part of text.split(/,\s*/)) {
    const colon = part.indexOf(':');
    if (colon > 0) out.push(part.slice(colon + 1).trim());
  }
  return out;
}

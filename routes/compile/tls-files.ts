// DestinationRule `tls.caCertificates`, `clientCertificate`, `privateKey` and `caCrl` are file paths in the
// gateway pod. routes/ reads no files: a control-plane source (control/sources/tls-files.ts) reads them
// and hands each one over as a Secret under a reserved name derived from the path, with the text under
// `file`, or with the read error in an annotation. This module is the contract between the two.
import { createHash } from 'node:crypto';
import type { SecretResource } from '../model/index.js';
import type { CompileContext } from './context.js';

/** The path a file Secret was read from. */
export const TLS_FILE_ANNOTATION = 'gatehouse.io/tls-file';
/** Why the file could not be read (missing, unreadable, a directory); the Secret then has no data. */
export const TLS_FILE_ERROR_ANNOTATION = 'gatehouse.io/tls-file-error';

/** Reserved Secret name for a file path: stable, a DNS label, and distinct per path. */
export function tlsFileSecretName(path: string): string {
  return `gatehouse-tls-file-${createHash('sha256').update(path).digest('hex').slice(0, 24)}`;
}

export type TlsFileText = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly why: string };

/** The text of the file at `path` as the file source read it into the gateway's namespace. */
export function tlsFileText(ctx: CompileContext, path: string): TlsFileText {
  const secret = ctx.index.secrets.get(`${ctx.options.identity.namespace}/${tlsFileSecretName(path)}`);
  if (!secret) return { ok: false, why: 'not read (yet)' };
  const object = secret.object as SecretResource;
  const error = object.metadata.annotations?.[TLS_FILE_ERROR_ANNOTATION];
  if (error) return { ok: false, why: error };
  const text = object.stringData?.['file'];
  if (typeof text !== 'string') return { ok: false, why: 'not read (yet)' };
  if (text.trim() === '') return { ok: false, why: 'the file is empty' };
  return { ok: true, text };
}

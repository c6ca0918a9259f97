// Location headers for redirects, built as Envoy builds them (RouteEntryImplBase::newUri and
// processRequestHost): the request's authority keeps its port unless the scheme changes away from a
// default port, explicit ports that are the scheme's default are dropped, the query survives a path
// redirect unless the new path carries its own.
import type { RedirectAction } from '../../core/snapshot.js';
import { authorityPort } from './host.js';

/** Gateway `httpsRedirect` (Envoy require_tls ALL): same host and path over https. */
export function tlsRedirectLocation(authority: string, pathAndQuery: string): string {
  return `https://${stripPortWhen(authority, ':80')}${pathAndQuery}`;
}

export function redirectLocation(
  action: RedirectAction,
  requestScheme: string,
  authority: string,
  path: string,
  query: string,
): string {
  const scheme = action.scheme ?? requestScheme;
  let port = '';
  if (typeof action.port === 'number') port = `:${action.port}`;
  else if (action.port === 'FROM_REQUEST_PORT') {
    const p = authorityPort(authority);
    if (p) port = `:${p}`;
  }
  let host: string;
  if (action.authority !== undefined) host = action.authority;
  else {
    host = stripPort(authority);
    // Without an explicit port the request's port is kept unless the scheme changed from its default.
    if (action.port === undefined) {
      const p = authorityPort(authority);
      if (p !== undefined && !(scheme !== requestScheme && isDefaultPort(requestScheme, p))) port = `:${p}`;
    }
  }
  if (port && isDefaultPort(scheme, port.slice(1))) port = '';
  let pathAndQuery: string;
  if (action.uri !== undefined) pathAndQuery = action.uri.includes('?') || !query ? action.uri : `${action.uri}?${query}`;
  else pathAndQuery = query ? `${path}?${query}` : path;
  return `${scheme}://${host}${port}${pathAndQuery}`;
}

function isDefaultPort(scheme: string, port: string): boolean {
  return (scheme === 'http' && port === '80') || (scheme === 'https' && port === '443');
}

function stripPort(authority: string): string {
  const start = authority.charCodeAt(0) === 0x5b ? authority.indexOf(']') + 1 : 0;
  const colon = authority.indexOf(':', start);
  return colon >= 0 ? authority.slice(0, colon) : authority;
}

function stripPortWhen(authority: string, port: string): string {
  return authority.endsWith(port) ? authority.slice(0, authority.length - port.length) : authority;
}

// The compile-time check of a Secret's tls.ocsp-staple, on real responses made by `openssl ocsp`: a good
// response for the certificate passes (also when its serial starts with a zero nibble, which DER and
// node print differently); revoked, foreign, expired, unsuccessful and non-DER responses are refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ocspStapleProblem } from '../../routes/compile/ocsp.js';

function openssl(dir: string, args: string[]): string {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A CA, a leaf with `serial`, and an OCSP response for it with `status` ('V' good, 'R' revoked). */
function pki(serial: string, status: 'V' | 'R'): { leaf: X509Certificate; response: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ocsp-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '5', '-subj', '/CN=ocsp-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(dir, ['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=leaf.example.com']);
  openssl(dir, ['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${serial}`, '-out', 'leaf.crt', '-days', '5']);
  const revoked = status === 'R' ? '250101000000Z' : '';
  writeFileSync(join(dir, 'index.txt'), `${status}\t301231235959Z\t${revoked}\t${serial.toUpperCase()}\tunknown\t/CN=leaf.example.com\n`);
  openssl(dir, ['ocsp', '-issuer', 'ca.crt', '-cert', 'leaf.crt', '-no_nonce', '-reqout', 'req.der']);
  openssl(dir, ['ocsp', '-index', 'index.txt', '-rsigner', 'ca.crt', '-rkey', 'ca.key', '-CA', 'ca.crt', '-reqin', 'req.der', '-respout', 'resp.der', '-ndays', '1']);
  return { leaf: new X509Certificate(readFileSync(join(dir, 'leaf.crt'))), response: readFileSync(join(dir, 'resp.der')) };
}

test('a good response for the certificate is accepted, whatever its serial looks like', () => {
  for (const serial of ['0ABC1234', '7F00FF', '00000001']) {
    const { leaf, response } = pki(serial, 'V');
    assert.equal(ocspStapleProblem(response, leaf, new Date()), undefined, `serial ${serial}`);
  }
});

test('revoked, foreign, expired, unsuccessful and non-DER responses are refused with the reason', () => {
  const good = pki('1234', 'V');
  const other = pki('5678', 'V');
  const revoked = pki('4321', 'R');
  assert.equal(ocspStapleProblem(revoked.response, revoked.leaf, new Date()), 'the certificate is revoked');
  assert.match(ocspStapleProblem(good.response, other.leaf, new Date()) ?? '', /no response for this certificate/);
  assert.match(ocspStapleProblem(good.response, good.leaf, new Date(Date.now() + 3 * 86_400_000)) ?? '', /expired: nextUpdate/);
  // OCSPResponse { responseStatus tryLater(3) } with no responseBytes, as a responder sends it.
  assert.match(ocspStapleProblem(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03]), good.leaf, new Date()) ?? '', /not successful/);
  assert.match(ocspStapleProblem(Buffer.from('-----BEGIN OCSP-----'), good.leaf, new Date()) ?? '', /not a DER OCSPResponse/);
  assert.match(ocspStapleProblem(good.response.subarray(0, 40), good.leaf, new Date()) ?? '', /not a DER OCSPResponse/);
});

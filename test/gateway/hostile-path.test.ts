// Path tricks that bypass access control at proxies which route on one reading of a path and forward
// another: each mode of normalisation, as Istio's meshConfig.pathNormalization names them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PathNormalization } from '../../gateway/edge-policy.js';
import { normalizeRequestPath } from '../../gateway/proxy/path.js';

const cases: Array<[string, Partial<Record<PathNormalization, string | undefined>>]> = [
  ['/a/b', { NONE: '/a/b', BASE: '/a/b', MERGE_SLASHES: '/a/b', DECODE_AND_MERGE_SLASHES: '/a/b' }],
  ['/public/../admin', { NONE: '/public/../admin', BASE: '/admin', MERGE_SLASHES: '/admin' }],
  ['/../../etc/passwd', { BASE: '/etc/passwd' }],
  ['/a/./b/.', { BASE: '/a/b/' }],
  ['/%61dmin', { NONE: '/%61dmin', BASE: '/admin' }],
  ['/%2e%2e/admin', { BASE: '/admin' }],
  ['/public/%2E%2E/admin', { BASE: '/admin' }],
  ['/a%7e%5fb', { BASE: '/a~_b' }],
  ['/a%2fb', { BASE: '/a%2Fb', MERGE_SLASHES: '/a%2Fb', DECODE_AND_MERGE_SLASHES: '/a/b' }],
  ['/public%2F..%2Fadmin', { BASE: '/public%2F..%2Fadmin', DECODE_AND_MERGE_SLASHES: '/admin' }],
  ['/a%5C..%5Cadmin', { BASE: '/a%5C..%5Cadmin', DECODE_AND_MERGE_SLASHES: '/admin' }],
  ['/a%20b%3f', { BASE: '/a%20b%3F' }],
  ['/public\\..\\admin', { BASE: '/admin' }],
  ['//admin', { BASE: '//admin', MERGE_SLASHES: '/admin' }],
  ['/public//..//admin', { BASE: '/public//admin', MERGE_SLASHES: '/admin' }],
  ['/admin#frag', { BASE: '/admin' }],
  ['/public#/../admin', { BASE: '/public' }],
  ['/a;jsessionid=1/b', { BASE: '/a;jsessionid=1/b' }],
  ['/public/..;/admin', { BASE: undefined, NONE: '/public/..;/admin' }],
  ['/public/.;x/admin', { BASE: undefined }],
  ['/a%zz', { BASE: undefined }],
  ['/a%2', { BASE: undefined }],
  ['/a%00b', { BASE: undefined }],
  ['http://host.example/x/../y', { NONE: '/x/../y', BASE: '/y' }],
  ['http://host.example', { BASE: '/' }],
  ['*', { BASE: '*' }],
  ['relative', { BASE: undefined, NONE: undefined }],
];

test('request paths normalise per mode; ambiguous ones are refused (undefined)', () => {
  for (const [input, expectations] of cases) {
    for (const [mode, expected] of Object.entries(expectations)) {
      assert.equal(normalizeRequestPath(input, mode as PathNormalization), expected, `${mode} ${JSON.stringify(input)}`);
    }
  }
});

test('a path with nothing to normalise is returned as the same string (no work on the common path)', () => {
  const path = '/api/v1/items/42';
  assert.equal(normalizeRequestPath(path, 'DECODE_AND_MERGE_SLASHES'), path);
});

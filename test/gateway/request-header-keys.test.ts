// Request header names become the header record's keys node would give them, whatever their spelling;
// the common ones come back as interned constants (gateway/http1/header-names.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestHeaderKey } from '../../gateway/http1/header-names.js';

const spellings = (lower: string): string[] => [
  lower,
  lower.toUpperCase(),
  lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()),
  [...lower].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join(''),
];

test('every spelling of a header name gives its lower-case form as the key', () => {
  const names = ['host', 'user-agent', 'x-request-id', 'te', 'dnt', 'sec-ch-ua-platform', 'content-length', 'x-custom-header', 'a', 'x-b3-traceid', 'accept-encodinx'];
  for (const name of names) for (const raw of spellings(name)) assert.equal(requestHeaderKey(raw), name, raw);
  // Names that only look like known ones (same length, another letter) stay themselves.
  assert.equal(requestHeaderKey('Hosu'), 'hosu');
  assert.equal(requestHeaderKey('X-Request-Ie'), 'x-request-ie');
});

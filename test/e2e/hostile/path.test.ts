// Path tricks against a route that guards /admin: with Istio's default (BASE) normalisation and with
// DECODE_AND_MERGE_SLASHES, every spelling of /admin reaches the guard, and what the upstream receives
// is the normalised path the routing decision was made on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHostileFixture, HOST, type HostileFixture } from './fixture.js';
import { sendRaw, statuses } from './raw-client.js';

// Prepended to the fixture's catch-all route: /admin answers 403 at the gateway.
const ADMIN_GUARD = `  - match:
    - uri: { prefix: /admin }
    directResponse: { status: 403 }
`;

function fixture(args: string[]): Promise<HostileFixture> {
  return startHostileFixture({ args, routesBefore: ADMIN_GUARD });
}

async function get(f: HostileFixture, target: string): Promise<{ status: number | undefined; upstreamTarget: string | undefined }> {
  const heads = f.upstream.heads.length;
  const answer = await sendRaw(f.port, `GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
  const head = f.upstream.heads.length > heads ? f.upstream.heads.at(-1) : undefined;
  return { status: statuses(answer.text)[0], upstreamTarget: head?.split(' ')[1] };
}

describe('BASE (Istio default)', () => {
  let f: HostileFixture;
  before(async () => {
    f = await fixture([]);
  });
  after(async () => {
    await f?.stop();
  });

  for (const target of ['/admin', '/public/../admin', '/%61dmin', '/%2e%2e/admin', '/public\\..\\admin', '/./admin', '/admin#x']) {
    test(`${target} is /admin: 403 at the gateway, nothing upstream`, async () => {
      assert.deepEqual(await get(f, target), { status: 403, upstreamTarget: undefined });
    });
  }

  test('a dot segment with parameters (/..;/) is refused with 400', async () => {
    assert.deepEqual(await get(f, '/public/..;/admin'), { status: 400, upstreamTarget: undefined });
  });

  test('the upstream receives the normalised path, query kept', async () => {
    assert.deepEqual(await get(f, '/public/./a/../%7Euser%2fx?q=%2e'), { status: 200, upstreamTarget: '/public/~user%2Fx?q=%2e' });
  });
});

describe('DECODE_AND_MERGE_SLASHES', () => {
  let f: HostileFixture;
  before(async () => {
    f = await fixture(['--path-normalization', 'DECODE_AND_MERGE_SLASHES']);
  });
  after(async () => {
    await f?.stop();
  });

  for (const target of ['//admin', '/public%2F..%2Fadmin', '/public%5c..%5cadmin', '/%2Fadmin']) {
    test(`${target} is /admin: 403 at the gateway, nothing upstream`, async () => {
      assert.deepEqual(await get(f, target), { status: 403, upstreamTarget: undefined });
    });
  }

  test('the upstream receives merged, decoded slashes', async () => {
    assert.deepEqual(await get(f, '/public//a%2Fb'), { status: 200, upstreamTarget: '/public/a/b' });
  });
});

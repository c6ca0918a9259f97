// `gatehouse validate DIR` checks manifests as the gateway would and names file, line and code per problem.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { GATEHOUSE_BIN, makeConfigDir } from '../support/gateway-process.js';
import { gatewayYaml, serviceEntryYaml } from './manifests.js';

function validate(dir: string) {
  const r = spawnSync(process.execPath, [GATEHOUSE_BIN, 'validate', dir], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const goodVs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
  namespace: default
spec:
  hosts: [web.example.com]
  gateways: [istio-system/edge]
  http:
  - route:
    - destination:
        host: web.internal
`;

test('a valid directory exits 0', () => {
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('edge', [{ port: 8080, protocol: 'HTTP' }]),
    'nested/more/services.yml': serviceEntryYaml('web', 'web.internal', [{ port: 9000 }]),
    'vs.yaml': goodVs,
  });
  const r = validate(dir);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /valid: 3 resource\(s\), 0 error\(s\)/);
});

test('each problem is one line: file:line:col: CODE message, and the exit code is 1', () => {
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('edge', [{ port: 8080, protocol: 'HTTP' }]),
    'vs.yaml': goodVs + '      weight: fifty\n',
    'broken.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  labels: [unclosed\n',
  });
  const r = validate(dir);
  assert.equal(r.code, 1, r.out + r.err);
  const lines = r.out.trim().split('\n');
  assert.ok(lines.some((l) => /vs\.yaml:13:\d+: GH_CFG_TYPE .*weight/.test(l)), r.out);
  assert.ok(lines.some((l) => /broken\.yaml:\d+:\d+: GH_CFG_YAML /.test(l)), r.out);
  assert.match(lines.at(-1)!, /invalid: .* 2 error\(s\)|invalid: .*error\(s\)/);
});

test('a VirtualService naming a gateway that does not exist is reported with its line, as a warning', () => {
  const dir = makeConfigDir({ 'vs.yaml': goodVs });
  const r = validate(dir);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /vs\.yaml:8:\d+: GH_CFG_GATEWAY_NOT_FOUND .*\[warning\]/);
});

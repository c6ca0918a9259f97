#!/bin/bash
# Instructions per TLS connection (load-independent), for when the machine is too busy for CPU time:
# valgrind --tool=callgrind on one proxy process, WARM connections, then IDLE seconds idle, then N connections
# (bench/lib/handshake-client.mjs, sequential, TLS 1.3, ECDSA P-256, the benchmark config of bench/floor.mjs);
# per connection = (instructions of the measured phase − the idle phase's rate × its duration) / N.
#   bench/handshake-instructions.sh TARGET new|resume [WARM] [N] [IDLE]
# TARGET: a gateway checkout with dist/ (e.g. . or a `git archive` baseline), `floor`, or `nginx`.
# Prints one JSON line; kiPerConnection is thousands of instructions per connection. Under valgrind a node
# process takes minutes to start on a busy machine and ~0.1–0.5 s per connection. Loopback only; every
# process it starts is stopped by its PID.
set -e
BENCH=$(cd "$(dirname "$0")" && pwd)
TARGET=$1; MODE=${2:-new}; WARM=${3:-300}; N=${4:-400}; IDLE=${5:-10}
[ -n "$TARGET" ] || { echo "usage: $0 TARGET new|resume [WARM] [N] [IDLE]" >&2; exit 2; }
case "$TARGET" in floor|nginx) ;; *) TARGET=$(cd "$TARGET" && pwd) ;; esac
W=$(mktemp -d /tmp/gatehouse-hs-instr-XXXXXX)
GWPID=; UPPID=
trap 'kill $GWPID $UPPID 2>/dev/null; rm -rf "$W"' EXIT
node "$BENCH/lib/upstream.mjs" > "$W/up.json" 2> "$W/up.log" & UPPID=$!
for i in $(seq 1 100); do [ -s "$W/up.json" ] && break; sleep 0.2; done
UP=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$W/up.json','utf8').split('\n')[0]).http)")
PORTS=($(node -e "
const net=require('net');const ps=[];let n=0;
for(let i=0;i<5;i++){const s=net.createServer();s.listen(0,'127.0.0.1',()=>{ps.push(s.address().port);s.close();if(++n===5)console.log(ps.join(' '))})}"))
HPORT=${PORTS[0]}
node --input-type=module -e "
import { makeCertificate, writeIstioConfig, nginxConf } from '$BENCH/lib/config.mjs';
import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('$W/config');
const { cert, key } = makeCertificate('$W', 'ec');
writeIstioConfig('$W/config', { httpPort: ${PORTS[1]}, httpsPort: $HPORT, upstreamPort: $UP, cert, key });
writeFileSync('$W/nginx.conf', nginxConf({ dir: '$W', httpPort: ${PORTS[1]}, httpsPort: $HPORT, upstreamPort: $UP, cert, key }));"
cd "$W"
VG=(valgrind --tool=callgrind --smc-check=all-non-file --dump-instr=no "--callgrind-out-file=$W/cg.out.%p")
ready() { for i in $(seq 1 2400); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ] && return 0; sleep 0.5; done; return 1; }
if [ "$TARGET" = floor ]; then
  "${VG[@]}" node "$BENCH/floor-proxy.mjs" --upstream "http://127.0.0.1:$UP" --https-cert "$W/cert.pem" --https-key "$W/key.pem" > "$W/floor.json" 2> "$W/proxy.log" & GWPID=$!
  for i in $(seq 1 2400); do [ -s "$W/floor.json" ] && break; sleep 0.5; done
  HPORT=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$W/floor.json','utf8').split('\n')[0]).https)")
elif [ "$TARGET" = nginx ]; then
  "${VG[@]}" nginx -c "$W/nginx.conf" -p "$W" -e "$W/nginx-error.log" > "$W/proxy.log" 2>&1 & GWPID=$!
  ready "http://127.0.0.1:${PORTS[1]}/"
else
  # The overload guard would shed the first connections: under valgrind the event loop lags by seconds.
  "${VG[@]}" node "$TARGET/dist/cli/main.js" serve --config "$W/config" --status-port ${PORTS[2]} --stats-port ${PORTS[3]} \
    --admin-port ${PORTS[4]} --bind 127.0.0.1 --workers 1 --overload-event-loop-lag 3600s > "$W/proxy.log" 2>&1 & GWPID=$!
  ready "http://127.0.0.1:${PORTS[2]}/healthz/ready"
fi
node "$BENCH/lib/handshake-client.mjs" $HPORT $MODE $WARM > "$W/warm.json"
sleep 2
callgrind_control -z $GWPID > /dev/null
T0=$(date +%s.%N); sleep $IDLE; callgrind_control -d idle $GWPID > /dev/null; T1=$(date +%s.%N)
node "$BENCH/lib/handshake-client.mjs" $HPORT $MODE $N > "$W/measured.json"
callgrind_control -d measured $GWPID > /dev/null; T2=$(date +%s.%N)
total() { grep -h '^totals:\|^summary:' $(grep -l "^desc: Trigger: .*$1" "$W"/cg.out.$GWPID.*) | head -1 | awk '{print $2}'; }
node -e "
const idle = $(total idle), measured = $(total measured), idleS = $T1 - $T0, measuredS = $T2 - $T1;
console.log(JSON.stringify({ target: '$1', mode: '$MODE', n: $N,
  kiPerConnection: +((measured - idle / idleS * measuredS) / $N / 1000).toFixed(1),
  idleKiPerSecond: +(idle / idleS / 1000).toFixed(0), measuredSeconds: +measuredS.toFixed(1),
  client: JSON.parse(require('fs').readFileSync('$W/measured.json', 'utf8')) }));"

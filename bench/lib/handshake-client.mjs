// Sequential TLS connections to 127.0.0.1:PORT, one at a time, as `openssl s_time` makes them (no SNI, no
// ALPN, TLS 1.3): `new` makes full handshakes and closes; `resume` resumes the first connection's session
// and sends one proxied request per connection, the one bench/floor.mjs --handshakes --resume sends.
//   node bench/lib/handshake-client.mjs PORT new|resume COUNT
// Prints one JSON line: {count, reused, errors, lastError, ms}.
import tls from 'node:tls';

const [port, mode, count] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4])];
const REQUEST = 'GET / HTTP/1.0\r\nHost: localhost\r\nX-Bench: HTTP/1.0\r\n\r\n';
let session;

function connectOnce() {
  return new Promise((resolve, reject) => {
    let reused = false;
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(mode === 'resume' && session ? { session } : {}) });
    s.on('error', reject);
    if (mode === 'resume') {
      s.on('session', (sess) => (session ??= sess));
      s.once('secureConnect', () => {
        reused = s.isSessionReused();
        s.write(REQUEST);
      });
      let got = '';
      s.setEncoding('latin1').on('data', (d) => (got += d));
      s.on('end', () => {
        if (!/^HTTP\/1\.1 200/.test(got)) reject(new Error(`not a 200: ${got.slice(0, 80)}`));
      });
      s.on('close', () => resolve(reused));
    } else {
      s.once('secureConnect', () => s.end());
      s.on('close', () => resolve(false));
    }
  });
}

let reused = 0;
let errors = 0;
let lastError = '';
const t0 = Date.now();
for (let i = 0; i < count; i++) {
  try {
    if (await connectOnce()) reused++;
  } catch (err) {
    errors++;
    lastError = err.message;
  }
}
console.log(JSON.stringify({ count, reused, errors, lastError, ms: Date.now() - t0 }));

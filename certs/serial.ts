// Certificate serial numbers: 128 random bits, so two certificates from one CA never share one (RFC 5280
// asks for unique serials per issuer; CA/B Forum asks for at least 64 bits of randomness).
import { randomBytes } from 'node:crypto';

/** 128 random bits as hex for a positive DER INTEGER (high bit clear, so no sign byte is needed). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return bytes.toString('hex');
}

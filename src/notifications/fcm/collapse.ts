/**
 * Collapse keys: status updates about the same thing replace each other on the device
 * (`android.collapse_key`, `apns-collapse-id`). APNs refuses an `apns-collapse-id` longer than
 * 64 bytes (Apple, "Sending notification requests to APNs"; reason BadCollapseId), and ids
 * reach 128 characters, so a key that would be longer keeps its prefix and replaces the id
 * with `~` and 48 hex digits of its SHA-256: at most 64 bytes, still one key per id, and
 * short keys stay readable.
 */
export const MAX_COLLAPSE_ID_BYTES = 64;
const HASH_HEX = 48;

const encoder = new TextEncoder();

export function boundedCollapseKey(prefix: string, id: string): string {
  const key = `${prefix}:${id}`;
  if (encoder.encode(key).length <= MAX_COLLAPSE_ID_BYTES) return key;
  return `${prefix}:~${sha256Hex(id).slice(0, HASH_HEX)}`;
}

// SHA-256 (FIPS 180-4), synchronous: the message builder is synchronous and WebCrypto is not.
const K = new Uint32Array(64);
const H0 = new Uint32Array(8);
{
  const primes: number[] = [];
  for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
  const frac = (x: number) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  primes.forEach((p, i) => {
    K[i] = frac(Math.cbrt(p));
    if (i < 8) H0[i] = frac(Math.sqrt(p));
  });
}

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

export function sha256Hex(input: string): string {
  const bytes = encoder.encode(input);
  const blocks = Math.ceil((bytes.length + 9) / 64);
  const m = new Uint8Array(blocks * 64);
  m.set(bytes);
  m[bytes.length] = 0x80;
  const view = new DataView(m.buffer);
  view.setUint32(m.length - 8, Math.floor((bytes.length * 8) / 2 ** 32));
  view.setUint32(m.length - 4, (bytes.length * 8) >>> 0);
  const h = H0.slice();
  const w = new Uint32Array(64);
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(b * 64 + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15] ?? 0;
      const c = w[i - 2] ?? 0;
      const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
      const s1 = rotr(c, 17) ^ rotr(c, 19) ^ (c >>> 10);
      w[i] = (w[i - 16] ?? 0) + s0 + (w[i - 7] ?? 0) + s1;
    }
    let [A = 0, B = 0, C = 0, D = 0, E = 0, F = 0, G = 0, H = 0] = h;
    for (let i = 0; i < 64; i++) {
      const t1 =
        H + (rotr(E, 6) ^ rotr(E, 11) ^ rotr(E, 25)) + ((E & F) ^ (~E & G)) + (K[i] ?? 0) + (w[i] ?? 0);
      const t2 = (rotr(A, 2) ^ rotr(A, 13) ^ rotr(A, 22)) + ((A & B) ^ (A & C) ^ (B & C));
      H = G;
      G = F;
      F = E;
      E = (D + t1) >>> 0;
      D = C;
      C = B;
      B = A;
      A = (t1 + t2) >>> 0;
    }
    [A, B, C, D, E, F, G, H].forEach((v, i) => {
      h[i] = (h[i] ?? 0) + v;
    });
  }
  return Array.from(h, (x) => x.toString(16).padStart(8, "0")).join("");
}

/** Ids are UUIDv4 from the runtime's CSPRNG. */
export const newId = (): string => crypto.randomUUID();

/**
 * UUIDv7 (RFC 9562): 48-bit epoch ms, then 74 random bits. For append-heavy tables (analytics
 * events, chat messages in the room and in D1): new keys land at the right edge of the B-tree
 * instead of on a random leaf, so a batch dirties a few pages rather than one per row.
 */
export function newTimeOrderedId(ms: number = Date.now()): string {
  const b = new Uint8Array(16);
  b.set(randomBytes(10), 6);
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  return formatUuid(b, 0x70);
}

/**
 * CSPRNG bytes drawn from a pool refilled 4 KiB at a time: ingest makes 100 ids per request, and
 * one getRandomValues call per id showed in its profile. Each byte is handed out once.
 */
const POOL = new Uint8Array(4096);
let poolAt = POOL.length;
function randomBytes(n: number): Uint8Array {
  if (poolAt + n > POOL.length) {
    crypto.getRandomValues(POOL);
    poolAt = 0;
  }
  poolAt += n;
  return POOL.subarray(poolAt - n, poolAt);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Sets the version nibble and the RFC 9562 variant bits, then writes 8-4-4-4-12 hex. */
function formatUuid(b: Uint8Array, version: number): string {
  b[6] = version | ((b[6] ?? 0) & 0x0f);
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  let h = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) h += "-";
    h += HEX[b[i] ?? 0];
  }
  return h;
}

/** Epoch milliseconds; one place to read the clock so tests and code agree on units. */
export const now = (): number => Date.now();

export const toIso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

const encoder = new TextEncoder();

export async function sha256Hex(input: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(input));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * UUIDv8 (RFC 9562) from the SHA-256 of `parts`: the same parts always give the same id. For
 * rows a retried step must find again instead of adding twice (a notification per event and
 * user, a delivery per notification and device). Predictable by design: never use it where an
 * id must be unguessable (every read of such rows checks ownership anyway).
 */
export async function derivedId(...parts: string[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(parts.join("\u0000")));
  return formatUuid(new Uint8Array(digest).slice(0, 16), 0x80);
}

/** URL-safe random secret, for connect tickets and similar bearer values. */
export function randomToken(bytes = 32): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...buf))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

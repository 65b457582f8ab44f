/** Ids are UUIDv4 from the runtime's CSPRNG. */
export const newId = (): string => crypto.randomUUID();

/**
 * UUIDv7 (RFC 9562): 48-bit epoch ms, then 74 random bits. For append-heavy tables
 * (analytics events): new keys land at the right edge of the primary-key B-tree instead
 * of on a random leaf, so a batch dirties a few pages rather than one per row.
 */
export function newTimeOrderedId(ms: number = Date.now()): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  return formatUuid(b, 0x70);
}

/** Sets the version nibble and the RFC 9562 variant bits, then writes 8-4-4-4-12 hex. */
function formatUuid(b: Uint8Array, version: number): string {
  b[6] = version | ((b[6] ?? 0) & 0x0f);
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
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

/**
 * Just enough JWS handling to check a service-account assertion the way Google does.
 * No npm dependencies: the emulator is bundled as a plain auxiliary worker.
 */

export type DecodedJwt = {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: Uint8Array;
  signature: Uint8Array;
};

export function base64UrlDecode(input: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(input)) throw new Error("not base64url");
  const b64 = input.replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const bin = atob(padded);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function base64UrlEncode(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeJsonPart(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(new TextDecoder().decode(base64UrlDecode(part)));
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
  return value as Record<string, unknown>;
}

/** Returns null for anything that is not a three-part compact JWS with JSON header and payload. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  try {
    return {
      header: decodeJsonPart(h),
      payload: decodeJsonPart(p),
      signingInput: new TextEncoder().encode(`${h}.${p}`),
      signature: base64UrlDecode(s),
    };
  } catch {
    return null;
  }
}

// The key never changes within an isolate, so it is imported once.
let cached: { pem: string; key: Promise<CryptoKey> } | undefined;

export function importSpkiPem(pem: string): Promise<CryptoKey> {
  if (cached?.pem === pem) return cached.key;
  // .dev.vars may carry the PEM with literal "\n" escapes.
  const body = pem
    .replace(/\\n/g, "\n")
    .replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "")
    .replace(/\s+/g, "");
  const key = crypto.subtle.importKey(
    "spki",
    base64UrlDecode(body.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["verify"],
  );
  cached = { pem, key };
  return key;
}

export async function verifyRs256(jwt: DecodedJwt, publicKeyPem: string): Promise<boolean> {
  if (jwt.header.alg !== "RS256") return false;
  const key = await importSpkiPem(publicKeyPem);
  return crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, jwt.signature, jwt.signingInput);
}

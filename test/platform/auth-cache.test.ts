import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { stillValid, verifyToken } from "../../src/platform/auth";
import { getConfig } from "../../src/platform/config";
import { tokenFor } from "../helpers/auth";

describe("verified-token cache", () => {
  const config = getConfig(env);
  const now = Date.UTC(2026, 10, 26, 12, 0, 0);
  const s = now / 1000;
  const entry = { config, until: now + 60_000, exp: s + 600, iat: s - 10, nbf: s - 10 };
  const max = config.AUTH_MAX_TOKEN_AGE_S;

  it("holds only while exp, nbf, the maximum age (with jose's 30 s tolerance), the TTL and the config all hold", () => {
    expect(stillValid(entry, config, now)).toBe(true);
    expect(stillValid({ ...entry, exp: s - 29 }, config, now)).toBe(true);
    expect(stillValid({ ...entry, exp: s - 30 }, config, now)).toBe(false);
    expect(stillValid({ ...entry, nbf: s + 30 }, config, now)).toBe(true);
    expect(stillValid({ ...entry, nbf: s + 31 }, config, now)).toBe(false);
    expect(stillValid(entry, config, now + 60_000)).toBe(false);
    expect(stillValid(entry, { ...config }, now)).toBe(false);
    expect(stillValid({ config, until: now + 1, exp: s + 1, iat: s }, config, now)).toBe(true);
    // exp and iat are required: an entry without them (never written since issue 13) is not trusted.
    expect(stillValid({ config, until: now + 1 } as never, config, now)).toBe(false);
    // The lifetime bound (exp - iat <= AUTH_MAX_TOKEN_AGE_S) holds on every hit.
    expect(stillValid({ ...entry, iat: s - max + 600 }, config, now)).toBe(true);
    expect(stillValid({ ...entry, iat: s - max + 599 }, config, now)).toBe(false);
  });

  it("answers a repeated token with the same frozen principal, and never caches a failure", async () => {
    const token = await tokenFor({ role: "user" });
    const first = await verifyToken(token, config);
    expect(await verifyToken(token, config)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const forged = `${token.slice(0, -2)}${token.endsWith("A") ? "B" : "A"}A`;
    for (let i = 0; i < 2; i++) await expect(verifyToken(forged, config)).rejects.toThrow();
  });
});

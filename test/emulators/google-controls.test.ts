import { afterEach, describe, expect, it } from "vitest";
import {
  accessToken,
  clearFcmFaults,
  EMULATOR,
  FCM_ERROR,
  faultsLeft,
  fcmSend,
  googleStats,
  holdSends,
  injectFcmFault,
  resetGoogle,
  revokeGoogleTokens,
  sentMessages,
  setAccessTokenTtl,
  setSendLatency,
} from "../helpers/google";

const device = (prefix = "dev") => `${prefix}-${crypto.randomUUID()}`;
const send = (to: string, token: string) => fcmSend({ message: { token: to, data: { n: "1" } } }, token);
const errorCode = async (res: Response) =>
  (await res.json<{ error: { details?: Array<{ errorCode?: string }> } }>()).error.details?.[0]?.errorCode;

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 5));
}

// Each test file gets its own emulator instance, but tests in this file share it.
afterEach(async () => {
  await holdSends(false);
  await resetGoogle({ config: true });
});

describe("Google emulator controls — faults", () => {
  it("fails the next N sends with the injected status and Retry-After, whatever the token", async () => {
    const token = await accessToken();
    await injectFcmFault({ status: 503, count: 2, retry_after: 12 });
    for (let i = 0; i < 2; i++) {
      const res = await send(device(), token);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("12");
      expect(await errorCode(res)).toBe("UNAVAILABLE");
    }
    expect((await send(device(), token)).status).toBe(200);
  });

  it("injects 500 INTERNAL and 429 QUOTA_EXCEEDED outages", async () => {
    const token = await accessToken();
    await injectFcmFault({ status: 500, count: 1 });
    await injectFcmFault({ status: 429, count: 1, retry_after: 3 });
    const first = await send(device(), token);
    expect([first.status, await errorCode(first)]).toEqual([500, "INTERNAL"]);
    const second = await send(device(), token);
    expect([second.status, await errorCode(second), second.headers.get("retry-after")]).toEqual([
      429,
      "QUOTA_EXCEEDED",
      "3",
    ]);
    expect((await send(device(), token)).status).toBe(200);
  });

  it("confines a fault to a token prefix when asked", async () => {
    const token = await accessToken();
    const prefix = `scoped-${crypto.randomUUID()}`;
    await injectFcmFault({ status: 503, count: 1, token_prefix: prefix });
    expect((await send(device(), token)).status).toBe(200);
    expect((await send(`${prefix}-a`, token)).status).toBe(503);
    expect((await send(`${prefix}-a`, token)).status).toBe(200);
  });

  it("rejects malformed fault requests with 400", async () => {
    for (const bad of [
      { status: 404, count: 1 },
      { status: 503, count: 0 },
      { status: 503, count: 1, retry_after: -1 },
      // A 401 fault is only FCM's THIRD_PARTY_AUTH_ERROR, and must say so.
      { status: 401, count: 1 },
      { status: 401, count: 1, error_code: "UNREGISTERED" },
      { status: 503, count: 1, error_code: "THIRD_PARTY_AUTH_ERROR" },
      { status: 503, count: 1, hang_ms: 0 },
      { status: 503, count: 1, hang_ms: 120_001 },
    ]) {
      const res = await fetch(`${EMULATOR}/_emulator/google/faults`, {
        method: "POST",
        body: JSON.stringify(bad),
      });
      expect(res.status).toBe(400);
    }
  });

  it("401 THIRD_PARTY_AUTH_ERROR answers exactly FCM's error body: UNAUTHENTICATED with the FcmError detail", async () => {
    const token = await accessToken();
    const prefix = `tpa-${crypto.randomUUID()}`;
    await injectFcmFault({
      status: 401,
      error_code: "THIRD_PARTY_AUTH_ERROR",
      count: 1,
      token_prefix: prefix,
    });
    const res = await send(`${prefix}-ios`, token);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: {
        code: 401,
        message: "Auth error from APNS or Web Push Service",
        status: "UNAUTHENTICATED",
        details: [{ "@type": FCM_ERROR, errorCode: "THIRD_PARTY_AUTH_ERROR" }],
      },
    });
    // Our access token is fine: the next send with it is delivered.
    expect((await send(`${prefix}-ios`, token)).status).toBe(200);
  });

  it("a hang fault holds the send before answering, and GET faults / faults/clear report and end an outage", async () => {
    const token = await accessToken();
    const prefix = `hang-${crypto.randomUUID()}`;
    await injectFcmFault({ status: 503, count: 3, token_prefix: prefix, hang_ms: 50 });
    expect(await faultsLeft(prefix)).toBe(3);
    const slow = await send(`${prefix}-a`, token);
    expect([slow.status, await errorCode(slow)]).toEqual([503, "UNAVAILABLE"]);
    expect(await faultsLeft(prefix)).toBe(2);
    expect(await clearFcmFaults(prefix)).toEqual({ cleared: 1 });
    expect(await faultsLeft(prefix)).toBe(0);
    expect((await send(`${prefix}-a`, token)).status).toBe(200);
  });

  it("reset clears pending faults", async () => {
    const token = await accessToken();
    await injectFcmFault({ status: 503, count: 5 });
    await resetGoogle();
    expect((await send(device(), token)).status).toBe(200);
  });
});

describe("Google emulator controls — tokens", () => {
  it("revoke invalidates every issued access token; a fresh exchange works again", async () => {
    const token = await accessToken();
    expect((await send(device(), token)).status).toBe(200);
    expect((await revokeGoogleTokens()).revoked).toBeGreaterThanOrEqual(1);
    expect((await send(device(), token)).status).toBe(401);
    expect((await send(device(), await accessToken())).status).toBe(200);
  });

  it("reset keeps issued tokens unless asked to drop them", async () => {
    const token = await accessToken();
    await resetGoogle();
    expect((await send(device(), token)).status).toBe(200);
    await resetGoogle({ tokens: true });
    expect((await send(device(), token)).status).toBe(401);
  });

  it("an access token past its expiry is refused", async () => {
    await setAccessTokenTtl(0);
    const token = await accessToken();
    expect((await send(device(), token)).status).toBe(401);
  });
});

describe("Google emulator controls — stats and messages", () => {
  it("counts exchanges, delivered and failed sends", async () => {
    await resetGoogle();
    const token = await accessToken();
    await send(device(), token);
    await send(device(), token);
    await send(device("unregistered"), token);
    await send(device(), "ya29.nope");
    expect(await googleStats()).toEqual({
      token_exchanges: 1,
      token_exchanges_failed: 0,
      sends_ok: 2,
      sends_failed: 2,
      sends_validated: 0,
      max_concurrency: 1,
      in_flight: 0,
    });
  });

  it("reports the peak number of sends in flight at once", async () => {
    await resetGoogle();
    const token = await accessToken();
    await holdSends(true);
    const pending = Array.from({ length: 6 }, () => send(device(), token));
    await until(async () => (await googleStats()).in_flight === 6);
    await holdSends(false);
    const statuses = (await Promise.all(pending)).map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const stats = await googleStats();
    expect(stats.max_concurrency).toBe(6);
    expect(stats.in_flight).toBe(0);
    expect(stats.sends_ok).toBe(6);
  });

  it("accepts a send latency and still delivers", async () => {
    await setSendLatency(20);
    const token = await accessToken();
    const to = device();
    expect((await send(to, token)).status).toBe(200);
    expect(await sentMessages(to)).toHaveLength(1);
    const bad = await fetch(`${EMULATOR}/_emulator/google/config`, {
      method: "POST",
      body: JSON.stringify({ send_latency_ms: -5 }),
    });
    expect(bad.status).toBe(400);
  });

  it("lists recorded messages oldest first, filtered by token and limited", async () => {
    const token = await accessToken();
    const to = device();
    for (const n of ["1", "2", "3"]) await fcmSend({ message: { token: to, data: { n } } }, token);
    await send(device(), token);
    const mine = await sentMessages(to);
    expect(mine.map((m) => m.message.data)).toEqual([{ n: "1" }, { n: "2" }, { n: "3" }]);
    const latestTwo = await sentMessages(to, 2);
    expect(latestTwo.map((m) => m.message.data)).toEqual([{ n: "2" }, { n: "3" }]);
    const all = await sentMessages();
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(all.at(-1)?.token).not.toBe(to);
  });

  it("reset clears recorded messages and counters", async () => {
    const token = await accessToken();
    const to = device();
    await send(to, token);
    await resetGoogle();
    expect(await sentMessages(to)).toEqual([]);
    expect((await googleStats()).sends_ok).toBe(0);
  });
});

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type IngestBudget, PURGE_CHUNK } from "../../src/analytics/ingest-budget";
import { analyticsEvents } from "../../src/db/schema/analytics";
import { getConfig } from "../../src/platform/config";
import { eventually } from "../helpers/eventually";
import { expectEnvelope, postJson } from "../helpers/http";
import { budgetUsed, db } from "./helpers";

/**
 * Issue 13, item 8: 200 anonymous batches of 100 events with 500-byte properties were all
 * accepted (202). Ingest is now limited per client IP and per session (rate-limit bindings:
 * 120 and 30 batches a minute), and the bytes of a session, of a client IP and of everyone
 * per UTC day are budgets in the IngestBudget Durable Object. Accepted events reach D1 through the ingest queue,
 * so stored counts are awaited until they equal what was accepted (and then must not exceed it).
 * The bindings count in fixed one-minute windows, so a run that straddles a window boundary may
 * pass up to twice a limit: the assertions allow that and nothing more.
 */
const IP_LIMIT = 120;
const SESSION_LIMIT = 30;
const cap = getConfig(env).ANALYTICS_SESSION_DAILY_BYTES;

const uniqueIp = () =>
  `198.51.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}-${crypto.randomUUID()}`;

/** The batch: 100 events of one session, each with about 500 bytes of properties. */
const bigBatch = (session: string) => ({
  events: Array.from({ length: 100 }, (_, i) => ({
    event_type: "page_view",
    session_id: session,
    page: "/flood",
    properties: { i: String(i).padStart(3, "0"), pad: "x".repeat(480) },
  })),
});
const tinyBatch = (session: string) => ({ events: [{ event_type: "page_view", session_id: session }] });

const ingest = (body: unknown, ip: string) =>
  postJson("/api/v1/analytics/events", body, { "cf-connecting-ip": ip });

/** Sends `n` requests, `parallel` at a time, and returns every response. */
async function flood(n: number, parallel: number, send: (i: number) => Promise<Response>) {
  const out: Response[] = [];
  for (let i = 0; i < n; i += parallel) {
    const chunk = Array.from({ length: Math.min(parallel, n - i) }, (_, j) => send(i + j));
    out.push(...(await Promise.all(chunk)));
  }
  return out;
}

async function expectLimited(res: Response) {
  await expectEnvelope(res, 429, "RATE_LIMITED");
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(86_400);
}

const quotaOf = (session: string) => budgetUsed("s", session);
const countOf = async (session: string) =>
  (
    await db
      .select({ id: analyticsEvents.id })
      .from(analyticsEvents)
      .where(eq(analyticsEvents.sessionId, session))
  ).length;
/** Rows of a session once the consumer has written `expected` of them (at most that). */
const storedOf = async (session: string, expected: number) => {
  await eventually(async () => (await countOf(session)) >= expected, `${expected} rows of ${session}`);
  return countOf(session);
};

describe("analytics ingest abuse limits", () => {
  it("the issue's flood (200 batches × 100 events × 500 B, one IP, one session) is cut off with 429s", async () => {
    const ip = uniqueIp();
    const session = crypto.randomUUID();
    const res = await flood(200, 20, () => ingest(bigBatch(session), ip));
    const accepted = res.filter((r) => r.status === 202);
    const refused = res.filter((r) => r.status !== 202);
    for (const r of refused) await expectLimited(r);
    expect(refused.length).toBeGreaterThan(150);
    // Everything accepted fits the session's byte cap, and a refused batch wrote nothing.
    const quota = await quotaOf(session);
    expect(quota).toBeGreaterThan(0);
    expect(quota).toBeLessThanOrEqual(cap);
    expect(await storedOf(session, accepted.length * 100)).toBe(accepted.length * 100);
  });

  it("limits each client IP, whatever sessions it rotates through", async () => {
    const ip = uniqueIp();
    const res = await flood(2 * IP_LIMIT + 1, 25, () => ingest(tinyBatch(crypto.randomUUID()), ip));
    const accepted = res.filter((r) => r.status === 202).length;
    expect(accepted).toBeLessThanOrEqual(2 * IP_LIMIT);
    const refused = res.find((r) => r.status !== 202);
    if (!refused) throw new Error("no 429 for one IP");
    await expectLimited(refused);
    expect(refused.headers.get("retry-after")).toBe("60");
  });

  it("limits each session, whatever IPs it comes from", async () => {
    const session = crypto.randomUUID();
    const res = await flood(2 * SESSION_LIMIT + 1, 20, () => ingest(tinyBatch(session), uniqueIp()));
    expect(res.filter((r) => r.status === 202).length).toBeLessThanOrEqual(2 * SESSION_LIMIT);
    const refused = res.find((r) => r.status !== 202);
    if (!refused) throw new Error("no 429 for one session");
    await expectLimited(refused);
    const accepted = res.filter((r) => r.status === 202).length;
    expect(await storedOf(session, accepted)).toBe(accepted);
  });

  it("caps a session's bytes per day exactly, even for parallel batches", async () => {
    const session = crypto.randomUUID();
    // One batch alone tells what a batch costs (every batch here has the same size).
    expect((await ingest(bigBatch(session), uniqueIp())).status).toBe(202);
    const perBatch = await quotaOf(session);
    expect(perBatch).toBeGreaterThan(50_000);
    const fits = Math.floor(cap / perBatch);
    expect(fits).toBeLessThan(SESSION_LIMIT - 5); // the quota, not the session limit, is what refuses

    const res = await Promise.all(
      Array.from({ length: fits + 5 }, () => ingest(bigBatch(session), uniqueIp())),
    );
    const accepted = res.filter((r) => r.status === 202).length;
    expect(accepted).toBe(fits - 1);
    for (const r of res.filter((x) => x.status !== 202)) {
      const body = await expectEnvelope(r, 429, "RATE_LIMITED");
      expect(body.error.details).toMatchObject({ limit: "session_daily_bytes", cap_bytes: cap });
    }
    expect(await quotaOf(session)).toBe(fits * perBatch);
    expect(await storedOf(session, fits * 100)).toBe(fits * 100);
  });

  it("a batch names at most 5 sessions; events of a sixth are rejected, not stored", async () => {
    const sessions = Array.from({ length: 6 }, () => crypto.randomUUID());
    const res = await ingest({ events: sessions.map((s) => tinyBatch(s).events[0]) }, uniqueIp());
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 5,
      rejected: 1,
      errors: [{ index: 5, code: "TOO_MANY_SESSIONS", message: expect.any(String), path: "session_id" }],
    });
    expect(await storedOf(sessions[0] ?? "", 1)).toBe(1);
    expect(await countOf(sessions[5] ?? "")).toBe(0);
  });
});

describe("the ingest budget object", () => {
  const today = Math.floor(Date.now() / 86_400_000);
  const take = (key: string, bytes: number, cap = 1_000) => ({ key, bytes, cap });

  /** A fresh object per test (the platform's is one named object; these call it directly). */
  const fresh = () => env.INGEST_BUDGET.getByName(`test-${crypto.randomUUID()}`);
  const alarmOf = (budget: ReturnType<typeof fresh>) =>
    runInDurableObject(budget, (_: IngestBudget, state) => state.storage.getAlarm());
  const rowsOf = (budget: ReturnType<typeof fresh>) =>
    runInDurableObject(
      budget,
      (_: IngestBudget, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM day_budget").one().n,
    );
  /** Writes rows as an earlier day's takes left them (a take can only name today or yesterday). */
  const plant = (budget: ReturnType<typeof fresh>, day: number, n: number) =>
    runInDurableObject(budget, (_: IngestBudget, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?2)
         INSERT INTO day_budget (day, budget_key, bytes, cap) SELECT ?1, 's:planted-' || i, 1, 10 FROM k`,
        day,
        n,
      );
    });

  it("takes every key of a request or none: one statement, backed out whole by the cap's CHECK", async () => {
    const budget = fresh();
    expect(await budget.take([take("a", 600), take("b", 100)])).toBeNull();
    // b is written first and would fit; a would not: the statement fails and b's update goes too.
    expect(await budget.take([take("b", 100), take("a", 500)])).toEqual({
      key: "a",
      cap: 1_000,
      used: 600,
      day: today,
    });
    expect([await budget.used("a", today), await budget.used("b", today)]).toEqual([600, 100]);
  });

  it("checks a key named twice in one take as its sum", async () => {
    const budget = fresh();
    expect(await budget.take([take("k", 600), take("k", 600)])).toMatchObject({ key: "k", used: 0 });
    expect(await budget.used("k", today)).toBe(0);
  });

  it("never overdraws under 50 parallel takes", async () => {
    const budget = fresh();
    const results = await Promise.all(Array.from({ length: 50 }, () => budget.take([take("p", 70)])));
    expect(results.filter((r) => r === null)).toHaveLength(14);
    expect(await budget.used("p", today)).toBe(980);
  });

  it("refuses a malformed take instead of counting it", async () => {
    const budget = fresh();
    // Awaited through .then: an RPC promise handed to expect().rejects is reported unhandled.
    const refusal = (takes: ReturnType<typeof take>[]) =>
      budget.take(takes).then(
        () => "taken",
        (e: unknown) => String(e),
      );
    expect(await refusal([take("n", -5)])).toMatch(/invalid budget take/);
    expect(await refusal([take("n", 1.5)])).toMatch(/invalid budget take/);
    // An empty take would write a row that costs nothing; a cap below 1 is a bug.
    expect(await refusal([take("n", 0)])).toMatch(/invalid budget take/);
    expect(await refusal([take("n", 1, 0)])).toMatch(/invalid budget take/);
    expect(await refusal([take("n", 2 ** 53)])).toMatch(/invalid budget take/);
    expect(await budget.used("n", today)).toBe(0);
    expect(await rowsOf(budget)).toBe(0);
  });

  it("counts on its own clock and says which day a refusal was on", async () => {
    const budget = fresh();
    expect(await budget.take([take("c", 900)])).toBeNull();
    expect(await budget.take([take("c", 200)])).toEqual({ key: "c", cap: 1_000, used: 900, day: today });
  });

  it("a refused first take of the day leaves the purge to the next take, which arms it", async () => {
    const budget = fresh();
    expect(await budget.take([take("big", 2_000)])).toMatchObject({ key: "big" });
    expect(await alarmOf(budget)).toBeNull();
    expect(await budget.take([take("small", 1)])).toBeNull();
    expect(await alarmOf(budget)).toBe((today + 2) * 86_400_000);
  });

  it("arms its purge on the first take of a day, for two days later", async () => {
    const budget = fresh();
    expect(await alarmOf(budget)).toBeNull();
    expect(await budget.take([take("t", 1)])).toBeNull();
    expect(await alarmOf(budget)).toBe((today + 2) * 86_400_000);
  });

  it("a first take that finds rows past their day (a purge that failed every retry) arms the purge at once", async () => {
    const budget = fresh();
    await plant(budget, today - 3, 2);
    expect(await budget.take([take("now", 1)])).toBeNull();
    expect(await alarmOf(budget)).toBeLessThanOrEqual(Date.now());
  });

  it("purges days before yesterday in chunks, never inside a take, and then waits for the oldest day left", async () => {
    const budget = fresh();
    await plant(budget, today - 3, PURGE_CHUNK + 10);
    await plant(budget, today - 1, 3);
    expect(await budget.take([take("today", 1)])).toBeNull();
    // The take deleted nothing: the purge is the alarm's.
    expect(await rowsOf(budget)).toBe(PURGE_CHUNK + 14);
    expect(await runDurableObjectAlarm(budget)).toBe(true);
    expect(await rowsOf(budget)).toBe(14);
    // More old rows left: it runs again at once.
    expect(await alarmOf(budget)).toBeLessThanOrEqual(Date.now());
    expect(await runDurableObjectAlarm(budget)).toBe(true);
    expect(await rowsOf(budget)).toBe(4);
    expect(await budget.used("today", today)).toBe(1);
    // Yesterday's rows are the oldest left: they expire at the end of today.
    expect(await alarmOf(budget)).toBe((today + 1) * 86_400_000);
  });
});

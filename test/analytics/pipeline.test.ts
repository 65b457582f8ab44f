import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eraseUserEvents, ingestEvents } from "../../src/analytics/events.service";
import { type IngestMessage, MAX_MESSAGE_BYTES, packMessages } from "../../src/analytics/ingest-queue";
import { analyticsSink } from "../../src/analytics/on-event";
import { toJsonRow } from "../../src/analytics/store";
import type { DomainEvent } from "../../src/events/types";
import { ApiError } from "../../src/platform/errors";
import { testDeps } from "../helpers/deps";
import { eventually } from "../helpers/eventually";
import { expectEnvelope, postJson } from "../helpers/http";
import { budgetUsed, consumeQueue, DAY, freshMonday } from "./helpers";

const adb = env.ANALYTICS_DB;
const one = async <T>(q: string, ...args: unknown[]) =>
  adb
    .prepare(q)
    .bind(...args)
    .first<T>();
const countEvents = async (where: string, ...args: unknown[]) =>
  (await one<{ n: number }>(`SELECT COUNT(*) AS n FROM analytics_events WHERE ${where}`, ...args))?.n ?? 0;
const dailyOf = async (day: number) =>
  (await one<{ n: number | null }>("SELECT SUM(events) AS n FROM analytics_daily WHERE day = ?", day))?.n ??
  0;

/** Rows as the producer queues them: fresh ids, in a day of the past no other test writes. */
function messageRows(n: number, at: number, session = crypto.randomUUID(), user: string | null = null) {
  return Array.from({ length: n }, (_, i) =>
    toJsonRow({
      id: crypto.randomUUID(),
      eventType: "page_view",
      userId: user,
      sessionId: session,
      page: `/p${i % 3}`,
      element: null,
      source: null,
      properties: { i },
      occurredAt: at + i,
      receivedAt: at + i,
    }),
  );
}

const consume = consumeQueue;

describe("ingest queue consumer", () => {
  it("writes a whole batch of messages, and a redelivered batch changes nothing, rollups included", async () => {
    const at = freshMonday() + 3 * 3_600_000;
    const day = Math.floor(at / DAY);
    const bodies: IngestMessage[] = Array.from({ length: 30 }, () => ({ v: 1, rows: messageRows(100, at) }));
    const first = await consume("analytics-ingest", bodies);
    expect(first.result.explicitAcks).toHaveLength(30);
    expect(await dailyOf(day)).toBe(3000);
    const sessions = await one<{ n: number }>(
      `SELECT SUM(events) AS n FROM analytics_sessions WHERE session_id IN (${bodies.map(() => "?").join(",")})`,
      ...bodies.map((b) => b.rows[0]?.session),
    );
    expect(sessions?.n).toBe(3000);
    // The Queue delivers at least once: the same messages again, and in parallel twice more.
    await consume("analytics-ingest", bodies);
    await Promise.all([consume("analytics-ingest", bodies), consume("analytics-ingest", bodies.slice(3, 9))]);
    expect(await dailyOf(day)).toBe(3000);
    expect(await countEvents("occurred_at >= ? AND occurred_at < ?", day * DAY, (day + 1) * DAY)).toBe(3000);
    const again = await one<{ n: number }>(
      `SELECT SUM(events) AS n FROM analytics_sessions WHERE session_id IN (${bodies.map(() => "?").join(",")})`,
      ...bodies.map((b) => b.rows[0]?.session),
    );
    expect(again?.n).toBe(3000);
  });

  it("a poison message goes to the DLQ without blocking the rest of its batch", async () => {
    const at = freshMonday() + 3_600_000;
    const good: IngestMessage = { v: 1, rows: messageRows(5, at) };
    const poison = { v: 1, rows: [{ id: "x", type: "not-an-event" }] };
    const { batch, result } = await consume("analytics-ingest", [
      good,
      poison,
      { ...good, rows: messageRows(5, at) },
    ]);
    const ids = batch.messages.map((m) => m.id);
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    expect(result.retryMessages).toEqual([]);
    expect(await countEvents("occurred_at >= ? AND occurred_at < ?", at, at + DAY)).toBe(10);
    // The DLQ's consumer keeps it for inspection (real queue: ANALYTICS_DLQ → analytics-dlq).
    const kept = await eventually(
      () =>
        one<{ body: string }>(
          "SELECT body FROM analytics_dead_letters WHERE body = ?",
          JSON.stringify(poison),
        ),
      "the poison message in analytics_dead_letters",
    );
    expect(JSON.parse(kept.body)).toEqual(poison);
  });
});

describe("POST /analytics/events through the queue", () => {
  it("answers 503 with Retry-After when sendBatch fails, and keeps the bytes counted (it may have enqueued)", async () => {
    const deps = testDeps();
    const real = deps.env.ANALYTICS_QUEUE;
    let enqueued = 0;
    // The queue accepted the messages; its answer never reached the Worker.
    const lossy = {
      ...deps,
      env: {
        ...deps.env,
        ANALYTICS_QUEUE: {
          send: real.send.bind(real),
          sendBatch: async (m: Parameters<Queue["sendBatch"]>[0]) => {
            await real.sendBatch(m);
            enqueued++;
            throw new Error("Network connection lost.");
          },
        } as unknown as Queue,
      },
    };
    const session = crypto.randomUUID();
    const ip = `ip-${crypto.randomUUID()}`;
    const err = await ingestEvents(lossy, [{ event_type: "page_view", session_id: session }], null, ip).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("UPSTREAM_UNAVAILABLE");
    expect((err as ApiError).headers?.["Retry-After"]).toBe("5");
    expect(enqueued).toBe(1);
    // Over-counted, never under: the events are in the queue, so their bytes stay counted.
    const ipBytes = await budgetUsed("ip", ip);
    expect(ipBytes).toBeGreaterThan(0);
    expect(await budgetUsed("s", session)).toBe(ipBytes);
  });

  const overloaded = Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), {
    overloaded: true,
  });
  const stubWith = (take: () => Promise<never>) => ({ getByName: () => ({ take }) });
  it.each([
    [
      "its RPC fails",
      stubWith(() => Promise.reject(new Error("Durable Object reset because its code was updated"))),
      "5",
    ],
    [
      "it is overloaded (a longer wait: not to be retried at once)",
      stubWith(() => Promise.reject(overloaded)),
      "30",
    ],
    [
      "no stub can be made",
      {
        getByName: () => {
          throw new TypeError("binding missing");
        },
      },
      "5",
    ],
  ])(
    "answers 503 with Retry-After when the budget object fails (%s), and queues nothing",
    async (_, binding, wait) => {
      const deps = testDeps();
      let sent = 0;
      const failing = {
        ...deps,
        env: {
          ...deps.env,
          INGEST_BUDGET: binding as unknown as Env["INGEST_BUDGET"],
          ANALYTICS_QUEUE: {
            send: async () => {
              sent++;
            },
            sendBatch: async () => {
              sent++;
            },
          } as unknown as Queue,
        },
      };
      const session = crypto.randomUUID();
      const ip = `ip-${crypto.randomUUID()}`;
      const err = await ingestEvents(
        failing,
        [{ event_type: "page_view", session_id: session }],
        null,
        ip,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe("UPSTREAM_UNAVAILABLE");
      expect((err as ApiError).headers?.["Retry-After"]).toBe(wait);
      expect(sent).toBe(0);
    },
  );

  it("refuses with 413 what would not fit one sendBatch, before anything is queued or counted", async () => {
    const session = crypto.randomUUID();
    const ip = `ip-${crypto.randomUUID()}`;
    const events = Array.from({ length: 60 }, (_, i) => ({
      event_type: "page_view",
      session_id: session,
      properties: { i, pad: "x".repeat(3980) },
    }));
    const res = await postJson("/api/v1/analytics/events", { events }, { "cf-connecting-ip": ip });
    await expectEnvelope(res, 413, "PAYLOAD_TOO_LARGE");
    expect(await budgetUsed("ip", ip)).toBe(0);
  });

  it("packs rows into messages under the Queue's 128 KB, all in one sendBatch", () => {
    const rows = messageRows(100, Date.UTC(2001, 0, 1)).map((r) => ({ ...r, props: "x".repeat(2000) }));
    const messages = packMessages(rows);
    expect(messages?.length).toBeGreaterThan(1);
    for (const m of messages ?? []) expect(JSON.stringify(m).length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(messages?.flatMap((m) => m.rows)).toEqual(rows);
  });
});

describe("ingest byte budgets per IP and globally (issue 13 review)", () => {
  /** One request with 20 events of ~1 KB over 5 fresh sessions (as a rotating client does). */
  const batch = () => {
    const sessions = Array.from({ length: 5 }, () => crypto.randomUUID());
    return Array.from({ length: 20 }, (_, i) => ({
      event_type: "page_view",
      session_id: sessions[i % 5],
      properties: { pad: "y".repeat(1000) },
    }));
  };
  const withCaps = (caps: { ip?: number; global?: number }) => {
    const deps = testDeps();
    return {
      ...deps,
      config: {
        ...deps.config,
        ANALYTICS_IP_DAILY_BYTES: caps.ip ?? deps.config.ANALYTICS_IP_DAILY_BYTES,
        ANALYTICS_GLOBAL_DAILY_BYTES: caps.global ?? deps.config.ANALYTICS_GLOBAL_DAILY_BYTES,
      },
    };
  };

  it("one IP rotating session ids is stopped by its own budget, exactly, under parallel requests", async () => {
    const ip = `ip-${crypto.randomUUID()}`;
    const deps = withCaps({ ip: 100_000 });
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => ingestEvents(deps, batch(), null, ip)),
    );
    const bytes = await budgetUsed("ip", ip);
    const ok = results.filter((r) => r.status === "fulfilled").length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThan(12);
    expect(bytes).toBeLessThanOrEqual(100_000);
    // Each accepted request took ~21 KB; the refused ones took nothing.
    expect(bytes).toBeGreaterThan(ok * 20_000);
    expect(bytes).toBeLessThan((ok + 1) * 20_000);
    for (const r of results) {
      if (r.status === "rejected") {
        expect(r.reason).toBeInstanceOf(ApiError);
        expect((r.reason as ApiError).code).toBe("RATE_LIMITED");
        expect((r.reason as ApiError).details).toMatchObject({ limit: "ip_daily_bytes", cap_bytes: 100_000 });
      }
    }
  });

  it("one host rotating IPv6 addresses inside its /64 is stopped by one IP budget", async () => {
    const hextet = () => Math.floor(Math.random() * 0xfffe);
    const [a, b] = [hextet(), hextet()];
    const net = (last: number) => `2001:db8:${a.toString(16)}:${last.toString(16)}`;
    const prefix = net(b);
    const deps = withCaps({ ip: 50_000 });
    const results = [];
    for (let i = 1; i <= 4; i++) {
      results.push(
        await ingestEvents(deps, batch(), null, `${prefix}::${i.toString(16)}`).then(
          () => "accepted",
          (e: ApiError) => `${e.code}:${String((e.details as Record<string, unknown> | undefined)?.limit)}`,
        ),
      );
    }
    // ~21 KB a request: two fit 50 KB, the third and fourth address of the same /64 do not.
    expect(results).toEqual([
      "accepted",
      "accepted",
      "RATE_LIMITED:ip_daily_bytes",
      "RATE_LIMITED:ip_daily_bytes",
    ]);
    // Another /64 has its own budget.
    await expect(ingestEvents(deps, batch(), null, `${net(b + 1)}::1`)).resolves.toMatchObject({
      accepted: 20,
    });
  });

  it("a refusal's Retry-After runs to the end of the refusing day, the object's, not this clock's", async () => {
    const deps = testDeps();
    const day = Math.floor(Date.now() / DAY);
    // The object still counted yesterday when this Worker's clock had just passed midnight.
    const refusing = {
      ...deps,
      env: {
        ...deps.env,
        INGEST_BUDGET: {
          getByName: () => ({
            take: async (takes: { key: string; cap: number }[]) => ({ ...takes[0], used: 1, day: day - 1 }),
          }),
        } as unknown as Env["INGEST_BUDGET"],
      },
    };
    const err = await ingestEvents(
      refusing,
      [{ event_type: "page_view", session_id: crypto.randomUUID() }],
      null,
      `ip-${crypto.randomUUID()}`,
      day * DAY + 500,
    ).catch((e: unknown) => e);
    expect((err as ApiError).code).toBe("RATE_LIMITED");
    expect((err as ApiError).headers?.["Retry-After"]).toBe("1");
  });

  it("after a refusal, an isolate refuses what the object would refuse without asking it, and only that", async () => {
    const ip = `ip-${crypto.randomUUID()}`;
    const base = withCaps({ ip: 30_000 });
    let calls = 0;
    const real = base.env.INGEST_BUDGET;
    const deps = {
      ...base,
      env: {
        ...base.env,
        INGEST_BUDGET: {
          getByName: (name: string) => {
            const stub = real.getByName(name);
            return {
              take: (...args: Parameters<typeof stub.take>) => {
                calls++;
                return stub.take(...args);
              },
            };
          },
        } as unknown as Env["INGEST_BUDGET"],
      },
    };
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "accepted",
        (e: ApiError) => e.code,
      );
    expect(await code(ingestEvents(deps, batch(), null, ip))).toBe("accepted");
    expect(await code(ingestEvents(deps, batch(), null, ip))).toBe("RATE_LIMITED");
    expect(calls).toBe(2);
    // The object said ~21 KB were used: another ~21 KB cannot fit 30 KB, so no call is made…
    const local = await ingestEvents(deps, batch(), null, ip).catch((e: unknown) => e);
    expect((local as ApiError).details).toMatchObject({ limit: "ip_daily_bytes", cap_bytes: 30_000 });
    expect(calls).toBe(2);
    // …but a small batch that still fits is asked about, and accepted.
    const small = [
      { event_type: "page_view", session_id: crypto.randomUUID(), properties: { pad: "z".repeat(500) } },
    ];
    expect(await code(ingestEvents(deps, small, null, ip))).toBe("accepted");
    expect(calls).toBe(3);
  });

  it("many IPs together are stopped by the global budget, exactly, under parallel requests", async () => {
    const used = await budgetUsed("global");
    const cap = used + 100_000;
    const deps = withCaps({ global: cap });
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => ingestEvents(deps, batch(), null, `ip-${crypto.randomUUID()}`)),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThan(12);
    const refused = results.find((r) => r.status === "rejected");
    if (!refused) throw new Error("no request was refused by the global budget");
    expect((refused.reason as ApiError).details).toMatchObject({ limit: "global_daily_bytes" });
    const after = await budgetUsed("global");
    expect(after).toBeLessThanOrEqual(cap);
    expect(after - used).toBeGreaterThan(ok * 20_000);
  });
});

describe("erasure wins over writes still on their way (issue 13 review)", () => {
  it("a retried payment sink delivery after the erasure does not bring the user's event back", async () => {
    const user = crypto.randomUUID();
    const event: DomainEvent = {
      id: `payment.succeeded:${crypto.randomUUID()}`,
      type: "payment.succeeded",
      occurred_at: Date.now() - 60_000,
      source: "test",
      data: {
        payment_id: crypto.randomUUID(),
        user_id: user,
        merchant_id: null,
        amount: 100,
        currency: "usd",
      },
    };
    const deps = testDeps();
    await analyticsSink.handle(event, deps);
    expect(await countEvents("user_id = ?", user)).toBe(1);
    await eraseUserEvents(deps, { userId: "admin", role: "admin", merchantId: null }, user);
    expect(await countEvents("user_id = ?", user)).toBe(0);
    // The sink's delivery row was still pending (say its lease ran out): the retry job runs it again.
    await analyticsSink.handle(event, deps);
    expect(await countEvents("user_id = ?", user)).toBe(0);
  });

  it("events queued before the erasure and consumed after it are not written, nor counted", async () => {
    const user = crypto.randomUUID();
    const session = crypto.randomUUID();
    const at = Date.now() - 120_000;
    const deps = testDeps();
    const rows = messageRows(3, at, session, user);
    const anonymous = messageRows(2, at, session, null);
    await consume("analytics-ingest", [{ v: 1, rows: messageRows(1, at - 1000, session, user) }]);
    await eraseUserEvents(deps, { userId: "admin", role: "admin", merchantId: null }, user);
    const activityBefore = await one<{ n: number | null }>(
      "SELECT SUM(events) AS n FROM analytics_activity WHERE bucket = ?",
      Math.floor(at / 900_000),
    );
    await consume("analytics-ingest", [{ v: 1, rows: [...rows, ...anonymous] }]);
    expect(await countEvents("session_id = ?", session)).toBe(0);
    const activityAfter = await one<{ n: number | null }>(
      "SELECT SUM(events) AS n FROM analytics_activity WHERE bucket = ?",
      Math.floor(at / 900_000),
    );
    expect(activityAfter?.n ?? 0).toBe(activityBefore?.n ?? 0);
    expect(await one("SELECT 1 FROM analytics_user_days WHERE user_id = ?", user)).toBeNull();
    // Activity after the erasure is new activity, and is recorded.
    await consume("analytics-ingest", [{ v: 1, rows: messageRows(1, Date.now() + 1000, session, user) }]);
    expect(await countEvents("user_id = ?", user)).toBe(1);
  });
});

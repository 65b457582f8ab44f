import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { budgetUsed } from "./helpers";

/**
 * Ingest takes its sessions' rate limits in parallel (events.service.ts). Through the real app,
 * with a scripted ANALYTICS_SESSION_RATE_LIMITER (per key: delay, then refuse / allow / throw).
 */
type Plan = { wait: number; outcome: "ok" | "refuse" | "throw" };

function scripted(plans: Map<string, Plan>) {
  const calls: string[] = [];
  let inFlight = 0;
  let most = 0;
  const limiter = {
    limit: async ({ key }: { key: string }) => {
      calls.push(key);
      most = Math.max(most, ++inFlight);
      const plan = plans.get(key) ?? { wait: 0, outcome: "ok" };
      await scheduler.wait(plan.wait);
      inFlight--;
      if (plan.outcome === "throw") throw new Error(`binding down for ${key}`);
      return { success: plan.outcome === "ok" };
    },
  };
  return { limiter, calls, inFlight: () => inFlight, most: () => most };
}

async function post(sessions: string[], plans: Map<string, Plan>) {
  const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
  const s = scripted(plans);
  let sent = 0;
  let points = 0;
  const testEnv = {
    ...env,
    ANALYTICS_SESSION_RATE_LIMITER: s.limiter,
    ANALYTICS_QUEUE: { send: async () => {}, sendBatch: async () => void sent++ },
    ANALYTICS: { writeDataPoint: () => void points++ },
  };
  const ctx = createExecutionContext();
  const res = await createApp().request(
    "http://x/api/v1/analytics/events",
    {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": ip },
      body: JSON.stringify({
        events: sessions.map((session_id) => ({ event_type: "page_view", session_id })),
      }),
    },
    testEnv,
    ctx,
  );
  // Let every take still in flight settle (a late rejection must not go unhandled).
  while (s.inFlight() > 0) await scheduler.wait(1);
  await waitOnExecutionContext(ctx);
  const body = (await res.json()) as { accepted?: number; error?: { code: string } };
  const ipBytes = await budgetUsed("ip", ip);
  return { res, body, sent, points, calls: s.calls, most: s.most(), ipBytes };
}

const key = (s: string) => `ingest-session:${s}`;

describe("ingest session rate limits, taken in parallel", () => {
  it("takes every session's limit at once; one refused session refuses the request with nothing queued", async () => {
    const sessions = Array.from({ length: 5 }, () => crypto.randomUUID());
    const plans = new Map(sessions.map((s) => [key(s), { wait: 5, outcome: "ok" } as Plan]));
    plans.set(key(sessions[3] ?? ""), { wait: 5, outcome: "refuse" });
    const r = await post(sessions, plans);
    expect(r.res.status).toBe(429);
    expect(r.res.headers.get("retry-after")).toBe("60");
    expect(r.most).toBe(5);
    expect([...r.calls].sort()).toEqual(sessions.map(key).sort());
    expect([r.sent, r.ipBytes]).toEqual([0, 0]);
    // Without the refused session the same request goes through, every take in parallel again.
    const ok = await post(
      sessions.filter((_, i) => i !== 3),
      plans,
    );
    expect(ok.res.status).toBe(202);
    expect(ok.body.accepted).toBe(4);
    expect(ok.most).toBe(4);
    expect(ok.sent).toBe(1);
  });

  it("binding down for every session: 503 with Retry-After, nothing queued, counted or written; late rejections handled", async () => {
    const sessions = Array.from({ length: 5 }, () => crypto.randomUUID());
    const plans = new Map(sessions.map((s, i) => [key(s), { wait: 1 + 3 * i, outcome: "throw" } as Plan]));
    const r = await post(sessions, plans);
    expect(r.res.status).toBe(503);
    expect(r.res.headers.get("retry-after")).toBe("5");
    expect(r.body.error?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect([r.sent, r.points, r.ipBytes]).toEqual([0, 0, 0]);
  });

  it("one refusal among slow and failing takes: 429, Retry-After 60, nothing queued, counted or written", async () => {
    const sessions = Array.from({ length: 5 }, () => crypto.randomUUID());
    const plans = new Map(sessions.map((s) => [key(s), { wait: 20, outcome: "ok" } as Plan]));
    plans.set(key(sessions[2] ?? ""), { wait: 1, outcome: "refuse" });
    plans.set(key(sessions[4] ?? ""), { wait: 10, outcome: "throw" });
    const r = await post(sessions, plans);
    expect(r.res.status).toBe(429);
    expect(r.res.headers.get("retry-after")).toBe("60");
    expect(r.body.error?.code).toBe("RATE_LIMITED");
    expect([r.sent, r.points, r.ipBytes]).toEqual([0, 0, 0]);
  });

  // The first failure in batch order answers, whatever settles first (a fresh-context review
  // found the first version answering 500 here by timing).
  it("which failure answers depends on the batch's order, not on the binding's timing", async () => {
    // Two sessions: the first in the batch fails slowly, the second fails fast the other way.
    const slowFirst = (first: Plan["outcome"], second: Plan["outcome"]) => {
      const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
      const plans = new Map<string, Plan>([
        [key(a), { wait: 15, outcome: first }],
        [key(b), { wait: 1, outcome: second }],
      ]);
      return post([a, b], plans);
    };
    const refusedFirst = await slowFirst("refuse", "throw");
    expect(refusedFirst.res.status).toBe(429);
    expect(refusedFirst.res.headers.get("retry-after")).toBe("60");
    // …and the other way round: the binding error first in the batch answers, though it settles last.
    const thrownFirst = await slowFirst("throw", "refuse");
    expect(thrownFirst.res.status).toBe(503);
    expect(thrownFirst.body.error?.code).toBe("UPSTREAM_UNAVAILABLE");
  });
});

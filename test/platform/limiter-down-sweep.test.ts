import { describe, expect, it } from "vitest";
import { ROLES } from "../../src/platform/types";
import { newCaller } from "../helpers/auth";
import { apiWithEnv, expectEnvelope } from "../helpers/http";
import { openApiDoc } from "../helpers/openapi";

/**
 * From the hostile review of 083a97d (the limiter's 503), through the real app with every rate-limit binding of wrangler.toml
 * throwing: each documented operation is called by each role (twice, so the read routes'
 * pre-check is past its first unawaited take), and what it answers is compared with what the
 * OpenAPI document says it can answer.
 */
const LIMITERS = [
  "PAYMENT_RATE_LIMITER",
  "AUTH_RATE_LIMITER",
  "ANALYTICS_IP_RATE_LIMITER",
  "ANALYTICS_SESSION_RATE_LIMITER",
  "TICKET_RATE_LIMITER",
  "ATTACHMENT_RATE_LIMITER",
] as const;
const LIMITER_DOWN_MESSAGE = "Rate limiting is unavailable; retry shortly";

const calls: string[] = [];
const down = {
  limit: ({ key }: { key: string }) => {
    calls.push(key);
    return Promise.reject(new Error("rate limiter unreachable"));
  },
};
const allDown = Object.fromEntries(LIMITERS.map((n) => [n, down]));
// Nothing queued or pushed by a request that should have been refused.
const noQueue = {
  send: async () => {
    throw new Error("queue used behind a failing limiter");
  },
  sendBatch: async () => {
    throw new Error("queue used behind a failing limiter");
  },
};

const call = (method: string, path: string, headers: Record<string, string>, body?: BodyInit) =>
  apiWithEnv(path, { method: method.toUpperCase(), headers, body }, allDown, () => {});

type Outcome = { status: number; code?: string; message?: string; retryAfter: string | null };

async function outcome(res: Response): Promise<Outcome> {
  const retryAfter = res.headers.get("retry-after");
  const text = await res.text();
  try {
    const j = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return { status: res.status, code: j.error?.code, message: j.error?.message, retryAfter };
  } catch {
    return { status: res.status, retryAfter };
  }
}

const isLimiterDown = (o: Outcome) => o.status === 503 && o.message === LIMITER_DOWN_MESSAGE;

function requestFor(
  method: string,
  path: string,
  op: { requestBody?: { content?: Record<string, unknown> } },
) {
  const concrete = path.replace(/\{[^}]+\}/g, () => crypto.randomUUID());
  const headers: Record<string, string> = {
    "idempotency-key": crypto.randomUUID(),
    "cf-connecting-ip": "203.0.113.7",
    "stripe-signature": "t=1,v1=00",
  };
  let body: BodyInit | undefined;
  if (op.requestBody) {
    const types = Object.keys(op.requestBody.content ?? {});
    if (types.includes("application/json")) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(
        concrete.endsWith("/analytics/events")
          ? { events: [{ event_type: "page_view", session_id: crypto.randomUUID() }] }
          : {},
      );
    } else {
      headers["content-type"] = "application/octet-stream";
      body = "hello";
    }
  }
  const q = concrete.endsWith("/attachments") ? "?filename=a.txt" : "";
  return { path: concrete + q, headers, body, method };
}

describe("every operation with every rate-limit binding down", () => {
  it("answers the limiter's 503 exactly where the document lists it, with the shared envelope and Retry-After: 5", async () => {
    const doc = (await openApiDoc()) as unknown as {
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content?: Record<string, unknown> };
            responses: Record<
              string,
              { description?: string; content?: Record<string, { schema?: unknown }> }
            >;
          }
        >
      >;
    };
    const problems: string[] = [];
    const hitOps: string[] = [];
    for (const [docPath, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${docPath}`;
        const seen: Outcome[] = [];
        for (const role of ROLES) {
          const who = await newCaller(role);
          for (let i = 0; i < 2; i++) {
            const r = requestFor(method, docPath, op);
            const res = await call(
              method,
              r.path,
              { ...r.headers, authorization: who.headers.authorization },
              r.body,
            );
            const o = await outcome(res.clone());
            seen.push(o);
            if (isLimiterDown(o)) {
              await expectEnvelope(res, 503, "UPSTREAM_UNAVAILABLE");
              if (o.retryAfter !== "5")
                problems.push(`${name}: limiter 503 with Retry-After ${o.retryAfter}`);
            }
            if (o.status === 500) problems.push(`${name} (${role}): 500 ${o.code} ${o.message}`);
          }
        }
        const hit = seen.some(isLimiterDown);
        if (hit) hitOps.push(name);
        const r503 = op.responses["503"];
        const documented503 = (r503?.description ?? "").includes("UPSTREAM_UNAVAILABLE");
        const schema = JSON.stringify(r503?.content?.["application/json"]?.schema ?? null);
        if (hit && !documented503) problems.push(`${name}: answers the limiter's 503, not documented`);
        if (hit && !schema.includes("ErrorEnvelope"))
          problems.push(`${name}: 503 without the ErrorEnvelope schema`);
        if (op.responses["429"] && !hit) problems.push(`${name}: documents 429 but never hit a limiter`);
      }
    }
    expect(problems).toEqual([]);
    // The sweep reached the limiters: all 16 rate-limited operations (payments, subscriptions,
    // ticket creation, attachment upload, connect tickets, analytics ingest).
    expect(hitOps.length).toBe(16);
  });

  it("a failed WebSocket authentication with AUTH_RATE_LIMITER down is refused (503 envelope, never 101 or 500)", async () => {
    const attempts: Record<string, string>[] = [
      { upgrade: "websocket", authorization: "Bearer not-a-jwt" },
      { upgrade: "websocket", "sec-websocket-protocol": "bearer, not-a-jwt" },
      { upgrade: "websocket" },
    ];
    for (const headers of attempts) {
      const res = await call("get", `/ws/support/${crypto.randomUUID()}?ticket=nope`, {
        ...headers,
        "cf-connecting-ip": "203.0.113.9",
      });
      expect(res.headers.get("retry-after")).toBe("5");
      await expectEnvelope(res, 503, "UPSTREAM_UNAVAILABLE");
    }
  });

  it("analytics ingest with the IP limiter down queues nothing and writes no Analytics Engine point", async () => {
    let points = 0;
    const res = await apiWithEnv(
      "/api/v1/analytics/events",
      {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": "203.0.113.10" },
        body: JSON.stringify({ events: [{ event_type: "page_view", session_id: crypto.randomUUID() }] }),
      },
      {
        ANALYTICS_IP_RATE_LIMITER: down,
        ANALYTICS_QUEUE: noQueue,
        ANALYTICS: { writeDataPoint: () => void points++ },
      },
    );
    expect(res.headers.get("retry-after")).toBe("5");
    await expectEnvelope(res, 503, "UPSTREAM_UNAVAILABLE");
    expect(points).toBe(0);
  });
});

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openApiDoc } from "../helpers/openapi";
import { assertProperty } from "../helpers/property";
import { signPayload } from "../helpers/stripe";
import { type Params, TABLE } from "./authz-table";
import {
  api,
  type CallerName,
  type Callers,
  changedTables,
  createNotification,
  createPayment,
  createSubscription,
  createTicket,
  envelopeProblem,
  fingerprint,
  makeCallers,
  settle,
  warm,
} from "./fixtures";
import { hostileCase, type RawCase } from "./hostile-arbitraries";

/**
 * Property: whatever a client sends to a JSON endpoint, the answer is never a 5xx, every
 * non-2xx carries the error envelope, and a rejected request leaves every table exactly as
 * it was (row counts and content). The JSON endpoints come from the OpenAPI document.
 */

const RUNS = 60;
const WEBHOOK = "POST /api/v1/payments/webhook";
/**
 * Counterexamples earlier random passes found, replayed first on every run (fast-check
 * `examples`). Issue 19, seed -461762348: a signed event whose object has no id answered 500.
 */
const FOUND: Record<string, RawCase[]> = {
  [WEBHOOK]: [
    {
      kind: "field:data.object",
      body: '{"id":"evt_fuzz","object":"event","type":"payment_intent.succeeded","created":1700000000,"data":{"object":{}}}',
      contentType: "application/json",
    },
  ],
};
// Pools of identities: payment routes are rate limited per user (30/min), so cases rotate callers.
const POOL = 16;
// The webhook is not a JSON-schema body in the document (it is read raw), but it takes JSON.
const RAW_JSON_ROUTES = [WEBHOOK];
// Devices last: once one exists, later successful sends would queue pushes that land asynchronously.
const LAST = "POST /api/v1/notifications/register-device";

// Valid bodies with the nested parts worth attacking (the authz table's bodies are minimal).
const BASES: Record<string, Record<string, unknown>> = {
  "POST /api/v1/analytics/events": {
    events: [{ event_type: "page_view", session_id: "s-fuzz", page: "/", properties: { plan: "pro" } }],
  },
  "POST /api/v1/payments/webhook": {
    id: "evt_fuzz",
    object: "event",
    type: "payment_intent.succeeded",
    created: 1_700_000_000,
    data: { object: { id: "pi_fuzz", object: "payment_intent", amount: 100, metadata: {} } },
  },
  "POST /api/v1/payments/create-intent": {
    amount: 1500,
    currency: "usd",
    description: "fuzz",
    metadata: { order: "o-1" },
  },
};

let pools: Callers[] = [];
let params: Params = {};
let cases = 0;
const statuses: Record<number, number> = {};
const endpoints: Array<{ key: string; fields: string[] }> = [];

async function jsonEndpoints(): Promise<Array<{ key: string; fields: string[] }>> {
  const doc = await openApiDoc();
  const out: Array<{ key: string; fields: string[] }> = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const key = `${method.toUpperCase()} ${path}`;
      let schema = op.requestBody?.content?.["application/json"]?.schema;
      if (!schema && !RAW_JSON_ROUTES.includes(key)) continue;
      if (schema?.$ref) schema = doc.components?.schemas?.[schema.$ref.split("/").pop() ?? ""];
      out.push({ key, fields: Object.keys(schema?.properties ?? { id: 1, type: 1, data: 1 }) });
    }
  }
  return out.sort((a, b) => Number(a.key === LAST) - Number(b.key === LAST));
}

/**
 * The first caller the authorization table lets through, so validation (not authz) is what we
 * probe; a 422 is past authorization too (the plan-change fixture is a free subscription).
 */
function allowedCaller(key: string): CallerName {
  const expect = TABLE[key]?.expect;
  const through = (status: number) => status < 300 || status === 422;
  const ok = (["user", "admin", "service", "anonymous"] as const).find((n) => through(expect?.[n] ?? 500));
  if (!ok) throw new Error(`no caller may call ${key}`);
  return ok;
}

const fill = (path: string) => path.replace(/\{(\w+)\}/g, (_, n: string) => params[n] ?? "missing");

async function send(key: string, c: RawCase, who: Callers[CallerName]): Promise<Response> {
  const [method = "", path = ""] = key.split(" ");
  const headers: Record<string, string> = { ...who.headers };
  if (c.contentType) headers["content-type"] = c.contentType;
  if (c.idempotencyKey) headers["idempotency-key"] = c.idempotencyKey;
  if (key === WEBHOOK) {
    // Half the cases are genuinely signed, so the hostile body reaches the event handling itself.
    headers["stripe-signature"] =
      c.body.length % 2 === 0
        ? await signPayload(c.body)
        : `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}`;
  }
  return api(fill(path), { method, headers, body: c.body });
}

describe("hostile input on every JSON endpoint", () => {
  beforeAll(async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    pools = await Promise.all(Array.from({ length: POOL }, () => makeCallers()));
    const c = pools[0] as Callers;
    for (const p of pools) await warm(...Object.values(p));
    params = {
      payment_id: await createPayment(c.user, true),
      id: await createTicket(c.user),
      subscription: await createSubscription(c.user),
      notification: await createNotification(c.user, c.admin),
    };
    endpoints.push(...(await jsonEndpoints()));
  });

  afterAll(() => {
    vi.restoreAllMocks();
    console.log(
      `hostile input: ${endpoints.length} JSON endpoints, ${cases} fuzz cases run; statuses ${JSON.stringify(statuses)}`,
    );
  });

  it("discovers the JSON endpoints from the OpenAPI document", () => {
    expect(endpoints.length).toBeGreaterThanOrEqual(14);
    for (const { key } of endpoints) expect(TABLE[key], `${key} has no authz row`).toBeDefined();
  });

  it("answers every hostile body with a 4xx envelope (or a success), and rejections change nothing", async () => {
    for (const { key, fields } of endpoints) {
      const row = TABLE[key];
      const name = allowedCaller(key);
      // The subscription cancel route uses {id} too; point it at the subscription.
      const routeParams = key.includes("/subscriptions/")
        ? { ...params, id: params.subscription ?? "" }
        : params;
      const base = BASES[key] ?? (await row?.body?.(routeParams, pools[0] as Callers)) ?? {};
      let turn = 0;
      await assertProperty(
        fc.asyncProperty(hostileCase(base as Record<string, unknown>, fields), async (c) => {
          const who = (pools[turn++ % POOL] as Callers)[name];
          const before = await fingerprint();
          const saved = params;
          params = routeParams;
          const res = await send(key, c, who).finally(() => {
            params = saved;
          });
          const text = await res.text();
          cases++;
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          const where = `${key} [${c.kind}] → ${res.status} ${text.slice(0, 300)}`;
          expect(res.status, where).toBeLessThan(500);
          if (res.status < 300) return void (await settle());
          expect(envelopeProblem(res.status, text), where).toBeNull();
          // Stripe's contract: a request that ran (404, 409, 422…) keeps its replay under the
          // client's Idempotency-Key; a 400 never ran, so it must leave nothing at all.
          const replayStored = (t: string) =>
            t === "idempotency_keys" && !!c.idempotencyKey && res.status !== 400;
          const changed = changedTables(before, await fingerprint()).filter((t) => !replayStored(t));
          expect(changed, where).toEqual([]);
        }),
        { numRuns: RUNS, fixedRuns: RUNS / 2, examples: (FOUND[key] ?? []).map((c) => [c] as [RawCase]) },
      );
    }
  }, 600_000); // Bounded by case count; the limit only guards against a hang on a loaded machine.
});

// History on the request's raw D1 session (deps.d1): the bookmark still comes back when the page's
// SELECT is the only statement, only the view's columns leave D1, and a D1 failure is the 500
// envelope with nothing internal in it.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BOOKMARK_HEADER } from "../../src/platform/d1-session";
import { newCaller } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { expectEnvelope } from "../helpers/http";
import { get, paidPayment } from "./helpers";

afterEach(() => vi.restoreAllMocks());

/** Wraps every session DB.withSession opens, counting the statements prepared on it. */
function countSessionStatements(fail?: string) {
  const original = env.DB.withSession.bind(env.DB);
  const sql: string[] = [];
  vi.spyOn(env.DB, "withSession").mockImplementation((start) => {
    const s = original(start);
    return new Proxy(s, {
      get(target, prop) {
        if (prop === "prepare")
          return (q: string) => {
            sql.push(q);
            if (fail && q.includes(fail)) throw new Error("D1_ERROR: injected network failure");
            return target.prepare(q);
          };
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  });
  return sql;
}

describe("payment history on deps.d1", () => {
  it("sets x-d1-bookmark when the history SELECT is the request's only D1 statement", async () => {
    const user = await newCaller("user");
    await paidPayment(user, 1234);
    // Warm the users directory cache, so the next request makes no directory write.
    await bodyOf(await get("/api/v1/payments/history", user), "GET /payments/history", 200);

    const sql = countSessionStatements();
    const res = await get("/api/v1/payments/history", user);
    const page = await bodyOf(res, "GET /payments/history", 200);
    expect(sql).toHaveLength(1);
    expect(sql[0]).toMatch(/^SELECT .* FROM payments WHERE user_id = \?/);
    // Only the view's columns: no Stripe ids, card or receipt columns leave D1.
    expect(sql[0]).not.toMatch(/stripe_|card_|receipt_/);
    expect(res.headers.get(BOOKMARK_HEADER)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
    expect(page.items[0]).toMatchObject({ amount: 1234, status: "succeeded", metadata: expect.any(Object) });
  });

  it("a D1 failure on the history SELECT is the 500 envelope, with nothing internal in it", async () => {
    const user = await newCaller("user");
    await bodyOf(await get("/api/v1/payments/history", user), "GET /payments/history", 200);
    countSessionStatements("FROM payments");
    const res = await get("/api/v1/payments/history", user);
    const body = await expectEnvelope(res, 500, "INTERNAL");
    expect(JSON.stringify(body)).not.toContain("injected");
  });
});

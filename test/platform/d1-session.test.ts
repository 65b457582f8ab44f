import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BOOKMARK_HEADER, MAX_BOOKMARK_CHARS } from "../../src/platform/d1-session";
import { bodyOf } from "../helpers/body";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { type OpenApiDoc, openApiDoc } from "../helpers/openapi";
import { get, newCaller, paidPayment } from "../payments/helpers";

// The shape D1 documents for bookmarks (Time Travel); the local D1 issues the same shape.
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

function bookmarkOf(res: Response, what: string): string {
  const value = res.headers.get(BOOKMARK_HEADER);
  if (!value || !BOOKMARK.test(value))
    throw new Error(`${what}: no D1 bookmark in ${BOOKMARK_HEADER}: ${value}`);
  return value;
}

/** Bookmarks order as strings (fixed-width hex), which is how D1's session picks the newest. */
const notOlder = (a: string, b: string) => a.localeCompare(b) >= 0;

afterEach(() => vi.restoreAllMocks());

describe("D1 sessions (read replicas)", () => {
  it("returns a bookmark on reads and writes, and a bookmark sent back round-trips", async () => {
    const user = await newCaller("user");
    const first = await get("/api/v1/payments/history", user);
    await bodyOf(first, "GET /payments/history", 200);
    const b1 = bookmarkOf(first, "first read");

    const again = await api("/api/v1/payments/history", {
      headers: { ...user.headers, [BOOKMARK_HEADER]: b1 },
    });
    await bodyOf(again, "GET /payments/history", 200);
    expect(notOlder(bookmarkOf(again, "read with bookmark"), b1)).toBe(true);

    // Browsers may send and read it: CORS allows and exposes the header.
    const preflight = await api("/api/v1/payments/history", {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:8787",
        "access-control-request-method": "GET",
        "access-control-request-headers": `authorization,${BOOKMARK_HEADER}`,
      },
    });
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(BOOKMARK_HEADER);
    expect(again.headers.get("access-control-expose-headers")?.toLowerCase()).toContain(BOOKMARK_HEADER);
  });

  it("a payment then a refund, each read back with the bookmark its write returned, is seen", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const p = await paidPayment(user, 4000);

    const refund = await postJson(
      `/api/v1/payments/${p.payment_id}/refund`,
      { amount: 1200, reason: "duplicate" },
      admin.headers,
    );
    await bodyOf(refund, "POST /payments/:payment_id/refund", 201);
    const afterRefund = bookmarkOf(refund, "refund");

    const detail = await api(`/api/v1/payments/${p.payment_id}`, {
      headers: { ...user.headers, [BOOKMARK_HEADER]: afterRefund },
    });
    const body = await bodyOf(detail, "GET /payments/:payment_id", 200);
    expect(body.refunds.map((r) => r.amount)).toEqual([1200]);
    expect(body.receipt).toMatchObject({ amount_refunded: 1200 });
    expect(notOlder(bookmarkOf(detail, "detail"), afterRefund)).toBe(true);

    const history = await api("/api/v1/payments/history", {
      headers: { ...user.headers, [BOOKMARK_HEADER]: afterRefund },
    });
    const page = await bodyOf(history, "GET /payments/history", 200);
    expect(page.items.find((i) => i.payment_id === p.payment_id)).toMatchObject({ amount_refunded: 1200 });
  });

  it("reads start at the client's bookmark or anywhere; writes start at the primary", async () => {
    const user = await newCaller("user");
    const seed = bookmarkOf(await get("/api/v1/notifications/history", user), "seed read");
    const starts = vi.spyOn(env.DB, "withSession");

    await get("/api/v1/notifications/history", user);
    await api("/api/v1/notifications/history", { headers: { ...user.headers, [BOOKMARK_HEADER]: seed } });
    const write = await postJson(
      "/api/v1/notifications/register-device",
      { token: `tok-${crypto.randomUUID()}`, platform: "android" },
      { ...user.headers, [BOOKMARK_HEADER]: seed },
    );
    expect(write.status).toBeLessThan(300);
    expect(starts.mock.calls.map(([start]) => start)).toEqual(["first-unconstrained", seed, "first-primary"]);
  });

  it("a malformed or oversized bookmark is a 400 naming the header, on reads and writes; a blank one is none", async () => {
    const user = await newCaller("user");
    for (const bad of [
      "not-a-bookmark",
      "0".repeat(MAX_BOOKMARK_CHARS + 1),
      "00000001-00000002-00004e2f-XYZ",
    ]) {
      const read = await api("/api/v1/payments/history", {
        headers: { ...user.headers, [BOOKMARK_HEADER]: bad },
      });
      const body = await expectEnvelope(read, 400, "VALIDATION_FAILED");
      expect(body.error.details).toEqual([expect.objectContaining({ path: `header.${BOOKMARK_HEADER}` })]);
      const write = await postJson(
        "/api/v1/payments/create-intent",
        { amount: 500, currency: "usd" },
        { ...user.headers, [BOOKMARK_HEADER]: bad },
      );
      await expectEnvelope(write, 400, "VALIDATION_FAILED");
    }
    // Nothing was half-written by the refused create-intents.
    const page = await bodyOf(await get("/api/v1/payments/history", user), "GET /payments/history", 200);
    expect(page.items).toEqual([]);

    const blank = await api("/api/v1/payments/history", {
      headers: { ...user.headers, [BOOKMARK_HEADER]: "  " },
    });
    await bodyOf(blank, "GET /payments/history", 200);
    bookmarkOf(blank, "blank");
    // A client may not name D1's constraints: "first-primary" would pin its reads to the primary.
    for (const constraint of ["first-primary", "first-unconstrained"]) {
      const pinned = await api("/api/v1/payments/history", {
        headers: { ...user.headers, [BOOKMARK_HEADER]: constraint },
      });
      await expectEnvelope(pinned, 400, "VALIDATION_FAILED");
    }
  });

  it("the OpenAPI document names the header on every operation and its answers", async () => {
    const doc = (await openApiDoc()) as OpenApiDoc & {
      paths: Record<
        string,
        Record<string, { parameters?: unknown[]; responses: Record<string, { headers?: object }> }>
      >;
      components: { headers?: Record<string, unknown>; parameters?: Record<string, unknown> };
    };
    expect(doc.components.headers?.D1Bookmark).toBeDefined();
    expect(doc.components.parameters?.D1Bookmark).toMatchObject({ name: BOOKMARK_HEADER, in: "header" });
    const ops = Object.values(doc.paths).flatMap((ops) => Object.values(ops));
    expect(ops.length).toBeGreaterThan(20);
    for (const op of ops) {
      expect(op.parameters).toContainEqual({ $ref: "#/components/parameters/D1Bookmark" });
      for (const response of Object.values(op.responses))
        expect(response.headers).toHaveProperty(BOOKMARK_HEADER);
    }
  });
});

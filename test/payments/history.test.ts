import { describe, expect, it } from "vitest";
import { payments } from "../../src/db/schema";
import type { PaymentStatus } from "../../src/db/schema/payments";
import { type BodyOf, bodyOf } from "../helpers/body";
import { expectEnvelope } from "../helpers/http";
import { db, get, newCaller, paidPayment } from "./helpers";

type Page = BodyOf<"GET /payments/history", 200>;

async function allPages(path: string, caller: { headers: Record<string, string> }) {
  const seen: Page["items"] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const res = await get(`${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ""}`, caller);
    expect(res.status).toBe(200);
    const page = await bodyOf(res, "GET /payments/history", 200);
    seen.push(...page.items);
    cursor = page.next_cursor;
    pages++;
  } while (cursor);
  return { seen, pages };
}

describe("payment history", () => {
  it("pages 250 payments with filters, no duplicates or gaps, newest first, others invisible", async () => {
    const user = await newCaller("user");
    const other = await newCaller("user");
    const admin = await newCaller("admin");
    const viaApi = [await paidPayment(user, 700), await paidPayment(user, 800)];
    await paidPayment(other, 900);

    // Bulk rows straight into D1; many share a timestamp to exercise the id tie-break.
    const base = Date.parse("2026-01-01T00:00:00Z");
    const statuses: PaymentStatus[] = ["succeeded", "failed", "refunded", "requires_payment_method"];
    const rows = Array.from({ length: 248 }, (_, i) => ({
      id: crypto.randomUUID(),
      userId: user.sub,
      amount: 100 + i,
      currency: "usd",
      status: statuses[i % statuses.length] as PaymentStatus,
      createdAt: base + Math.floor(i / 3) * 60_000,
      updatedAt: base,
    }));
    for (let i = 0; i < rows.length; i += 10)
      await db()
        .insert(payments)
        .values(rows.slice(i, i + 10));

    const { seen, pages } = await allPages("/api/v1/payments/history?limit=37", user);
    expect(seen).toHaveLength(250);
    expect(pages).toBe(7);
    expect(new Set(seen.map((s) => s.payment_id)).size).toBe(250);
    expect(seen.every((s) => s.user_id === user.sub)).toBe(true);
    const ids = new Set(seen.map((s) => s.payment_id));
    for (const p of viaApi) expect(ids.has(p.payment_id)).toBe(true);
    const times = seen.map((s) => Date.parse(s.created_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const failed = await allPages("/api/v1/payments/history?status=failed&limit=25", user);
    expect(failed.seen).toHaveLength(62);
    expect(failed.seen.every((s) => s.status === "failed")).toBe(true);

    const two = await allPages("/api/v1/payments/history?status=failed&status=refunded&limit=100", user);
    expect(two.seen).toHaveLength(124);
    const comma = await allPages("/api/v1/payments/history?status=failed,refunded&limit=100", user);
    expect(comma.seen).toHaveLength(124);

    const from = new Date(base + 10 * 60_000).toISOString();
    const to = new Date(base + 19 * 60_000).toISOString();
    const ranged = await allPages(`/api/v1/payments/history?from=${from}&to=${to}&limit=7`, user);
    expect(ranged.seen).toHaveLength(30);

    const mine = await allPages("/api/v1/payments/history", other);
    expect(mine.seen).toHaveLength(1);

    const asAdmin = await allPages(`/api/v1/payments/history?user_id=${user.sub}&limit=100`, admin);
    expect(asAdmin.seen).toHaveLength(250);
  });

  it("rejects bad filters and another user's history", async () => {
    const user = await newCaller("user");
    await expectEnvelope(
      await get(`/api/v1/payments/history?user_id=${crypto.randomUUID()}`, user),
      403,
      "FORBIDDEN",
    );
    await expectEnvelope(await get("/api/v1/payments/history?limit=101", user), 400, "VALIDATION_FAILED");
    await expectEnvelope(await get("/api/v1/payments/history?status=paid", user), 400, "VALIDATION_FAILED");
    await expectEnvelope(
      await get("/api/v1/payments/history?from=yesterday", user),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(
      await get("/api/v1/payments/history?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", user),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(await get("/api/v1/payments/history?cursor=%%%", user), 400, "VALIDATION_FAILED");
    await expectEnvelope(await get("/api/v1/payments/history?sort=asc", user), 400, "VALIDATION_FAILED");
  });
});

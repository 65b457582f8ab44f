import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { notifications } from "../../src/db/schema";
import { bodyOf } from "../helpers/body";
import { expectEnvelope } from "../helpers/http";
import { closeDispute, openDispute } from "../helpers/stripe";
import { db, deliverAllFor, get, newCaller, paidPayment, paymentRow, stripeIntentId } from "./helpers";

describe("disputes", () => {
  it("a dispute marks the payment disputed, lists for admins, and notifies admins", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    // The admin must have been seen by the API to be in the directory.
    expect((await get("/api/v1/payments/disputes", admin)).status).toBe(200);
    const p = await paidPayment(user, 4200);
    const piId = await stripeIntentId(p.payment_id);
    const dispute = await openDispute({ payment_intent: piId, reason: "fraudulent" });
    await deliverAllFor(dispute.id);
    await deliverAllFor(dispute.id); // replay: nothing twice

    expect((await paymentRow(p.payment_id)).status).toBe("disputed");
    const list = await bodyOf(
      await get("/api/v1/payments/disputes?limit=100", admin),
      "GET /payments/disputes",
      200,
    );
    const mine = list.items.filter((d) => d.stripe_dispute_id === dispute.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ payment_id: p.payment_id, status: dispute.status });
    expect(mine[0]?.evidence_due_by).toMatch(/Z$/);

    const notes = await db()
      .select()
      .from(notifications)
      .where(
        and(eq(notifications.userId, admin.sub), eq(notifications.eventId, `dispute.created:${dispute.id}`)),
      );
    expect(notes).toHaveLength(1);

    await closeDispute(dispute.id, "lost");
    await deliverAllFor(dispute.id);
    const closed = await bodyOf(
      await get("/api/v1/payments/disputes?status=lost", admin),
      "GET /payments/disputes",
      200,
    );
    expect(closed.items.some((d) => d.stripe_dispute_id === dispute.id)).toBe(true);
    expect((await paymentRow(p.payment_id)).status).toBe("disputed");
  });

  it("non-admins cannot list disputes", async () => {
    const user = await newCaller("user");
    await expectEnvelope(await get("/api/v1/payments/disputes", user), 403, "FORBIDDEN");
    await expectEnvelope(await get("/api/v1/payments/disputes", { headers: {} }), 401, "UNAUTHENTICATED");
  });
});

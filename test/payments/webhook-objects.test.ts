import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { webhookEvents } from "../../src/db/schema";
import { deliverWebhook, signPayload } from "../helpers/stripe";
import { changedTables, fingerprint } from "../security/fixtures";
import { db } from "./helpers";

/**
 * Issue 19: a signed event whose object lacks a field a handler reads was a 500 (an undefined
 * parameter reached D1). Each handled family is sent with an empty object and with objects
 * missing exactly one required field: the answer is 200 `ignored`, only the ledger row is
 * written, and nothing else in D1 changes.
 */
const FAMILIES: Record<string, Record<string, unknown>> = {
  "payment_intent.succeeded": { id: "pi_x", object: "payment_intent", metadata: {} },
  "charge.refunded": { id: "ch_x", object: "charge", payment_intent: "pi_x", metadata: {} },
  "refund.updated": { id: "re_x", object: "refund", payment_intent: "pi_x", amount: 100, currency: "usd" },
  "charge.dispute.created": {
    id: "dp_x",
    object: "dispute",
    amount: 100,
    currency: "usd",
    status: "needs_response",
  },
  "customer.subscription.updated": { id: "sub_x", object: "subscription", status: "active", metadata: {} },
  "invoice.paid": { id: "in_x", object: "invoice", currency: "usd", amount_paid: 100 },
};

async function sendSigned(type: string, object: unknown) {
  const id = `evt_obj_${crypto.randomUUID().slice(0, 12)}`;
  const payload = JSON.stringify({ id, object: "event", type, created: 1_700_000_000, data: { object } });
  const res = await deliverWebhook({ payload, signature: await signPayload(payload) });
  return { id, res };
}

describe("signed webhooks whose object is malformed", () => {
  it("the fuzzer's counterexample (payment_intent.succeeded with {}) is 200 ignored and changes nothing else", async () => {
    const before = await fingerprint();
    const { id, res } = await sendSigned("payment_intent.succeeded", {});
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, duplicate: false, status: "ignored" });
    expect(changedTables(before, await fingerprint())).toEqual(["webhook_events"]);
    const row = await db().select().from(webhookEvents).where(eq(webhookEvents.id, id)).get();
    expect(row?.status).toBe("ignored");
  });

  for (const [type, valid] of Object.entries(FAMILIES)) {
    it(`${type}: an empty object and each missing required field are ignored, never a 5xx`, async () => {
      const variants: unknown[] = [
        {},
        null,
        "pi_x",
        ...Object.keys(valid)
          .filter((k) => k !== "object" && k !== "metadata" && k !== "payment_intent")
          .map((k) => {
            const { [k]: _drop, ...rest } = valid;
            return rest;
          }),
      ];
      for (const object of variants) {
        const before = await fingerprint();
        const { res } = await sendSigned(type, object);
        const where = `${type} ${JSON.stringify(object)}`;
        // A non-object data.object breaks the envelope itself (400); a bad object is ignored.
        if (object === null || typeof object !== "object") {
          expect(res.status, where).toBe(400);
          expect(changedTables(before, await fingerprint()), where).toEqual([]);
          continue;
        }
        expect(res.status, where).toBe(200);
        expect(await res.json(), where).toMatchObject({ status: "ignored" });
        expect(changedTables(before, await fingerprint()), where).toEqual(["webhook_events"]);
      }
    });
  }
});

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { publish } from "../../src/events/publish";
import { bodyOf, errorOf } from "../helpers/body";
import { testDeps } from "../helpers/deps";
import { eventually } from "../helpers/eventually";
import { googleStats, projectId, sentMessages } from "../helpers/google";
import {
  api,
  deliveriesOf,
  newCaller,
  notificationFor,
  publishEvent,
  registerDevice,
  settled,
  uid,
} from "./helpers";

describe("event → notify → queue → FCM (Done 1)", () => {
  it("delivers a schema-valid message the emulator accepted with a verified OAuth assertion", async () => {
    const user = await newCaller("user");
    const token = `ok-${uid()}-android`;
    await registerDevice(user, token, "android");
    const before = await googleStats();

    const { res, id, eventId } = await publishEvent("security.alert", {
      user_id: user.sub,
      kind: "new_login",
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id, event_id: eventId, duplicate: false });

    const notificationId = await notificationFor(eventId, user.sub);
    expect(notificationId).toBeDefined();
    const [delivery] = await settled(user, notificationId ?? "");
    const [sent] = await eventually(async () => {
      const m = await sentMessages(token);
      return m.length > 0 ? m : undefined;
    }, "message at the emulator");

    expect(delivery?.status).toBe("sent");
    // The emulator only accepts a bearer it issued for a verified RS256 assertion.
    expect(sent?.name).toMatch(new RegExp(`^projects/${projectId()}/messages/`));
    expect(delivery?.fcm_message_name).toBe(sent?.name);
    expect(sent?.message).toMatchObject({
      token,
      notification: { title: "Security alert", body: "A new sign-in to your account." },
      data: { kind: "new_login", type: "security_alert", notification_id: notificationId },
      android: { priority: "HIGH", notification: { channel_id: "security" } },
    });
    const after = await googleStats();
    expect(after.token_exchanges_failed).toBe(before.token_exchanges_failed);
  });

  it("replaying an event id answers duplicate and adds no notification or delivery", async () => {
    const user = await newCaller("user");
    await registerDevice(user, `ok-${uid()}`, "ios");
    const data = { user_id: user.sub, kind: "password_changed" };
    const first = await publishEvent("security.alert", data);
    expect(first.res.status).toBe(202);
    const again = await publishEvent("security.alert", data, first.id);
    expect(again.res.status).toBe(200);
    expect(await again.res.json()).toEqual({ id: first.id, event_id: first.eventId, duplicate: true });

    const counts = await env.DB.prepare(
      `select (select count(*) from notifications where event_id = ?1) as n,
              (select count(*) from notification_deliveries d join notifications n on n.id = d.notification_id
                 where n.event_id = ?1) as d`,
    )
      .bind(first.eventId)
      .first<{ n: number; d: number }>();
    expect(counts).toEqual({ n: 1, d: 1 });
  });

  it("POST /events: service role only, external types only, data validated", async () => {
    const user = await newCaller("user");
    const body = {
      id: `evt_${uid()}`,
      type: "security.alert",
      data: { user_id: user.sub, kind: "new_login" },
    };
    const asUser = await api("/api/v1/events", {
      method: "POST",
      headers: user.headers,
      body: JSON.stringify(body),
    });
    expect(asUser.status).toBe(403);
    const anon = await api("/api/v1/events", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(anon.status).toBe(401);

    const internal = await publishEvent("payment.succeeded", {
      payment_id: "p",
      user_id: user.sub,
      merchant_id: null,
      amount: 1,
      currency: "usd",
    });
    expect(internal.res.status).toBe(400);
    const badData = await publishEvent("security.alert", { user_id: user.sub, kind: "nope" });
    expect(badData.res.status).toBe(400);
    const json = await errorOf(badData.res, 400);
    expect(json.error.code).toBe("VALIDATION_FAILED");
  });

  // payment.succeeded is internal (the payments webhook publishes it), so it is published directly.
  it("payment.succeeded notifies the merchant's users and the payer", async () => {
    const merchantId = crypto.randomUUID();
    const merchant = await newCaller("merchant", merchantId);
    const payer = await newCaller("user");
    // The directory learns about a merchant user on their first authenticated request.
    await registerDevice(merchant, `ok-${uid()}-m`);
    await registerDevice(payer, `ok-${uid()}-p`);
    const id = `evt_${uid()}`;
    await publish(testDeps(), {
      id,
      type: "payment.succeeded",
      source: "test",
      data: {
        payment_id: "pay_1",
        user_id: payer.sub,
        merchant_id: merchantId,
        amount: 1999,
        currency: "eur",
      },
    });
    const m = await notificationFor(id, merchant.sub);
    const p = await notificationFor(id, payer.sub);
    expect(m).toBeDefined();
    expect(p).toBeDefined();
    const [md] = await settled(merchant, m ?? "");
    expect(md?.status).toBe("sent");
    const history = await api("/api/v1/notifications/history", { headers: merchant.headers });
    const items = (await bodyOf(history, "GET /notifications/history", 200)).items;
    expect(items[0]).toMatchObject({ type: "payment_received", body: "You received €19.99." });
    expect((await deliveriesOf(payer, p ?? "")).length).toBe(1);
  });
});

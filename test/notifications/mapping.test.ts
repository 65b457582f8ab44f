import { describe, expect, it } from "vitest";
import { publish } from "../../src/events/publish";
import type { DomainEventType, EventData } from "../../src/events/types";
import { bodyOf } from "../helpers/body";
import { testDeps } from "../helpers/deps";
import { api, newCaller, publishEvent } from "./helpers";

async function inbox(caller: { headers: Record<string, string> }) {
  const res = await api("/api/v1/notifications/history", { headers: caller.headers });
  return (await bodyOf(res, "GET /notifications/history", 200)).items;
}

/** Internal events (payments, chat) are published in-process, as those capabilities do. */
function publishInternal<T extends DomainEventType>(type: T, data: EventData<T>) {
  const deps = testDeps();
  return publish(deps, { id: `evt_${crypto.randomUUID()}`, type, data, source: "test" });
}

describe("event → notification mapping", () => {
  it("campaign.status_changed reaches every listed user", async () => {
    const a = await newCaller("merchant");
    const b = await newCaller("merchant");
    const { res } = await publishEvent("campaign.status_changed", {
      campaign_id: "cmp_9",
      merchant_id: "m_1",
      user_ids: [a.sub, b.sub],
      from: "draft",
      to: "active",
      name: "Spring",
    });
    expect(res.status).toBe(202);
    for (const c of [a, b]) {
      expect((await inbox(c))[0]).toMatchObject({
        type: "campaign_status_changed",
        title: "Campaign Spring is now active",
        data: { campaign_id: "cmp_9", from_status: "draft", to_status: "active" },
      });
    }
  });

  it("merchant_application.approved notifies the applicant", async () => {
    const user = await newCaller("user");
    await publishEvent("merchant_application.approved", {
      merchant_id: "m_2",
      user_id: user.sub,
      business_name: "Acme",
    });
    expect((await inbox(user))[0]).toMatchObject({
      type: "merchant_application_approved",
      body: "Acme can now accept payments.",
    });
  });

  it("dispute.created is a critical alert for admins", async () => {
    const admin = await newCaller("admin");
    await inbox(admin); // the directory learns about the admin on an authenticated request
    await publishInternal("dispute.created", {
      dispute_id: "dp_1",
      payment_id: "pay_1",
      amount: 500,
      currency: "jpy",
      reason: "fraudulent",
    });
    expect((await inbox(admin))[0]).toMatchObject({
      type: "security_alert",
      // Money and the date in the admin's locale (en: no device names another).
      body: expect.stringMatching(
        /^A dispute of ¥500 was opened on \w{3} \d{1,2}, \d{4}, \d\d:\d\d [AP]M UTC \(fraudulent\)\.$/,
      ),
      data: { dispute_id: "dp_1", payment_id: "pay_1" },
    });
  });

  it("ticket.replied notifies the owner, but not for their own message", async () => {
    const owner = await newCaller("user");
    const agent = crypto.randomUUID();
    const base = { ticket_id: "t_1", user_id: owner.sub, merchant_id: null, preview: "We refunded you" };
    await publishInternal("ticket.replied", { ...base, message_id: "msg_1", sender_id: owner.sub });
    expect(await inbox(owner)).toEqual([]);
    await publishInternal("ticket.replied", { ...base, message_id: "msg_2", sender_id: agent });
    expect(await inbox(owner)).toMatchObject([
      {
        type: "support_ticket_response",
        body: "We refunded you",
        data: { ticket_id: "t_1", message_id: "msg_2" },
      },
    ]);
  });
});

import { describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually";
import { sentMessages } from "../helpers/google";
import { adminTestSend, newCaller, registerDevice, settled, uid } from "./helpers";

/** Sends one admin test notification to a fresh device and returns exactly what FCM received. */
async function sendAndCapture(platform: "android" | "ios" | "web", opts: { silent: boolean; type?: string }) {
  const user = await newCaller("user");
  const token = `ok-${uid()}-${platform}`;
  await registerDevice(user, token, platform);
  const { notification_ids } = await adminTestSend({
    user_id: user.sub,
    type: opts.type ?? "campaign_status_changed",
    title: "Campaign live",
    body: "Spring sale is now active",
    data: { campaign_id: "cmp_1", n: "3" },
    silent: opts.silent,
  });
  const notificationId = notification_ids[0] ?? "";
  const [d] = await settled(user, notificationId);
  expect(d?.status).toBe("sent");
  const [m] = await eventually(async () => {
    const got = await sentMessages(token);
    return got.length > 0 ? got : undefined;
  }, "message");
  return { message: m?.message, token, notificationId };
}

const dataFor = (notificationId: string) => ({
  campaign_id: "cmp_1",
  n: "3",
  test: "true",
  notification_id: notificationId,
  type: "campaign_status_changed",
});

describe("message variants (Done 4)", () => {
  it("Android alert: notification block, HIGH priority, channel id, collapse key", async () => {
    const { message, token, notificationId } = await sendAndCapture("android", { silent: false });
    expect(message).toEqual({
      token,
      notification: { title: "Campaign live", body: "Spring sale is now active" },
      data: dataFor(notificationId),
      android: { priority: "HIGH", collapse_key: "campaign:cmp_1", notification: { channel_id: "updates" } },
    });
  });

  it("Android silent: no notification block, NORMAL priority", async () => {
    const { message, token, notificationId } = await sendAndCapture("android", { silent: true });
    expect(message).toEqual({
      token,
      data: dataFor(notificationId),
      android: { priority: "NORMAL", collapse_key: "campaign:cmp_1" },
    });
  });

  it("iOS alert: apns-priority 10, push type alert", async () => {
    const { message, token, notificationId } = await sendAndCapture("ios", { silent: false });
    expect(message).toEqual({
      token,
      notification: { title: "Campaign live", body: "Spring sale is now active" },
      data: dataFor(notificationId),
      apns: {
        headers: { "apns-priority": "10", "apns-push-type": "alert", "apns-collapse-id": "campaign:cmp_1" },
        payload: { aps: { sound: "default" } },
      },
    });
  });

  it("iOS silent: apns-priority 5, background, content-available 1, no notification block", async () => {
    const { message, token, notificationId } = await sendAndCapture("ios", { silent: true });
    expect(message).toEqual({
      token,
      data: dataFor(notificationId),
      apns: {
        headers: {
          "apns-priority": "5",
          "apns-push-type": "background",
          "apns-collapse-id": "campaign:cmp_1",
        },
        payload: { aps: { "content-available": 1 } },
      },
    });
  });

  it("web: Urgency header; every data value is a string", async () => {
    const { message } = await sendAndCapture("web", { silent: false, type: "payment_received" });
    expect(message?.webpush).toEqual({ headers: { Urgency: "high" } });
    const data = message?.data as Record<string, unknown>;
    expect(Object.values(data).every((v) => typeof v === "string")).toBe(true);
    expect(message?.android).toBeUndefined();
    expect(message?.apns).toBeUndefined();
  });
});

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { releaseHeldPushes } from "../../src/notifications/housekeeping";
import { heldUntil } from "../../src/notifications/quiet-hours";
import { bodyOf, errorOf } from "../helpers/body";
import { testDeps } from "../helpers/deps";
import { sentMessages } from "../helpers/google";
import {
  adminTestSend,
  api,
  deliveriesOf,
  newCaller,
  postJson,
  publishEvent,
  registerDevice,
  settled,
  uid,
} from "./helpers";

const setPrefs = (caller: { headers: Record<string, string> }, body: unknown) =>
  postJson("/api/v1/notifications/preferences", body, caller.headers);

/** A quiet window around the current UTC time: from an hour ago to an hour from now. */
function windowAroundNow(): { start: string; end: string; time_zone: string } {
  const h = new Date().getUTCHours();
  const pad = (n: number) => String((n + 24) % 24).padStart(2, "0");
  return { start: `${pad(h - 1)}:00`, end: `${pad(h + 1)}:00`, time_zone: "UTC" };
}

describe("preferences", () => {
  it("defaults to everything on; security_alert is marked critical", async () => {
    const user = await newCaller("user");
    const res = await api("/api/v1/notifications/preferences", { headers: user.headers });
    expect(res.status).toBe(200);
    const body = await bodyOf(res, "GET /notifications/preferences", 200);
    expect(body.quiet_hours).toBeNull();
    expect(body.preferences).toHaveLength(7);
    expect(body.preferences.every((p) => p.push && p.in_app)).toBe(true);
    expect(body.preferences.find((p) => p.type === "security_alert")?.critical).toBe(true);
    // A failed renewal has days of grace: mutable, and held by quiet hours (docs/notifications.md).
    expect(body.preferences.find((p) => p.type === "subscription_payment_failed")?.critical).toBe(false);
  });

  it("muting security_alert is a 422 that says why, and writes nothing", async () => {
    const user = await newCaller("user");
    const res = await setPrefs(user, {
      preferences: [
        { type: "payment_received", push: false },
        { type: "security_alert", push: false },
      ],
    });
    expect(res.status).toBe(422);
    const body = await errorOf(res, 422);
    expect(body.error.code).toBe("UNPROCESSABLE");
    expect(body.error.message).toMatch(/critical/);
    const after = await bodyOf(
      await api("/api/v1/notifications/preferences", { headers: user.headers }),
      "GET /notifications/preferences",
      200,
    );
    expect(after.preferences.find((p) => p.type === "payment_received")?.push).toBe(true);
  });

  it("rejects bad input with 400: unknown type, bad HH:MM, unknown time zone, unknown field", async () => {
    const user = await newCaller("user");
    for (const body of [
      { preferences: [{ type: "spam", push: false }] },
      { quiet_hours: { start: "25:00", end: "07:00", time_zone: "UTC" } },
      { quiet_hours: { start: "22:00", end: "07:00", time_zone: "Mars/Olympus" } },
      { quiet_hours: { start: "22:00", end: "22:00", time_zone: "UTC" } },
      { mute_everything: true },
    ]) {
      const res = await setPrefs(user, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await api("/api/v1/notifications/preferences")).status).toBe(401);
  });

  it("muted types send nothing; a critical alert always sends (Done 2)", async () => {
    const user = await newCaller("user");
    const token = `ok-${uid()}`;
    await registerDevice(user, token);
    const res = await setPrefs(user, {
      preferences: [
        { type: "feature_flag_enabled", push: false, in_app: false },
        { type: "payment_received", push: false },
      ],
    });
    expect(res.status).toBe(200);

    const muted = await publishEvent("feature_flag.enabled", { flag: "beta", user_ids: [user.sub] });
    expect(muted.res.status).toBe(202);
    const pushOff = await adminTestSend({ user_id: user.sub, type: "payment_received" });
    expect(pushOff).toMatchObject({ queued: 0, held: 0 });
    // payment_received stays in the in-app history (only push is off); the muted flag leaves no row at all.
    const history = await bodyOf(
      await api("/api/v1/notifications/history", { headers: user.headers }),
      "GET /notifications/history",
      200,
    );
    expect(history.items.map((i) => i.type)).toEqual(["payment_received"]);
    expect(await deliveriesOf(user, pushOff.notification_ids[0] ?? "")).toEqual([]);

    const alert = await publishEvent("security.alert", { user_id: user.sub, kind: "mfa_disabled" });
    expect(alert.res.status).toBe(202);
    const row = await env.DB.prepare("select id from notifications where event_id = ?")
      .bind(alert.eventId)
      .first<{ id: string }>();
    const [d] = await settled(user, row?.id ?? "");
    expect(d?.status).toBe("sent");
    const sent = await sentMessages(token);
    expect(sent.map((m) => (m.message.data as Record<string, string>).type)).toEqual(["security_alert"]);
  });
});

describe("quiet hours (Done 3)", () => {
  it("holds a push during quiet hours, then the housekeeping job releases it", async () => {
    const user = await newCaller("user");
    const token = `ok-${uid()}`;
    await registerDevice(user, token, "ios");
    const qh = windowAroundNow();
    expect((await setPrefs(user, { quiet_hours: qh })).status).toBe(200);

    const res = await adminTestSend({ user_id: user.sub, type: "support_ticket_response" });
    expect(res).toMatchObject({ queued: 0, held: 1 });
    const notificationId = res.notification_ids[0] ?? "";
    const [held] = await deliveriesOf(user, notificationId);
    expect(held?.status).toBe("held");
    const releaseAt = Date.parse(held?.not_before ?? "");
    expect(new Date(releaseAt).toISOString().slice(11, 16)).toBe(qh.end);

    const deps = testDeps();
    // Before the window ends nothing moves; at its end the push goes out.
    await releaseHeldPushes(deps, releaseAt - 1000);
    expect((await deliveriesOf(user, notificationId))[0]?.status).toBe("held");
    expect(await releaseHeldPushes(deps, releaseAt)).toBeGreaterThanOrEqual(1);
    const [d] = await settled(user, notificationId);
    expect(d?.status).toBe("sent");
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("critical alerts bypass quiet hours", async () => {
    const user = await newCaller("user");
    await registerDevice(user, `ok-${uid()}`);
    await setPrefs(user, { quiet_hours: windowAroundNow() });
    const res = await adminTestSend({ user_id: user.sub, type: "security_alert" });
    expect(res).toMatchObject({ queued: 1, held: 0 });
    const [d] = await settled(user, res.notification_ids[0] ?? "");
    expect(d?.status).toBe("sent");
  });

  it("quiet hours can be read back and cleared", async () => {
    const user = await newCaller("user");
    const qh = { start: "22:30", end: "07:00", time_zone: "Europe/Paris" };
    const set = async (quiet_hours: typeof qh | null) =>
      bodyOf(await setPrefs(user, { quiet_hours }), "POST /notifications/preferences", 200);
    expect((await set(qh)).quiet_hours).toEqual(qh);
    expect((await set(null)).quiet_hours).toBeNull();
  });

  it("heldUntil: windows that wrap midnight, in the user's time zone", () => {
    const qh = { start: "22:00", end: "07:00", timeZone: "America/New_York" };
    // 2026-01-15 03:30 UTC is 22:30 in New York (EST, UTC-5): held until 07:00 EST = 12:00 UTC.
    expect(heldUntil(Date.parse("2026-01-15T03:30:00Z"), qh)).toBe(Date.parse("2026-01-15T12:00:00Z"));
    // 2026-01-15 15:00 UTC is 10:00 in New York: outside the window.
    expect(heldUntil(Date.parse("2026-01-15T15:00:00Z"), qh)).toBeNull();
    // Same-day window in Tokyo (UTC+9): 13:00–14:00 local; 04:15 UTC is 13:15 local.
    const tokyo = { start: "13:00", end: "14:00", timeZone: "Asia/Tokyo" };
    expect(heldUntil(Date.parse("2026-06-01T04:15:00Z"), tokyo)).toBe(Date.parse("2026-06-01T05:00:00Z"));
  });
});

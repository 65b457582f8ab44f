import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { publish } from "../../src/events/publish";
import { bodyOf, errorOf } from "../helpers/body";
import { testDeps } from "../helpers/deps";
import { eventually } from "../helpers/eventually";
import { type SentMessage, sentMessages } from "../helpers/google";
import {
  api,
  type Caller,
  newCaller,
  notificationFor,
  postJson,
  publishEvent,
  settled,
  uid,
} from "./helpers";

async function device(caller: Caller, token: string, locale: string, platform = "android") {
  const res = await postJson(
    "/api/v1/notifications/register-device",
    { token, platform, locale },
    caller.headers,
  );
  return bodyOf(res, "POST /notifications/register-device", [200, 201]);
}

/** The one message the FCM emulator accepted for a token. */
async function received(token: string): Promise<SentMessage["message"]> {
  const [m] = await eventually(async () => {
    const got = await sentMessages(token);
    return got.length > 0 ? got : undefined;
  }, `message for ${token}`);
  return m?.message ?? {};
}

async function inbox(caller: Caller) {
  const res = await api("/api/v1/notifications/history", { headers: caller.headers });
  return (await bodyOf(res, "GET /notifications/history", 200)).items;
}

describe("localised pushes through the real queue and the FCM emulator", () => {
  it("two devices of one user, in two locales, each get their own language", async () => {
    const user = await newCaller("user");
    const en = `ok-${uid()}-en`;
    const fr = `ok-${uid()}-fr`;
    await device(user, en, "en-US", "ios");
    await device(user, fr, "fr-CA");
    const { res, eventId } = await publishEvent("security.alert", {
      user_id: user.sub,
      kind: "password_changed",
    });
    expect(res.status).toBe(202);
    await settled(user, (await notificationFor(eventId, user.sub)) ?? "");

    expect((await received(en)).notification).toEqual({
      title: "Security alert",
      body: "Your password was changed.",
    });
    expect(await received(fr)).toMatchObject({
      notification: { title: "Alerte de sécurité", body: "Votre mot de passe a été modifié." },
      // Variants unchanged by the language.
      android: { priority: "HIGH", notification: { channel_id: "security" } },
      data: { kind: "password_changed", type: "security_alert" },
    });
    // History is in the user's locale: their latest device naming a shipped one (fr-CA).
    expect((await inbox(user))[0]).toMatchObject({ title: "Alerte de sécurité" });
  });

  it("money in a German push; an unknown 'pt' device gets the user's locale (de)", async () => {
    const merchantId = crypto.randomUUID();
    const merchant = await newCaller("merchant", merchantId);
    const de = `ok-${uid()}-de`;
    const pt = `ok-${uid()}-pt`;
    await device(merchant, de, "de-AT");
    await device(merchant, pt, "pt-BR");
    const payer = await newCaller("user");
    const id = `evt_${uid()}`;
    await publish(testDeps(), {
      id,
      type: "payment.succeeded",
      source: "test",
      data: {
        payment_id: "pay_l10n",
        user_id: payer.sub,
        merchant_id: merchantId,
        amount: 123456,
        currency: "eur",
      },
    });
    await settled(merchant, (await notificationFor(id, merchant.sub)) ?? "");
    for (const token of [de, pt]) {
      expect((await received(token)).notification).toMatchObject({
        title: "Zahlung erhalten",
        body: expect.stringMatching(/^Sie haben 1\.234,56\s€ erhalten\.$/u),
      });
    }
  });

  it("a user whose only device names no shipped locale reads en, push and history", async () => {
    const user = await newCaller("user");
    const pt = `ok-${uid()}-pt`;
    await device(user, pt, "pt");
    const { eventId } = await publishEvent("merchant_application.approved", {
      merchant_id: "m_l10n",
      user_id: user.sub,
      business_name: "Padaria Lda",
    });
    await settled(user, (await notificationFor(eventId, user.sub)) ?? "");
    expect((await received(pt)).notification).toEqual({
      title: "Merchant application approved",
      body: "Padaria Lda can now accept payments.",
    });
    expect((await inbox(user))[0]).toMatchObject({ body: "Padaria Lda can now accept payments." });
  });

  it("a replay raced against itself sends each device one push, each in its language", async () => {
    const user = await newCaller("user");
    const de = `ok-${uid()}-de`;
    const fr = `ok-${uid()}-fr`;
    await device(user, de, "de");
    await device(user, fr, "FR");
    const id = `evt_${crypto.randomUUID()}`;
    const data = { flag: "dark_mode", user_ids: [user.sub] };
    const answers = await Promise.all([1, 2, 3].map(() => publishEvent("feature_flag.enabled", data, id)));
    expect(answers.map((a) => a.res.status).sort()).toEqual([200, 200, 202]);
    const notificationId = await notificationFor(answers[0]?.eventId ?? "", user.sub);
    expect((await settled(user, notificationId ?? "")).length).toBe(2);
    expect((await received(de)).notification).toEqual({
      title: "Neue Funktion verfügbar",
      body: "dark_mode ist jetzt für Sie aktiviert.",
    });
    expect((await received(fr)).notification).toEqual({
      title: "Nouvelle fonctionnalité disponible",
      body: "La fonctionnalité dark_mode est désormais activée pour vous.",
    });
    expect((await sentMessages(de)).length + (await sentMessages(fr)).length).toBe(2);
  });
});

describe("event data a template cannot say", () => {
  it("a status, flag or id of only spaces is a 400 that stores nothing, not a 202 never notified", async () => {
    const user = await newCaller("user");
    const campaign = { campaign_id: "c_l10n", merchant_id: "m_l10n", user_ids: [user.sub], from: "draft" };
    for (const [type, data] of [
      ["campaign.status_changed", { ...campaign, to: "   " }],
      ["campaign.status_changed", { ...campaign, to: "live", from: " " }],
      ["campaign.status_changed", { ...campaign, to: "live", campaign_id: "  " }],
      ["feature_flag.enabled", { flag: " ", user_ids: [user.sub] }],
    ] as const) {
      const { res, eventId } = await publishEvent(type, data);
      expect(res.status, JSON.stringify(data)).toBe(400);
      expect((await errorOf(res, 400)).error.code).toBe("VALIDATION_FAILED");
      const row = await env.DB.prepare("select count(*) as n from domain_events where id = ?")
        .bind(eventId)
        .first<{ n: number }>();
      expect(row?.n).toBe(0);
    }
  });
});

describe("device locale at registration", () => {
  it("is stored canonical; a tag that is not BCP 47 is a 400 and writes nothing", async () => {
    const user = await newCaller("user");
    const d = await device(user, `ok-${uid()}`, "fr_ca");
    expect(d.locale).toBe("fr-CA");
    const token = `ok-${uid()}-bad`;
    const res = await postJson(
      "/api/v1/notifications/register-device",
      { token, platform: "web", locale: "not a locale!" },
      user.headers,
    );
    const err = await errorOf(res, 400);
    expect(JSON.stringify(err)).toContain("locale");
    for (const locale of ["x".repeat(10_000), "en-", "fr\u0000"]) {
      const bad = await postJson(
        "/api/v1/notifications/register-device",
        { token, platform: "web", locale },
        user.headers,
      );
      expect((await errorOf(bad, 400)).error.code).toBe("VALIDATION_FAILED");
    }
    const row = await env.DB.prepare("select count(*) as n from devices where token = ?")
      .bind(token)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });
});

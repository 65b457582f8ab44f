// Free text with an unpaired UTF-16 surrogate (JSON spells one as "\ud800") is refused wherever it
// would be stored or forwarded (src/platform/text.ts): D1 and the rooms' SQLite store it as invalid
// UTF-8 and read it back as U+FFFD, so before, a chat message was delivered live as sent and came
// back from the history changed, and a ticket answered 201 with a subject other than the stored one.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { join, msg, openTicket } from "../chat/helpers";
import { newCaller } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { eventually } from "../helpers/eventually";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { publishEvent, uid } from "../notifications/helpers";

const LONE = "a\ud800b";

const history = async (ticketId: string, headers: Record<string, string>) =>
  (
    await bodyOf(
      await api(`/api/v1/support/tickets/${ticketId}/messages?order=asc`, { headers }),
      "GET /support/tickets/:id/messages",
      200,
    )
  ).items;

describe("unicode text", () => {
  it("a ticket subject with an unpaired surrogate is a 400 and no ticket; an emoji subject is stored as sent", async () => {
    const owner = await newCaller("user");
    const bad = await postJson("/api/v1/support/tickets", { subject: `help ${LONE}` }, owner.headers);
    const err = await expectEnvelope(bad, 400, "VALIDATION_FAILED");
    expect(JSON.stringify(err.error.details)).toContain("subject");

    const byMerchant = await postJson(
      "/api/v1/support/tickets",
      { subject: "help", merchant_id: LONE },
      owner.headers,
    );
    const merchantErr = await expectEnvelope(byMerchant, 400, "VALIDATION_FAILED");
    expect(JSON.stringify(merchantErr.error.details)).toContain("merchant_id");
    // A merchant token whose merchant_id claim is not Unicode text is refused at authentication,
    // before a ticket could be stored and its ticket.created event then refused.
    const merchant = await newCaller("merchant", `m-${LONE}`);
    const refused = await postJson("/api/v1/support/tickets", { subject: "help" }, merchant.headers);
    await expectEnvelope(refused, 401, "UNAUTHENTICATED");
    const none = await env.DB.prepare("SELECT COUNT(*) AS n FROM support_tickets WHERE user_id IN (?, ?)")
      .bind(owner.sub, merchant.sub)
      .first<{ n: number }>();
    expect(none?.n).toBe(0);

    const { id, subject } = await openTicket(owner, { subject: "help 😀" });
    expect(subject).toBe("help 😀");
    const row = await env.DB.prepare("SELECT subject FROM support_tickets WHERE id = ?")
      .bind(id)
      .first<{ subject: string }>();
    expect(row?.subject).toBe("help 😀");
  });

  it("a chat message with an unpaired surrogate is refused and never stored; the history serves an emoji message as delivered", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const a = await join(admin, id);
    o.send(msg("lone", LONE));
    expect(await o.nextOf("error")).toMatchObject({ code: "VALIDATION_FAILED", client_id: "lone" });
    // The same text with its attachments list present goes through the schema, not the fast path.
    o.send({ ...msg("lone-2", LONE), attachments: [] });
    expect(await o.nextOf("error")).toMatchObject({ code: "VALIDATION_FAILED", client_id: "lone-2" });

    const link = { url: "https://example.com/a.png", name: LONE, content_type: "image/png", size: 10 };
    o.send({ ...msg("lone-3", "see file"), attachments: [link] });
    expect(await o.nextOf("error")).toMatchObject({ code: "VALIDATION_FAILED", client_id: "lone-3" });

    const body = "thanks 😀 — é";
    o.send(msg("ok", body));
    const ack = await o.nextOf("ack");
    expect((await a.nextOf("message")).body).toBe(body);
    const items = await eventually(async () => {
      const got = await history(id, owner.headers);
      return got.length > 0 ? got : null;
    }, "the mirrored message");
    // Only the good message, byte for byte what was delivered live.
    expect(items.map((m) => [m.id, m.body])).toEqual([[ack.id, body]]);
    o.close();
    a.close();
  });

  it("a reply's push preview is cut before an emoji, never through it", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    const a = await join(admin, id);
    // 199 letters and an emoji: 201 UTF-16 units, and the 200th is the emoji's first half.
    a.send(msg("long", `${"a".repeat(199)}😀`));
    const ack = await a.nextOf("ack");
    const event = await eventually(
      () =>
        env.DB.prepare("SELECT payload FROM domain_events WHERE id = ?")
          .bind(`ticket.replied:${ack.id}`)
          .first<{ payload: string }>(),
      "the ticket.replied event",
    );
    // Compared as JSON text: a raw unpaired surrogate in a failure diff would crash the test pool.
    expect(JSON.stringify(JSON.parse(event.payload).preview)).toBe(JSON.stringify("a".repeat(199)));
    a.close();
  });

  it("a test push or a device with an unpaired surrogate is a 400 and stores nothing; good text is accepted", async () => {
    const admin = await newCaller("admin");
    const user = await newCaller("user");
    for (const [field, extra] of [
      ["title", { title: LONE }],
      ["body", { body: LONE }],
      ["data", { data: { k: LONE } }],
      ["data", { data: { [LONE]: "v" } }],
      ["user_id", { user_id: LONE }],
    ] as const) {
      const body = { user_id: user.sub, type: "payment_received", ...extra };
      const res = await postJson("/api/v1/notifications/test", body, admin.headers);
      const err = await expectEnvelope(res, 400, "VALIDATION_FAILED");
      expect(JSON.stringify(err.error.details)).toContain(field);
    }
    // The same request with good text is accepted: the 400s above were the text's.
    const ok = await postJson(
      "/api/v1/notifications/test",
      { user_id: user.sub, type: "payment_received", title: "paid 😀" },
      admin.headers,
    );
    expect(ok.status).toBe(202);
    const notes = await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ?")
      .bind(user.sub)
      .first<{ n: number }>();
    expect(notes?.n).toBe(1);

    const token = `tok-unicode-${uid()}-xxxxxxxx`;
    for (const [field, extra] of [
      ["model", { model: LONE }],
      ["os_version", { os_version: "\udc00" }],
      ["app_version", { app_version: "1\ud83d" }],
    ] as const) {
      const res = await postJson(
        "/api/v1/notifications/register-device",
        { token, platform: "android", ...extra },
        user.headers,
      );
      const err = await expectEnvelope(res, 400, "VALIDATION_FAILED");
      expect(JSON.stringify(err.error.details)).toContain(field);
    }
    const devices = await env.DB.prepare("SELECT COUNT(*) AS n FROM devices WHERE user_id = ?")
      .bind(user.sub)
      .first<{ n: number }>();
    expect(devices?.n).toBe(0);
  });

  it("a service's event whose text has an unpaired surrogate is a 400 and not stored", async () => {
    const user = await newCaller("user");
    const { res, eventId } = await publishEvent("feature_flag.enabled", {
      flag: "beta",
      user_ids: [user.sub],
      description: `new ${LONE}`,
    });
    await expectEnvelope(res, 400, "VALIDATION_FAILED");
    const row = await env.DB.prepare("SELECT id FROM domain_events WHERE id = ?").bind(eventId).first();
    expect(row).toBeNull();
    // The id too: stored as U+FFFD it would never match itself, and its deliveries could never be
    // claimed for a retry (the cron's claim is an UPDATE … WHERE event_id = the id read back).
    const badId = await publishEvent(
      "feature_flag.enabled",
      { flag: "beta", user_ids: [user.sub] },
      `evt-${LONE}`,
    );
    const idErr = await expectEnvelope(badId.res, 400, "VALIDATION_FAILED");
    expect(JSON.stringify(idErr.error.details)).toContain("id");
    const idRow = await env.DB.prepare("SELECT COUNT(*) AS n FROM domain_events WHERE id LIKE ?")
      .bind(`ext:%:evt-a%`)
      .first<{ n: number }>();
    expect(idRow?.n).toBe(0);
    const good = await publishEvent("feature_flag.enabled", {
      flag: "beta",
      user_ids: [user.sub],
      description: "new 😀",
    });
    expect(good.res.status).toBeLessThan(300);
  });
});

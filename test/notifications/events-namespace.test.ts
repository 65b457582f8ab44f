import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { publish } from "../../src/events/publish";
import { authHeaders } from "../helpers/auth";
import { testDeps } from "../helpers/deps";
import { expectEnvelope } from "../helpers/http";
import { newCaller, postJson, publishEvent, uid } from "./helpers";

// Issue 13 item 10: a service's event ids live in its own namespace (`ext:<service>:<id>`), so
// it cannot claim an internal id first; and security.alert (critical: it bypasses mute and
// quiet hours) is accepted only from the services in SECURITY_ALERT_SERVICES.

const asService = async (sub: string) =>
  authHeaders({ role: "service", sub }, { "content-type": "application/json" });

const storedEvent = (id: string) =>
  env.DB.prepare("select type, source from domain_events where id = ?")
    .bind(id)
    .first<{ type: string; source: string }>();

describe("external event ids are namespaced per service", () => {
  it("a service that posts an internal payment.failed id first does not suppress the real event", async () => {
    const paymentId = `pay_${uid()}`;
    const internalId = `payment.failed:${paymentId}:card_declined`;
    const sub = `svc-attacker-${uid()}`;
    const res = await postJson(
      "/api/v1/events",
      { id: internalId, type: "feature_flag.enabled", data: { flag: "x", user_ids: ["someone"] } },
      await asService(sub),
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      id: internalId,
      event_id: `ext:${sub}:${internalId}`,
      duplicate: false,
    });

    // The payments capability publishes its event with the same id: it is new, not a duplicate.
    const real = await publish(testDeps(), {
      id: internalId,
      type: "payment.failed",
      source: "stripe",
      data: {
        payment_id: paymentId,
        user_id: `u_${uid()}`,
        merchant_id: null,
        amount: 500,
        currency: "usd",
        decline_code: "card_declined",
      },
    });
    expect(real).toEqual({ duplicate: false });
    expect(await storedEvent(internalId)).toEqual({ type: "payment.failed", source: "stripe" });
    expect(await storedEvent(`ext:${sub}:${internalId}`)).toEqual({
      type: "feature_flag.enabled",
      source: `service:${sub}`,
    });
  });

  it("replays are per service, and subjects containing ':' cannot collide", async () => {
    const user = await newCaller("user");
    const body = (id: string) => ({
      id,
      type: "feature_flag.enabled",
      data: { flag: "f", user_ids: [user.sub] },
    });
    const [a, b] = [`svc-a-${uid()}`, `svc-b-${uid()}`];
    const id = `evt_${uid()}`;
    expect((await postJson("/api/v1/events", body(id), await asService(a))).status).toBe(202);
    // The same id from another service is another event.
    expect((await postJson("/api/v1/events", body(id), await asService(b))).status).toBe(202);
    // The same id from the same service is a replay.
    const again = await postJson("/api/v1/events", body(id), await asService(a));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id, duplicate: true });
    // "x:y" + "z" and "x" + "y:z" would both read ext:x:y:z without the encoding of the subject.
    const x = `svc-x-${uid()}`;
    const first = await postJson("/api/v1/events", body("z"), await asService(`${x}:y`));
    const second = await postJson("/api/v1/events", body("y:z"), await asService(x));
    expect([first.status, second.status]).toEqual([202, 202]);
    const ids = [
      (await first.json<{ event_id: string }>()).event_id,
      (await second.json<{ event_id: string }>()).event_id,
    ];
    expect(ids).toEqual([`ext:${x}%3Ay:z`, `ext:${x}:y:z`]);
  });

  it("an id too long for the namespace is a 400 naming the id, and nothing is stored", async () => {
    const sub = `svc-${"l".repeat(100)}`;
    const id = `evt_${"9".repeat(40)}`;
    const res = await postJson(
      "/api/v1/events",
      { id, type: "feature_flag.enabled", data: { flag: "f", user_ids: ["u"] } },
      await asService(sub),
    );
    const body = await expectEnvelope(res, 400, "VALIDATION_FAILED");
    expect((body.error.details as Array<{ path?: string }> | undefined)?.[0]?.path).toBe("id");
    expect(await storedEvent(`ext:${sub}:${id}`)).toBeNull();
  });
});

describe("security.alert needs an allowlisted service", () => {
  it("a service not in SECURITY_ALERT_SERVICES gets 403, and no event or notification is written", async () => {
    const user = await newCaller("user");
    const sub = `svc-other-${uid()}`;
    const id = `evt_${uid()}`;
    const res = await postJson(
      "/api/v1/events",
      { id, type: "security.alert", data: { user_id: user.sub, kind: "suspicious_activity" } },
      await asService(sub),
    );
    const body = await expectEnvelope(res, 403, "FORBIDDEN");
    expect(body.error.message).toMatch(/SECURITY_ALERT_SERVICES/);
    expect(await storedEvent(`ext:${sub}:${id}`)).toBeNull();
    const notes = await env.DB.prepare("select id from notifications where user_id = ?").bind(user.sub).all();
    expect(notes.results).toEqual([]);
  });

  it("a service listed in SECURITY_ALERT_SERVICES is accepted (202)", async () => {
    const user = await newCaller("user");
    const { res, eventId } = await publishEvent("security.alert", { user_id: user.sub, kind: "new_login" });
    expect(res.status).toBe(202);
    expect(await storedEvent(eventId)).toMatchObject({ type: "security.alert" });
  });
});

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_SINK_ATTEMPTS } from "../../src/events/deliveries";
import { publish } from "../../src/events/publish";
import { retryEventSinks } from "../../src/events/redeliver";
import { bodyOf } from "../helpers/body";
import { testDeps } from "../helpers/deps";
import { eventually } from "../helpers/eventually";
import { sentMessages } from "../helpers/google";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { newCaller, registerDevice, uid } from "../notifications/helpers";
import { safeId, withAbortTrigger } from "./helpers";

// Review of issue 13, item 1: a sink delivery went `dead` after 20 attempts (~13 h) and stayed
// so, silently: nothing listed, counted or re-drove it.

const sinkRow = (eventId: string, sink: string) =>
  env.DB.prepare("select status, attempts from domain_event_deliveries where event_id = ? and sink = ?")
    .bind(eventId, sink)
    .first<{ status: string; attempts: number }>();

/** Every pending delivery is due this far ahead, whatever its backoff. */
const later = () => Date.now() + 24 * 3_600_000;

/** A security alert whose notifications sink D1 refused until its last attempt: dead. */
async function deadAlert() {
  const user = await newCaller("user");
  const token = `ok-${uid()}-dead`;
  await registerDevice(user, token);
  const id = `evt_${uid()}`;
  const failing = `NEW.user_id = ${safeId(user.sub)}`;
  let dead = 0;
  await withAbortTrigger("notifications", "INSERT", failing, async () => {
    await publish(testDeps(), {
      id,
      type: "security.alert",
      source: "test",
      data: { user_id: user.sub, kind: "new_login" },
    });
    expect(await sinkRow(id, "notifications")).toMatchObject({ status: "pending", attempts: 1 });
    // As after ~13 hours of retries: the next failure is the last one.
    await env.DB.prepare(
      "update domain_event_deliveries set attempts = ? where event_id = ? and sink = 'notifications'",
    )
      .bind(MAX_SINK_ATTEMPTS - 1, id)
      .run();
    dead = (await retryEventSinks(testDeps(), later())).dead;
  });
  expect(await sinkRow(id, "notifications")).toMatchObject({ status: "dead", attempts: MAX_SINK_ATTEMPTS });
  return { id, token, dead };
}

describe("dead domain-event sink deliveries (operator re-drive)", () => {
  it("are counted by every retry run and listed for an admin", async () => {
    const { id, dead } = await deadAlert();
    expect(dead).toBeGreaterThanOrEqual(1);
    const admin = await newCaller("admin");
    const res = await api("/api/v1/events/admin/deliveries?sink=notifications", { headers: admin.headers });
    const body = await bodyOf(res, "GET /events/admin/deliveries", 200);
    expect(body.dead.find((d) => d.event_id === id)).toMatchObject({
      sink: "notifications",
      attempts: MAX_SINK_ATTEMPTS,
      last_error: expect.stringMatching(/injected/),
    });
    expect(
      body.counts.find((c) => c.sink === "notifications" && c.status === "dead")?.count,
    ).toBeGreaterThanOrEqual(1);
  });

  it("an admin re-drive makes them pending again, once even when raced; the cron then delivers the push once", async () => {
    const { id, token } = await deadAlert();
    const admin = await newCaller("admin");
    const call = () => postJson("/api/v1/events/admin/redrive", { event_id: id }, admin.headers);
    const raced = await Promise.all([call(), call()]);
    const bodies = await Promise.all(raced.map((r) => bodyOf(r, "POST /events/admin/redrive", 202)));
    expect(bodies.map((b) => b.redriven).sort()).toEqual([0, 1]);
    expect(bodies.flatMap((b) => b.deliveries)).toEqual([{ event_id: id, sink: "notifications" }]);
    expect(await sinkRow(id, "notifications")).toMatchObject({ status: "pending", attempts: 0 });
    expect((await bodyOf(await call(), "POST /events/admin/redrive", 202)).redriven).toBe(0);

    await retryEventSinks(testDeps(), later());
    expect(await sinkRow(id, "notifications")).toMatchObject({ status: "delivered", attempts: 1 });
    await eventually(async () => (await sentMessages(token)).length === 1, "the re-driven push");
    // Another run has nothing left to do for it: the push stays single.
    await retryEventSinks(testDeps(), later());
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("is admin-only, and refuses bad filters with a 400 envelope", async () => {
    const user = await newCaller("user");
    await expectEnvelope(await postJson("/api/v1/events/admin/redrive", {}, user.headers), 403, "FORBIDDEN");
    const admin = await newCaller("admin");
    for (const body of [{ limit: 0 }, { limit: 1001 }, { sink: "" }, { status: "dead" }]) {
      await expectEnvelope(
        await postJson("/api/v1/events/admin/redrive", body, admin.headers),
        400,
        "VALIDATION_FAILED",
      );
    }
  });
});

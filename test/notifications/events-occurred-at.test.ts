import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { authHeaders } from "../helpers/auth";
import { expectEnvelope } from "../helpers/http";
import { newCaller, postJson, uid } from "./helpers";

// Review of issue 13 (items 10 and 11): a service chose `occurred_at` freely, and it became the
// domain event's `created_at`, the column the retention judges by. An event dated in the past
// was expired by the next daily run, taking its de-duplication key with it, so a replay of the
// same id ran every sink again; one dated in the future was never expired at all.

const asService = async (sub: string) =>
  authHeaders({ role: "service", sub }, { "content-type": "application/json" });

const stored = (id: string) =>
  env.DB.prepare("select id from domain_events where id = ?").bind(id).first<{ id: string }>();

describe("POST /events bounds occurred_at", () => {
  it("an occurred_at years in the past or in the future is 400 on occurred_at, and nothing is written", async () => {
    const user = await newCaller("user");
    const sub = `svc-clock-${uid()}`;
    for (const occurred_at of ["2000-01-01T00:00:00Z", "9999-01-01T00:00:00Z"]) {
      const id = `evt_${uid()}`;
      const res = await postJson(
        "/api/v1/events",
        { id, type: "feature_flag.enabled", data: { flag: "f", user_ids: [user.sub] }, occurred_at },
        await asService(sub),
      );
      const body = await expectEnvelope(res, 400, "VALIDATION_FAILED");
      expect(JSON.stringify(body)).toContain("occurred_at");
      expect(await stored(`ext:${sub}:${id}`)).toBeNull();
    }
  });

  it("an occurred_at within the last week, or a minute ahead (clock skew), is accepted", async () => {
    const user = await newCaller("user");
    const sub = `svc-clock-${uid()}`;
    for (const offset of [-6 * 86_400_000, 60_000]) {
      const id = `evt_${uid()}`;
      const res = await postJson(
        "/api/v1/events",
        {
          id,
          type: "feature_flag.enabled",
          data: { flag: "f", user_ids: [user.sub] },
          occurred_at: new Date(Date.now() + offset).toISOString(),
        },
        await asService(sub),
      );
      expect(res.status).toBe(202);
      expect(await stored(`ext:${sub}:${id}`)).not.toBeNull();
    }
  });
});

import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { analyticsEvents } from "../../src/db/schema/analytics";
import { newCaller } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { eventually } from "../helpers/eventually";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { db } from "./helpers";

const readRows = (sessions: string[]) =>
  db.select().from(analyticsEvents).where(inArray(analyticsEvents.sessionId, sessions));
/**
 * The sessions' rows once the ingest consumer has written `expected` of them: a 202 means the
 * queue accepted them, and the rows follow within seconds (docs/analytics.md).
 */
const rowsOf = async (sessions: string[], expected: number) => {
  await eventually(async () => (await readRows(sessions)).length >= expected, `${expected} stored events`);
  return readRows(sessions);
};

describe("POST /analytics/events", () => {
  it("accepts an anonymous batch with a session id and stores it without a user", async () => {
    const session = crypto.randomUUID();
    const res = await postJson("/api/v1/analytics/events", {
      events: [
        { event_type: "session_started", session_id: session },
        { event_type: "page_view", session_id: session, page: "/home", properties: { ref: "ad" } },
        {
          event_type: "button_click",
          session_id: session,
          page: "/home",
          element: "cta",
          timestamp: Date.now() - 1000,
        },
      ],
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 3, rejected: 0, errors: [] });
    const rows = await rowsOf([session], 3);
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.userId === null)).toBe(true);
    expect(rows.find((r) => r.eventType === "page_view")?.properties).toEqual({ ref: "ad" });
  });

  it("takes the user id from the token and refuses one in the body", async () => {
    const user = await newCaller("user");
    const session = crypto.randomUUID();
    const res = await postJson(
      "/api/v1/analytics/events",
      {
        events: [
          { event_type: "page_view", session_id: session, page: "/a" },
          { event_type: "page_view", session_id: session, page: "/b", user_id: "someone-else" },
        ],
      },
      user.headers,
    );
    const body = await bodyOf(res, "POST /analytics/events", 202);
    expect(res.status).toBe(202);
    expect(body.accepted).toBe(1);
    expect(body.errors).toEqual([expect.objectContaining({ index: 1, code: "INVALID_EVENT" })]);
    const rows = await rowsOf([session], 1);
    expect(rows.map((r) => r.userId)).toEqual([user.sub]);
  });

  it("keeps the good events of a batch and itemises every rejection", async () => {
    const s = crypto.randomUUID();
    const now = Date.now();
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 4; i++) deep = { nested: deep };
    const res = await postJson("/api/v1/analytics/events", {
      events: [
        { event_type: "page_view", session_id: s, page: "/ok" },
        { event_type: "payment_completed", session_id: s, properties: { amount: 100 } },
        { event_type: "page_view", session_id: s, timestamp: new Date(now + 10 * 60_000).toISOString() },
        { event_type: "page_view", session_id: s, timestamp: now - 8 * 86_400_000 },
        { event_type: "page_view", session_id: s, properties: { blob: "x".repeat(5000) } },
        { event_type: "page_view", session_id: s, properties: deep },
        { event_type: "page_view", page: "/no-session" },
        { event_type: "teleported", session_id: s },
        "not an object",
        { event_type: "feature_used", session_id: s, element: "export" },
      ],
    });
    expect(res.status).toBe(202);
    const body = await bodyOf(res, "POST /analytics/events", 202);
    expect(body.accepted).toBe(2);
    expect(body.rejected).toBe(8);
    expect(body.errors.map((e) => [e.index, e.code, e.path])).toEqual([
      [1, "EVENT_TYPE_NOT_ALLOWED", "event_type"],
      [2, "TIMESTAMP_OUT_OF_RANGE", "timestamp"],
      [3, "TIMESTAMP_OUT_OF_RANGE", "timestamp"],
      [4, "PROPERTIES_TOO_LARGE", "properties"],
      [5, "PROPERTIES_TOO_DEEP", "properties"],
      [6, "INVALID_EVENT", "session_id"],
      [7, "INVALID_EVENT", "event_type"],
      [8, "INVALID_EVENT", ""],
    ]);
    const rows = await rowsOf([s], 2);
    expect(rows.map((r) => r.eventType).sort()).toEqual(["feature_used", "page_view"]);
  });

  it("rejects an event whose text holds an unpaired surrogate, and keeps one with an emoji", async () => {
    const session = crypto.randomUUID();
    // Built from code units so no test output ever carries the lone surrogate itself.
    const lone = `/x${String.fromCharCode(0xd800)}y`;
    const res = await postJson("/api/v1/analytics/events", {
      events: [
        { event_type: "page_view", session_id: session, page: lone },
        { event_type: "page_view", session_id: session, element: String.fromCharCode(0xdfff) },
        { event_type: "page_view", session_id: session, page: "/🧪" },
      ],
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as {
      accepted: number;
      errors: Array<{ index: number; code: string; path: string }>;
    };
    expect(body.accepted).toBe(1);
    expect(body.errors.map((e) => [e.index, e.code, e.path])).toEqual([
      [0, "INVALID_EVENT", "page"],
      [1, "INVALID_EVENT", "element"],
    ]);
    const rows = await rowsOf([session], 1);
    expect(rows.map((r) => r.page)).toEqual(["/🧪"]);
  });

  it("stores every event of a full batch of 100, beyond the AE per-invocation budget", async () => {
    const s = crypto.randomUUID();
    const events = Array.from({ length: 100 }, (_, i) => ({
      event_type: "page_view",
      session_id: s,
      page: `/p${i}`,
    }));
    const res = await postJson("/api/v1/analytics/events", { events });
    expect(res.status).toBe(202);
    expect((await bodyOf(res, "POST /analytics/events", 202)).accepted).toBe(100);
    expect(await rowsOf([s], 100)).toHaveLength(100);
  });

  it("rejects a malformed batch as a whole with 400", async () => {
    const s = crypto.randomUUID();
    const tooMany = Array.from({ length: 101 }, () => ({ event_type: "page_view", session_id: s }));
    await expectEnvelope(
      await postJson("/api/v1/analytics/events", { events: tooMany }),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(
      await postJson("/api/v1/analytics/events", { events: [] }),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(await postJson("/api/v1/analytics/events", [{ event_type: "page_view" }]), 400);
    expect(await readRows([s])).toHaveLength(0);
  });

  it("answers 400, not 500, to a POST without a body (the body is required)", async () => {
    await expectEnvelope(await api("/api/v1/analytics/events", { method: "POST" }), 400, "VALIDATION_FAILED");
  });

  it("answers 401 to a bad token instead of tracking anonymously", async () => {
    const res = await postJson(
      "/api/v1/analytics/events",
      { events: [{ event_type: "page_view", session_id: "x" }] },
      { authorization: "Bearer not-a-jwt" },
    );
    await expectEnvelope(res, 401, "UNAUTHENTICATED");
  });
});

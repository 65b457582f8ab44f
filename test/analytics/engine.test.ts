import { describe, expect, it } from "vitest";
import {
  AE_MAX_POINTS_PER_INVOCATION,
  AE_SCHEMA_VERSION,
  type AeBinding,
  type AePoint,
  AeWriter,
} from "../../src/analytics/engine";
import { toAePoint } from "../../src/analytics/store";

class RecordingAe implements AeBinding {
  points: AnalyticsEngineDataPoint[] = [];
  writeDataPoint(p?: AnalyticsEngineDataPoint): void {
    if (p) this.points.push(p);
  }
}

const point = (i: number, eventType: AePoint["eventType"] = "page_view"): AePoint => ({
  eventType,
  userId: i % 2 === 0 ? `u${i}` : null,
  sessionId: `s${i}`,
  page: "/p",
  occurredAt: 1_700_000_000_000 + i,
});

describe("AeWriter", () => {
  it("writes one point per event with the documented layout", () => {
    const ae = new RecordingAe();
    const stats = new AeWriter(ae).writeAll([
      { ...point(0, "payment_completed"), currency: "eur", amount: 1250, source: "webhook" },
      point(1),
    ]);
    expect(stats).toEqual({ written: 2, events: 2, rolledUp: 0, dropped: 0 });
    expect(ae.points[0]).toEqual({
      indexes: ["payment_completed"],
      blobs: [AE_SCHEMA_VERSION, "payment_completed", "u0", "s0", "/p", "", "webhook", "eur", "event", "0"],
      doubles: [1_700_000_000_000, 1250, 1],
    });
    expect(ae.points[1]?.blobs?.[2]).toBe(""); // anonymous
  });

  it("never exceeds 250 points (the current AE limit): the tail of a big batch becomes one rollup per type", () => {
    expect(AE_MAX_POINTS_PER_INVOCATION).toBe(250);
    const ae = new RecordingAe();
    const points = Array.from({ length: 300 }, (_, i) =>
      point(i, i % 2 === 0 ? "page_view" : "button_click"),
    );
    const stats = new AeWriter(ae).writeAll(points);
    expect(ae.points).toHaveLength(250);
    // 248 single points + 2 rollups (page_view, button_click) standing for the last 52 events.
    expect(stats).toEqual({ written: 250, events: 300, rolledUp: 52, dropped: 0 });
    const rollups = ae.points.filter((p) => p.blobs?.[8] === "rollup");
    expect(rollups.map((p) => p.doubles?.[2]).sort()).toEqual([26, 26]);
    expect(rollups.map((p) => p.indexes?.[0]).sort()).toEqual(["button_click", "page_view"]);
  });

  it("shares the budget across calls within one invocation and counts what it drops", () => {
    const ae = new RecordingAe();
    const writer = new AeWriter(ae);
    writer.writeAll(Array.from({ length: 250 }, (_, i) => point(i)));
    const stats = writer.writeAll([point(99)]);
    expect(ae.points).toHaveLength(250);
    expect(stats.dropped).toBe(1);
    expect(writer.remaining).toBe(0);
  });

  it("drops whole groups when even the rollups do not fit", () => {
    const ae = new RecordingAe();
    const types = ["page_view", "button_click", "campaign_viewed", "feature_used"] as const;
    const points = Array.from({ length: 40 }, (_, i) => point(i, types[i % 4]));
    const stats = new AeWriter(ae, 3).writeAll(points);
    expect(ae.points).toHaveLength(3);
    expect(stats).toEqual({ written: 3, events: 30, rolledUp: 30, dropped: 10 });
  });

  it("counts everything as dropped without a binding or when the binding throws", () => {
    expect(new AeWriter(undefined).writeAll([point(1), point(2)]).dropped).toBe(2);
    const throwing: AeBinding = {
      writeDataPoint: () => {
        throw new Error("boom");
      },
    };
    expect(new AeWriter(throwing).writeAll([point(1)])).toEqual({
      written: 0,
      events: 0,
      rolledUp: 0,
      dropped: 1,
    });
  });
});

describe("toAePoint", () => {
  const row = (eventType: AePoint["eventType"]) => ({
    id: "e1",
    eventType,
    userId: null,
    sessionId: "s1",
    page: "/checkout",
    properties: { currency: "usd", amount: 4200 },
    occurredAt: 1_700_000_000_000,
    receivedAt: 1_700_000_000_000,
  });

  it("takes currency and amount from the server's payment events only (docs/analytics.md, blob8 and double2)", () => {
    expect(toAePoint(row("payment_completed"))).toMatchObject({ currency: "usd", amount: 4200 });
    // A client may put anything in its properties: a page view must not look like revenue in AE.
    expect(toAePoint(row("page_view"))).toMatchObject({ currency: null, amount: null });
  });
});

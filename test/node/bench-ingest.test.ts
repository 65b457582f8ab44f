import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { judge } from "../../bench/lib/report.mjs";
import { d1File } from "../../bench/lib/seed.mjs";
import { ingestBodies, ingestFigures } from "../../bench/workloads/ingest.mjs";

/** The ingest workload's pieces that need no servers (issue 16): its bodies, figures and files. */
describe("bench ingest workload", () => {
  it("posts full batches whose sessions all fall in one index range of the run's prefix", () => {
    const prefix = "bench-ingest-queued-x-";
    const bodies = ingestBodies(prefix, 3);
    expect(bodies).toHaveLength(3);
    for (const b of bodies) {
      expect(b.events).toHaveLength(100);
      const sessions = new Set(b.events.map((e: { session_id: string }) => e.session_id));
      expect(sessions.size).toBeLessThanOrEqual(5);
      for (const s of sessions) expect(s >= prefix && s < `${prefix}\uffff`).toBe(true);
    }
  });

  it("judges both paths against 20,000 events/s on the median, UNSTABLE past 2×, the direct path as baseline", () => {
    const run = (eventsPerS: number, load = 0.5) => ({ eventsPerS, acceptPerS: 1, drainMs: 1, p99: 1, load });
    const figures = ingestFigures({
      queued: [run(21_000), run(25_000), run(22_000)],
      direct: [run(7_000), run(6_500), run(30_000)],
    });
    const [queued, direct] = figures;
    if (!queued || !direct) throw new Error("no figures");
    expect(judge(queued).verdict).toBe("PASS");
    expect(judge(queued).b?.median).toBe(7_000);
    expect(judge(direct).verdict).toBe("UNSTABLE");
    expect(queued.loads).toEqual([0.5, 0.5, 0.5]);
    const slow = ingestFigures({
      queued: [run(9_000), run(10_000), run(11_000)],
      direct: [run(1), run(1), run(1)],
    });
    expect(slow[0] && judge(slow[0]).verdict).toBe("MISS");
  });

  it("reports the decomposition sides without a target, the unwritten ones by their accepted rate", () => {
    const run = (eventsPerS: number, acceptPerS: number) => ({
      eventsPerS,
      acceptPerS,
      drainMs: 1,
      p99: 1,
      load: 0.5,
    });
    const figures = ingestFigures({
      "no-budget": [run(12_000, 13_000), run(12_500, 13_500), run(13_000, 14_000)],
      "ack-only": [run(0, 21_000), run(0, 22_000), run(0, 23_000)],
      "post-only": [run(0, 26_000), run(0, 27_000), run(0, 28_000)],
    });
    expect(figures.map((f) => [f.label.split(" ")[0], f.values])).toEqual([
      ["no-budget", [12_000, 12_500, 13_000]],
      ["ack-only", [21_000, 22_000, 23_000]],
      ["post-only", [26_000, 27_000, 28_000]],
    ]);
    for (const f of figures) expect(judge(f).verdict).toBe("");
  });

  it("finds ANALYTICS_DB's local file apart from DB's (the one with payments)", () => {
    const state = mkdtempSync(path.join(os.tmpdir(), "bench-state-"));
    const dir = path.join(state, "v3/d1/miniflare-D1DatabaseObject");
    mkdirSync(dir, { recursive: true });
    const make = (name: string, sql: string) => {
      const db = new DatabaseSync(path.join(dir, name));
      db.exec(sql);
      db.close();
    };
    make("aaa.sqlite", "CREATE TABLE payments (id TEXT); CREATE TABLE analytics_events (id TEXT)");
    make("bbb.sqlite", "CREATE TABLE analytics_events (id TEXT)");
    make("metadata.sqlite", "CREATE TABLE m (x)");
    expect(path.basename(d1File("DB", state))).toBe("aaa.sqlite");
    expect(path.basename(d1File("ANALYTICS_DB", state))).toBe("bbb.sqlite");
  });
});

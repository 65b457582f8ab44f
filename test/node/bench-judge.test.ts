import { describe, expect, it } from "vitest";
import { judge, LOADED_ABOVE, printFigures } from "../../bench/lib/report.mjs";
import { acrossRuns } from "../../bench/lib/stats.mjs";

/**
 * Issue 15: each figure is the median of ≥ 3 runs, and a figure that cannot be trusted is never
 * reported as a PASS. The bench's own verdicts are checked here (no bench run needed).
 */
describe("bench verdicts", () => {
  it("takes the true median of an even number of runs, not the lower (flattering) one", () => {
    expect(acrossRuns([40, 90]).median).toBe(65);
    expect(acrossRuns([10, 20, 30, 40]).median).toBe(25);
    expect(acrossRuns([30, 10, 20]).median).toBe(20);
  });

  it("never prints PASS for a figure measured in fewer than 3 runs", () => {
    const target = { op: "<=", value: 50, metric: "value", text: "≤ 50 ms" };
    expect(judge({ label: "p99", unit: "ms", values: [20], target }).verdict).not.toBe("PASS");
    // Two runs 40 and 90 ms (within 2×): the lower-rank "median" was 40 → PASS.
    expect(judge({ label: "p99", unit: "ms", values: [40, 90], target }).verdict).not.toBe("PASS");
    expect(judge({ label: "p99", unit: "ms", values: [20, 30, 40], target }).verdict).toBe("PASS");
    expect(judge({ label: "p99", unit: "ms", values: [40, 55, 60], target }).verdict).toBe("MISS");
  });

  it("marks a PASS provisional when the runs recorded no load average", () => {
    const target = { op: "<=", value: 50, metric: "value", text: "≤ 50 ms" };
    const lines: string[] = [];
    const print = (l: string) => lines.push(l);
    printFigures("rest", { figures: [{ label: "p99", unit: "ms", values: [20, 30, 40], target }] }, print);
    printFigures(
      "rest",
      { figures: [{ label: "p99", unit: "ms", values: [20, 30, 40], target, loads: [0.5, 0.4, 0.6] }] },
      print,
    );
    expect(lines[0]).toContain("PASS (provisional: load not recorded)");
    expect(lines[1]?.startsWith("PASS ")).toBe(true);
    expect(lines[1]).not.toContain("provisional");
  });

  it("calls a run loaded only when the load is above the bench's own share (cores + 1)", () => {
    const target = { op: "<=", value: 50, metric: "value", text: "≤ 50 ms" };
    const lines: string[] = [];
    const print = (l: string) => lines.push(l);
    const fig = (loads: number[]) => ({
      figures: [{ label: "p99", unit: "ms", values: [20, 30, 40], target, loads }],
    });
    printFigures("chat", fig([LOADED_ABOVE - 0.5, 1, 1]), print);
    printFigures("chat", fig([LOADED_ABOVE + 0.5, 1, 1]), print);
    expect(lines[0]).not.toContain("provisional");
    expect(lines[1]).toContain("PASS (provisional: loaded)");
  });
});

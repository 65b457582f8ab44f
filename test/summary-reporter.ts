import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Reporter, TestModule } from "vitest/node";

type Counts = { passed: number; failed: number; skipped: number };

// `npm test` runs three vitest invocations: the workerd suite ("first": records its counts here),
// the Node contract checks ("middle": adds theirs) and then the browser test ("last": adds them
// up, prints the total and removes the file).
const TOTALS = path.join(import.meta.dirname, "../.build/test-counts.json");

/**
 * Prints one plain closing line, "total: N passed, N failed, N skipped", after vitest's own
 * summary, so CI logs can be read by tools that do not parse vitest's format.
 */
export default class SummaryReporter implements Reporter {
  private readonly position: "first" | "middle" | "last";

  constructor(options: { position?: "first" | "middle" | "last" } = {}) {
    this.position = options.position ?? "first";
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const run: Counts = { passed: 0, failed: 0, skipped: 0 };
    for (const mod of testModules) {
      const tests = [...mod.children.allTests()];
      for (const test of tests) {
        const state = test.result().state;
        if (state === "passed") run.passed++;
        else if (state === "failed") run.failed++;
        else run.skipped++;
      }
      // A file that failed to load has no tests but must still count as a failure.
      if (mod.state() === "failed" && tests.length === 0) run.failed++;
    }
    let total = run;
    if (this.position !== "first" && existsSync(TOTALS)) {
      const before = JSON.parse(readFileSync(TOTALS, "utf8")) as Counts;
      total = {
        passed: before.passed + run.passed,
        failed: before.failed + run.failed,
        skipped: before.skipped + run.skipped,
      };
    }
    if (this.position === "last") {
      rmSync(TOTALS, { force: true });
    } else {
      mkdirSync(path.dirname(TOTALS), { recursive: true });
      writeFileSync(TOTALS, JSON.stringify(total));
    }
    // Only the last line is the run's total; the earlier ones print their own counts.
    const [label, shown] =
      this.position === "last" ? ["total", total] : [this.position === "first" ? "workers" : "node", run];
    process.stdout.write(
      `\n${label}: ${shown.passed} passed, ${shown.failed} failed, ${shown.skipped} skipped\n`,
    );
  }
}

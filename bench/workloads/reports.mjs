// Analytics reports on the seeded events (1M at scale 1, spread over 90 days): each report is
// asked sequentially (one connection) over the whole 90 days and over the default 30 days.
// Baseline: the bare route, asked the same way in the same run.
import { randomUUID } from "node:crypto";
import { call, httpLoad } from "../lib/http-load.mjs";

const DAY = 86_400_000;

export async function run(ctx) {
  const { platform, baseline, runs, seed, scale, log } = ctx;
  const admin = await ctx.token("admin", randomUUID());
  const from = encodeURIComponent(new Date(Date.now() - 91 * DAY).toISOString());
  const reports = [
    ["user-behavior (90 d)", `/api/v1/analytics/user-behavior?from=${from}`],
    ["user-behavior (30 d)", "/api/v1/analytics/user-behavior"],
    [
      "conversion-funnel (90 d, 3 steps)",
      `/api/v1/analytics/conversion-funnel?from=${from}&steps=session_started,button_click,payment_completed&window=7d`,
    ],
    ["revenue (90 d, by week)", `/api/v1/analytics/revenue?from=${from}&interval=week`],
    ["retention (90 d, weekly cohorts)", `/api/v1/analytics/retention?from=${from}&cohort=week&periods=8`],
  ];
  const amount = Math.max(5, Math.round(20 * scale));
  const figures = [];
  const notes = [];
  const live = [];
  for (const [label, path] of reports) {
    const probe = await call(platform.base, "GET", path, { token: admin }).catch((e) => ({
      status: 0,
      text: e.message,
    }));
    if (probe.status !== 200)
      figures.push({ label, unavailable: `probe answered ${probe.status} ${probe.text.slice(0, 100)}` });
    else live.push([label, path]);
  }
  const R = Object.fromEntries(live.map(([l]) => [l, []]));
  const bare = [];
  for (let r = 0; r < runs; r++) {
    log(`reports: run ${r + 1}/${runs}`);
    bare.push(await httpLoad({ url: `${baseline.base}/empty`, connections: 1, amount, duration: 60 }));
    for (const [label, path] of live) {
      R[label].push(
        await httpLoad({
          url: `${platform.base}${path}`,
          connections: 1,
          amount,
          duration: 120,
          tokens: [admin],
        }),
      );
    }
  }
  for (const [label] of live) {
    const rs = R[label];
    const bad = rs.reduce((n, x) => n + x.non2xx + x.errors + x.timeouts, 0);
    if (bad) notes.push(`${label}: ${bad} failed requests ${JSON.stringify(rs.map((x) => x.statuses))}`);
    figures.push(
      {
        label: `${label} p50`,
        unit: "ms",
        values: rs.map((x) => x.latency.p50),
        baseline: bare.map((x) => x.latency.p50),
        target: { metric: "value", op: "<=", value: 500, text: "≤ 500 ms" },
      },
      {
        label: `${label} p99`,
        unit: "ms",
        values: rs.map((x) => x.latency.p99),
        baseline: bare.map((x) => x.latency.p99),
      },
    );
  }
  return {
    figures,
    notes,
    setup: [
      `${seed.analytics} analytics events over 90 days, ${seed.payments} payments, ${seed.subscriptions} subscriptions seeded; ${amount} sequential requests per report per run (autocannon, 1 connection)`,
    ],
  };
}

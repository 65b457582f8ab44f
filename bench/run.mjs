// `npm run bench [-- <workload>...] [--scale 0.1] [--runs 3] [--duration 5] [--fresh] [--local-tracing]`
// Starts the platform, the emulators and the baseline worker on loopback with their own
// persistence under bench/.state, seeds what the chosen workloads need, runs them, keeps the
// raw results in bench/.results and rewrites the generated part of BENCHMARKS.md.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { signDevToken } from "../scripts/lib/token.mjs";
import { freePort, RESULTS_DIR, ROOT, STATE_DIR, writeBenchEnv } from "./lib/env.mjs";
import { killAll, setLocalTracing, startWrangler, wranglerSync } from "./lib/procs.mjs";
import { startProfile } from "./lib/profile.mjs";
import { printFigures, writeBenchmarksMd } from "./lib/report.mjs";
import {
  openForSeeding,
  rebuildAnalyticsRollups,
  seedAnalytics,
  seedDevices,
  seedPayments,
  seedSubscriptions,
} from "./lib/seed.mjs";
import { snapshotSources } from "./lib/snapshot.mjs";

// rest last: its 600 warmed-up admin callers would otherwise widen every "all admins" fan-out in the others.
const WORKLOADS = ["chat", "ingest", "push", "reports", "rest"];
const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scale: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    fresh: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    serve: { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    // A comma list of a workload's scenarios to run (chat: big1, big2, many, busy, burst, idle; rest: health,
    // history, history-stub, history-sql, by-id, ingest, create-intent; ingest: its sides), for profiling one.
    only: { type: "string" },
    // wrangler dev's local trace store (every invocation and binding call of every server,
    // written to a SQLite file on the same workerd thread) is a dev-only cost with no production
    // counterpart, and off by default here (BENCHMARKS.md, "Local tracing"); this turns it on.
    "local-tracing": { type: "boolean", default: false },
  },
});
const selected = positionals.length ? positionals : WORKLOADS;
for (const w of selected)
  if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}; one of ${WORKLOADS}`);
const scale = Number(opt.scale);
if (!(scale > 0 && scale <= 1)) throw new Error("--scale must be in (0, 1]");
const runs = Math.max(1, Math.min(10, Number(opt.runs)));
const duration = Math.max(1, Math.min(30, Number(opt.duration)));

setLocalTracing(opt["local-tracing"]);
const log = (msg) => console.log(`\x1b[36m[bench]\x1b[0m ${msg}`);
const t0 = Date.now();
mkdirSync(RESULTS_DIR, { recursive: true });

function machine() {
  const workerd = execFileSync(path.join(ROOT, "node_modules/.bin/workerd"), ["--version"], {
    encoding: "utf8",
  }).trim();
  const wrangler = JSON.parse(
    readFileSync(path.join(ROOT, "node_modules/wrangler/package.json"), "utf8"),
  ).version;
  const cpu = os.cpus();
  return `${cpu.length} cores (${cpu[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${workerd}, wrangler ${wrangler}, load avg ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join("/")} at start, wrangler local tracing ${opt["local-tracing"] ? "on" : "off"}`;
}

// ---- state: migrations and seed, reused when the previous run seeded the same scale ----
const needs = {
  payments: selected.includes("rest") || selected.includes("reports"),
  analytics: selected.includes("rest") || selected.includes("reports") || selected.includes("ingest"),
  devices: selected.includes("push"),
};
const markerFile = path.join(STATE_DIR, "seed.json");
const marker = existsSync(markerFile) ? JSON.parse(readFileSync(markerFile, "utf8")) : null;
const reuse =
  !opt.fresh &&
  marker?.scale === scale &&
  (!needs.payments || marker.payments) &&
  (!needs.analytics || marker.analytics) &&
  (!needs.devices || marker.devices);
let seed = marker;
if (!reuse) {
  rmSync(STATE_DIR, { recursive: true, force: true });
  mkdirSync(STATE_DIR, { recursive: true });
  log("applying migrations to bench/.state");
  wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE_DIR]);
  wranglerSync(["d1", "migrations", "apply", "ANALYTICS_DB", "--local", "--persist-to", STATE_DIR]);
  seed = {
    scale,
    payments: 0,
    analytics: 0,
    subscriptions: 0,
    devices: 0,
    benchPaymentIds: [],
    pushUsers: [],
    seconds: {},
  };
  const db = openForSeeding();
  if (needs.payments) {
    const t = Date.now();
    seed.payments = Math.round(100_000 * scale);
    seed.benchPaymentIds = seedPayments(db, seed.payments);
    seed.subscriptions = Math.round(5_000 * scale);
    seedSubscriptions(db, seed.subscriptions);
    seed.seconds.payments = (Date.now() - t) / 1000;
    log(
      `seeded ${seed.payments} payments + ${seed.subscriptions} subscriptions in ${seed.seconds.payments}s`,
    );
  }
  if (needs.analytics) {
    const t = Date.now();
    const adb = openForSeeding("ANALYTICS_DB");
    seed.analytics = seedAnalytics(adb, Math.round(1_000_000 * scale));
    seed.rollups = rebuildAnalyticsRollups(adb);
    adb.exec("ANALYZE");
    adb.close();
    seed.seconds.analytics = (Date.now() - t) / 1000;
    log(
      `seeded ${seed.analytics} analytics events (+ rollups ${seed.rollups.join(", ")}) in ${seed.seconds.analytics}s`,
    );
  }
  if (needs.devices) {
    seed.devices = Math.round(10_000 * scale);
    seed.pushUsers = seedDevices(db, seed.devices);
    log(`seeded ${seed.devices} devices over ${seed.pushUsers.length} users`);
  }
  db.exec("ANALYZE");
  db.close();
  writeFileSync(markerFile, JSON.stringify(seed));
} else {
  log(`reusing bench/.state seeded at scale ${scale} (pass --fresh to reseed)`);
  // A migration added since the seed (applied ones are skipped): the code under test needs it.
  wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE_DIR]);
  wranglerSync(["d1", "migrations", "apply", "ANALYTICS_DB", "--local", "--persist-to", STATE_DIR]);
  // Callers from earlier runs would widen every "all admins" fan-out; start each run without them.
  const db = openForSeeding();
  db.exec("DELETE FROM users");
  db.close();
}

// ---- servers ----
const [
  platformPort,
  emulatorPort,
  baselinePort,
  referencePort,
  stubPort,
  ingestPort,
  i1,
  i2,
  i3,
  i4,
  i5,
  i6,
] = await Promise.all(Array.from({ length: 12 }, freePort));
const vars = writeBenchEnv({ platformPort, emulatorPort });
// Serve a copy of the sources, so edits made in the checkout meanwhile cannot reload the workers.
const SRC = snapshotSources();
log(`starting emulators :${emulatorPort}, platform :${platformPort}, baseline :${baselinePort}`);
// The reference chat (bench/reference: cloudflare/workers-chat-demo) only serves the chat workload.
const withReference = selected.includes("chat");
// The bench-only platform build with the payment rate limiter stubbed (bench/stub-limiter) serves
// the rest workload, on its own copy of the seeded state so two runtimes never share a file.
const withStub = selected.includes("rest");
const STUB_STATE = path.join(STATE_DIR, "..", ".state-stub");
const withIngest = selected.includes("ingest");
const INGEST_STATE = path.join(STATE_DIR, "..", ".state-ingest");
const copyState = (to) => {
  rmSync(to, { recursive: true, force: true });
  cpSync(STATE_DIR, to, { recursive: true, filter: (src) => !src.includes(`${path.sep}snapshot`) });
};
if (withStub) copyState(STUB_STATE);
// Its own copy: the ingest workload adds rows, which must not reach the other workloads' seed.
if (withIngest) copyState(INGEST_STATE);
const [emulators, platform, baseline, reference, stubbed, ingest] = await Promise.all([
  startWrangler({
    name: "emulators",
    cwd: path.join(SRC, "emulators"),
    port: emulatorPort,
    inspectorPort: i1,
    args: ["--env-file", vars.emulatorEnv, "--persist-to", path.join(STATE_DIR, "emulators")],
    readyPath: "/_emulator/google/stats",
  }),
  startWrangler({
    name: "platform",
    cwd: SRC,
    port: platformPort,
    inspectorPort: i2,
    args: ["--env-file", vars.platformEnv, "--persist-to", STATE_DIR],
    readyPath: "/api/v1/health",
  }),
  startWrangler({
    name: "baseline",
    cwd: path.join(SRC, "bench/baseline"),
    port: baselinePort,
    inspectorPort: i3,
    args: ["--persist-to", path.join(STATE_DIR, "baseline")],
    readyPath: "/empty",
  }),
  withReference
    ? startWrangler({
        name: "reference",
        cwd: path.join(SRC, "bench/reference"),
        port: referencePort,
        inspectorPort: i4,
        args: ["--persist-to", path.join(STATE_DIR, "reference")],
        readyPath: "/",
      })
    : null,
  withStub
    ? startWrangler({
        name: "platform-stub-limiter",
        cwd: SRC,
        port: stubPort,
        inspectorPort: i5,
        args: ["bench/stub-limiter/index.js", "--env-file", vars.platformEnv, "--persist-to", STUB_STATE],
        readyPath: "/api/v1/health",
      })
    : null,
  withIngest
    ? startWrangler({
        name: "platform-ingest",
        cwd: SRC,
        port: ingestPort,
        inspectorPort: i6,
        args: ["bench/ingest-direct/index.js", "--env-file", vars.platformEnv, "--persist-to", INGEST_STATE],
        readyPath: "/api/v1/health",
      })
    : null,
]);
log(`servers up after ${((Date.now() - t0) / 1000).toFixed(1)}s`);

const ctx = {
  platform,
  emulators,
  baseline,
  reference,
  stubbed,
  ingest: ingest ? { ...ingest, state: INGEST_STATE } : null,
  only: opt.only ? new Set(opt.only.split(",")) : null,
  scale,
  runs,
  duration,
  seed,
  projectId: vars.projectId,
  serviceAccount: vars.serviceAccount,
  log,
  token: (role, sub, merchantId) => signDevToken(vars.jwtSecret, { role, sub, merchantId }),
};

if (opt.serve) {
  // Keep the bench servers up (e.g. to attach a profiler to the platform's inspector port).
  log(
    `serving: platform ${platform.base} (inspector :${i2}), baseline ${baseline.base}, emulators ${emulators.base}`,
  );
  log(`admin token: ${await ctx.token("admin", "00000000-0000-4000-8000-00000000a001")}`);
  writeFileSync(
    path.join(RESULTS_DIR, "serve.json"),
    JSON.stringify({
      platform: platform.base,
      baseline: baseline.base,
      emulators: emulators.base,
      inspector: i2,
      jwtSecret: vars.jwtSecret,
    }),
  );
  await new Promise(() => {});
}

const latestFile = path.join(RESULTS_DIR, "latest.json");
const latest = existsSync(latestFile) ? JSON.parse(readFileSync(latestFile, "utf8")) : {};
const info = machine();
let failed = false;
for (const name of selected) {
  const started = Date.now();
  log(`workload ${name}`);
  try {
    const mod = await import(`./workloads/${name}.mjs`);
    // The ingest workload runs on its bench-only build: that is the worker to profile.
    const profiler = opt.profile ? await startProfile(name === "ingest" ? i6 : i2) : null;
    const res = await mod.run(ctx);
    if (profiler) {
      const file = path.join(RESULTS_DIR, `${name}.cpuprofile`);
      res.profile = await profiler.stop(file);
      log(`profile of the platform worker during ${name}: ${path.relative(ROOT, file)}`);
    }
    latest[name] = {
      date: new Date().toISOString(),
      scale,
      runs,
      machine: info,
      seconds: (Date.now() - started) / 1000,
      profiled: opt.profile,
      ...res,
    };
    if (!reuse && seed.seconds && name === "rest") {
      latest[name].setup = [
        ...(latest[name].setup ?? []),
        `seeding: ${seed.payments} payments in ${seed.seconds.payments ?? 0}s, ${seed.analytics} analytics events in ${seed.seconds.analytics ?? 0}s`,
      ];
    }
    printFigures(name, latest[name], log);
    log(`workload ${name} done in ${latest[name].seconds.toFixed(1)}s`);
  } catch (err) {
    failed = true;
    log(`workload ${name} FAILED: ${err.stack ?? err}`);
  }
}

// latest.json feeds BENCHMARKS.md, so exploratory --no-write runs must not change it either.
if (!opt["no-write"]) writeFileSync(latestFile, JSON.stringify(latest, null, 2));
writeFileSync(
  path.join(RESULTS_DIR, `run-${new Date().toISOString().replaceAll(":", "-")}.json`),
  JSON.stringify(latest, null, 2),
);
if (!opt["no-write"]) writeBenchmarksMd(latest);
killAll();
log(
  `total ${((Date.now() - t0) / 1000).toFixed(1)}s; results in bench/.results, BENCHMARKS.md ${opt["no-write"] ? "untouched" : "updated"}`,
);
process.exit(failed ? 1 : 0);

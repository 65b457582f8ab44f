// `wrangler dev` rebuilds and reloads its worker on every change to a file it bundles. Other
// engineers edit src/ while a benchmark runs, and a reload cancels in-flight requests and queue
// consumers and drops the local queue's pending messages (seen as push fan-outs stalling with
// rows claimed but never recorded). So the bench serves a copy of the sources taken at start.
import { cpSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { ROOT, STATE_DIR } from "./env.mjs";

const SNAPSHOT_DIR = path.join(STATE_DIR, "snapshot");
const ENTRIES = [
  "src",
  "public",
  "migrations",
  "migrations-analytics",
  "emulators",
  // wrangler.toml's [build] command (vendored Swagger UI, the chat page bundle) runs in the copy.
  "scripts",
  "packages/client/src",
  "packages/client/package.json",
  "bench/baseline",
  "bench/reference",
  "bench/stub-limiter",
  "bench/ingest-direct",
  "wrangler.toml",
  "package.json",
  "tsconfig.json",
];

/** Copies what the four workers are built from; returns the snapshot root (same layout as ROOT). */
export function snapshotSources() {
  rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
  mkdirSync(SNAPSHOT_DIR, { recursive: true });
  for (const entry of ENTRIES) {
    cpSync(path.join(ROOT, entry), path.join(SNAPSHOT_DIR, entry), {
      recursive: true,
      // Local secrets and state never travel (the bench passes --env-file and --persist-to).
      filter: (src) => !/(^|\/)(\.dev\.vars|\.wrangler|node_modules)$/.test(src),
    });
  }
  // Packages resolve upward from the snapshot, so one link serves all four workers.
  symlinkSync(path.join(ROOT, "node_modules"), path.join(SNAPSHOT_DIR, "node_modules"), "dir");
  return SNAPSHOT_DIR;
}

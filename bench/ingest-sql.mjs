// The ingest consumer's SQLite cost per event, step by step, outside workerd (node:sqlite): the
// statements of one consumer batch (src/analytics/store.ts, 10,000 events as 100 POSTs of the
// bench's ingest workload) on a database made from migrations-analytics and seeded as the bench
// seeds it (bench/lib/seed.mjs, rollups rebuilt). The staging statement runs in two forms,
// interleaved batch by batch: JSONB (each row converted once) and `text` (STAGE_CHUNK_TEXT,
// json_each's text `value`, where each ->> re-parses the row's object: the form before, and the
// fallback for a database that refuses jsonb()). Each batch rolls back, so every batch meets the
// same table.
// `npm exec -- node bench/ingest-sql.mjs [--seeded 1000000] [--batches 9]`: prints the median
// µs per event of each step, with min and max. Compare steps and forms, not absolute figures.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import {
  CLEAR_STAGE,
  ROWS_PER_STATEMENT,
  STAGE_CHUNK,
  STAGE_CHUNK_TEXT,
  statementsFor,
  toJsonRow,
} from "../src/analytics/store.ts";
import { rebuildAnalyticsRollups, seedAnalytics } from "./lib/seed.mjs";
import { ingestBodies } from "./workloads/ingest.mjs";

const { values: opt } = parseArgs({
  options: { seeded: { type: "string", default: "1000000" }, batches: { type: "string", default: "9" } },
});
const SEEDED = Number(opt.seeded);
const BATCHES = Math.max(3, Number(opt.batches));
const POSTS_PER_BATCH = 100; // max_batch_size messages of one POST's 100 events each

const dir = mkdtempSync(path.join(tmpdir(), "ingest-sql-"));
const db = new DatabaseSync(path.join(dir, "analytics.sqlite"));
db.exec("PRAGMA journal_mode = WAL");
const migrations = path.join(import.meta.dirname, "../migrations-analytics");
for (const f of readdirSync(migrations)
  .filter((f) => f.endsWith(".sql"))
  .sort()) {
  db.exec(readFileSync(path.join(migrations, f), "utf8"));
}
seedAnalytics(db, SEEDED);
rebuildAnalyticsRollups(db);

/** One consumer batch's rows in their JSON form (store.ts toJsonRow), fresh ids and sessions. */
let batchNo = 0;
function batchRows() {
  const now = Date.now();
  const prefix = `sql-${batchNo++}-`;
  return ingestBodies(prefix, POSTS_PER_BATCH).flatMap((b, p) =>
    b.events.map((e, i) =>
      toJsonRow({
        id: `${now.toString(36)}-${batchNo}-${p}-${i}`,
        eventType: e.event_type,
        sessionId: e.session_id,
        page: e.page,
        element: e.element,
        source: e.source,
        occurredAt: now,
        receivedAt: now,
      }),
    ),
  );
}

const steps = new Map();
const record = (label, us) => steps.set(label, [...(steps.get(label) ?? []), us]);
function timeBatch(form, stage) {
  const rows = batchRows();
  const chunks = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT)
    chunks.push(JSON.stringify(rows.slice(i, i + ROWS_PER_STATEMENT)));
  const perEvent = (ms) => (1000 * ms) / rows.length;
  const time = (label, f) => {
    const s = performance.now();
    f();
    record(label, perEvent(performance.now() - s));
  };
  db.exec("BEGIN");
  db.exec(CLEAR_STAGE);
  const st = db.prepare(stage);
  time(`stage (${form})`, () => {
    for (const c of chunks) st.run(c);
  });
  const kept = db.prepare("SELECT COUNT(*) AS n FROM analytics_ingest_stage WHERE keep").get().n;
  if (kept !== rows.length) throw new Error(`${form}: ${kept} of ${rows.length} rows staged to keep`);
  if (form === "jsonb") {
    for (const q of statementsFor(rows)) time(q.replace(/\s+/g, " ").slice(0, 36), () => db.exec(q));
  }
  db.exec("ROLLBACK");
}

for (let b = 0; b < BATCHES; b++) {
  for (const [form, stage] of b % 2
    ? [
        ["text", STAGE_CHUNK_TEXT],
        ["jsonb", STAGE_CHUNK],
      ]
    : [
        ["jsonb", STAGE_CHUNK],
        ["text", STAGE_CHUNK_TEXT],
      ]) {
    timeBatch(form, stage);
  }
}
db.close();
rmSync(dir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `${SEEDED} events seeded; ${BATCHES} batches of ${POSTS_PER_BATCH * 100} events; µs per event, median [min–max]`,
);
for (const [label, xs] of steps) {
  const f = (x) => x.toFixed(2);
  console.log(`${f(median(xs)).padStart(7)} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]  ${label}`);
}

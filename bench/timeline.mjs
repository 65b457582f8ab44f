// Lines up a chat run's slowest moments with what the local runtime did to its SQLite files.
// How the eviction stall in BENCHMARKS.md (status of 2026-12-04) was found:
//
//   node bench/timeline.mjs watch /tmp/sqlite.log &            # polls bench/.state every 100 ms
//   BENCH_CHAT_DUMP=/tmp/chat.ndjson npm run bench -- chat --runs 2 --no-write --only many
//   kill %1; node bench/timeline.mjs report /tmp/chat.ndjson /tmp/sqlite.log
//
// workerd keeps each object's SQLite file in WAL mode, so the main file changes only at a
// checkpoint: automatic, once the WAL reaches 1,000 pages (about 4 MB), or when workerd closes the
// file, at eviction. Many files of one class changing together, each written far less than 4 MB
// since it was opened, are evictions; a busy file (the D1 database) checkpoints on its own.
// What this cannot see: a file's first sighting (new files are found every 2 s) and anything a
// process does outside SQLite. It costs CPU on the bench's own cores: statting about 2,600 files
// every 20 ms, as it first did, took about half a core (review s12), so read a run taken with it
// for where its stalls are, not for its figures.
import fs from "node:fs";
import path from "node:path";
import { STATE_DIR } from "./lib/env.mjs";

const [mode, a, b] = process.argv.slice(2);

function sqliteFiles(dir, acc = []) {
  let entries = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return acc;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sqliteFiles(p, acc);
    else if (e.name.endsWith(".sqlite")) acc.push(p);
  }
  return acc;
}

/** Appends `<epoch ms> <bytes> <path>` whenever a main database file's mtime changes. */
function watch(out) {
  const fd = fs.openSync(out, "w");
  const seen = new Map();
  let files = [];
  let tick = 0;
  setInterval(() => {
    if (tick++ % 20 === 0) files = sqliteFiles(STATE_DIR); // new objects appear as the run goes
    for (const f of files) {
      let st;
      try {
        st = fs.statSync(f);
      } catch {
        continue;
      }
      const prev = seen.get(f);
      if (prev !== undefined && prev !== st.mtimeMs)
        // The file's own mtime, not when this poll noticed: a stalled machine stalls the poll too.
        fs.writeSync(fd, `${Math.round(st.mtimeMs)} ${st.size} ${path.relative(STATE_DIR, f)}\n`);
      seen.set(f, st.mtimeMs);
    }
  }, 100);
}

const sideOf = (url) =>
  url.includes("/ws/support/")
    ? "ours"
    : url.includes("/api/room/")
      ? "reference"
      : url.includes("persist=1")
        ? "persist"
        : "bare";

/** Changes of one class, clustered by time (a gap of 500 ms ends a cluster). */
function clusters(changes) {
  const byClass = new Map();
  for (const c of changes) byClass.set(c.cls, [...(byClass.get(c.cls) ?? []), c.t]);
  const out = [];
  for (const [cls, times] of byClass) {
    for (const t of times.sort((x, y) => x - y)) {
      const last = out.at(-1);
      if (last && last.cls === cls && t - last.to < 500) {
        last.to = t;
        last.n++;
      } else out.push({ cls, from: t, to: t, n: 1 });
    }
  }
  return out.sort((x, y) => x.from - y.from);
}

/** Per side: its five slowest 100 ms windows of sending, and every file change during the side. */
function report(dumpFile, watchFile) {
  const changes = fs
    .readFileSync(watchFile, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [t, , file] = l.split(" ");
      // The object class: the directory above the file (e.g. edge-platform-LiveChannel).
      return { t: Number(t), cls: path.basename(path.dirname(file)) };
    });
  for (const line of fs.readFileSync(dumpFile, "utf8").trim().split("\n")) {
    const run = JSON.parse(line);
    const windows = new Map();
    for (const [sent, latency] of run.d) {
      const w = Math.floor((sent - run.started) / 100);
      windows.set(w, Math.max(windows.get(w) ?? 0, latency));
    }
    const worst = [...windows].sort((x, y) => y[1] - x[1]).slice(0, 5);
    console.log(
      `${sideOf(run.url)}: slowest windows (s into the run: max ms) ${worst.map(([w, ms]) => `${(w / 10).toFixed(1)}: ${ms}`).join(", ")}`,
    );
    // From the first send to the side's end (its drain included), as the child recorded it.
    const during = changes.filter((c) => c.t >= run.started && c.t <= run.ended);
    for (const x of clusters(during))
      console.log(
        `  ${x.n} ${x.cls} file(s) changed ${((x.from - run.started) / 1000).toFixed(2)}–${((x.to - run.started) / 1000).toFixed(2)} s`,
      );
  }
}

if (mode === "watch" && a) watch(a);
else if (mode === "report" && a && b) report(a, b);
else {
  console.error("usage: node bench/timeline.mjs watch <log> | report <chat dump> <log>");
  process.exit(2);
}

// `node bench/do-commit/run.mjs [--n 3000] [--runs 3]` (Linux: reads /proc): the workerd CPU one
// Durable Object turn costs locally, per kind of turn (bench/do-commit/index.js), as the median of
// interleaved runs with min and max. Why the chat mirror coalesces busy rooms over 1 s
// (src/chat/room-mirror.ts): locally every turn that writes pays a commit.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { intOption } from "../lib/cli.mjs";
import { killAll, startWrangler, workerdPids } from "../lib/procs.mjs";
import { acrossRuns } from "../lib/stats.mjs";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "3000" },
    runs: { type: "string", default: "3" },
    per: { type: "string", default: "1" },
  },
});
const n = intOption(values, "n", 100, 20_000);
const runs = intOption(values, "runs", 1, 10);
const per = intOption(values, "per", 1, 100);
const KINDS = ["none", "log", "messages", "noid"];

/** utime + stime of processes, in ms (clock ticks of 10 ms). */
const cpuMs = (pids) =>
  pids.reduce((sum, pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return sum + (Number(f[11]) + Number(f[12])) * 10;
  }, 0);

const dir = path.dirname(new URL(import.meta.url).pathname);
const server = await startWrangler({
  name: "do-commit",
  cwd: dir,
  port: 8790 + Math.floor(Math.random() * 100),
  inspectorPort: 9390 + Math.floor(Math.random() * 100),
  args: ["--persist-to", mkdtempSync(path.join(tmpdir(), "do-commit-"))],
  readyPath: "/?kind=none&n=100",
});
try {
  const pid = workerdPids(server);
  const us = Object.fromEntries(KINDS.map((k) => [k, []]));
  for (let r = 0; r < runs; r++) {
    for (const kind of r % 2 ? [...KINDS].reverse() : KINDS) {
      const before = cpuMs(pid);
      const res = await fetch(`${server.base}/?kind=${kind}&n=${n}&per=${per}`);
      if (!res.ok) throw new Error(`${kind}: ${res.status}`);
      await res.json();
      us[kind].push(((cpuMs(pid) - before) * 1000) / n);
    }
  }
  console.log(
    `workerd CPU per insert, ${n} inserts per run, ${per} per turn (one commit each turn), ${runs} runs (median [min–max]):`,
  );
  for (const k of KINDS) {
    const v = acrossRuns(us[k]);
    console.log(
      `  ${k.padEnd(9)} ${v.median.toFixed(0).padStart(5)} µs  [${v.min.toFixed(0)}–${v.max.toFixed(0)}]`,
    );
  }
} finally {
  killAll();
}

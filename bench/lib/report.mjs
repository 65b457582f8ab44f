// Turns bench results into the generated part of BENCHMARKS.md (between the markers); the
// hand-written analysis around it is kept.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./env.mjs";
import { acrossRuns, round } from "./stats.mjs";

const FILE = path.join(ROOT, "BENCHMARKS.md");
const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

const fmt = (x, unit) => {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return `${round(x, digits)}${unit ? ` ${unit}` : ""}`;
};

/** Evaluates a figure against its target on the median over runs (of the value or of the ratio). */
export function judge(fig) {
  if (fig.unavailable) return { verdict: "n/a" };
  const v = acrossRuns(fig.values);
  const ratios = fig.baseline ? fig.values.map((x, i) => x / fig.baseline[i]) : null;
  const r = ratios ? acrossRuns(ratios) : null;
  let verdict = "";
  if (fig.target) {
    const x = fig.target.metric === "ratio" ? r?.median : v.median;
    const ok = fig.target.op === "<=" ? x <= fig.target.value : x >= fig.target.value;
    verdict = Number.isFinite(x) ? (ok ? "PASS" : "MISS") : "MISS";
  }
  return { v, r, b: fig.baseline ? acrossRuns(fig.baseline) : null, verdict };
}

function table(figures) {
  const rows = [
    "| figure | median | p99 | max | baseline (median) | ratio (median) | target | result |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const f of figures) {
    if (f.unavailable) {
      rows.push(`| ${f.label} | not available | | | | | ${f.target?.text ?? ""} | n/a (${f.unavailable}) |`);
      continue;
    }
    const { v, r, b, verdict } = judge(f);
    rows.push(
      `| ${f.label} | ${fmt(v.median, f.unit)} | ${fmt(v.p99, f.unit)} | ${fmt(v.max, f.unit)} | ${b ? fmt(b.median, f.unit) : ""} | ${r ? `${fmt(r.median)}×` : ""} | ${f.target?.text ?? ""} | ${verdict} |`,
    );
  }
  return rows.join("\n");
}

export function renderResults(all) {
  const out = [START, ""];
  for (const [name, res] of Object.entries(all)) {
    out.push(`### ${name}`, "");
    out.push(`Run ${res.date} · scale ${res.scale} · ${res.runs} runs · ${res.machine}`, "");
    if (res.setup?.length) out.push(...res.setup.map((s) => `- ${s}`), "");
    out.push(table(res.figures), "");
    if (res.notes?.length) out.push(...res.notes.map((s) => `- ${s}`), "");
    if (res.profiled)
      out.push("_Figures above were taken with the CPU profiler attached (slower than a plain run)._", "");
    if (res.profile?.length) {
      out.push("Top self-time frames in the platform worker during this workload (bundled names):", "");
      out.push("| frame | self ms | % |", "| --- | --- | --- |");
      for (const f of res.profile.slice(0, 10)) out.push(`| \`${f.frame}\` | ${f.ms} | ${f.pct} |`);
      out.push("");
    }
  }
  out.push(END);
  return out.join("\n");
}

export function writeBenchmarksMd(all) {
  const generated = renderResults(all);
  let doc = existsSync(FILE) ? readFileSync(FILE, "utf8") : `# Benchmarks\n\n${START}\n${END}\n`;
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  doc = a >= 0 && b > a ? doc.slice(0, a) + generated + doc.slice(b + END.length) : `${doc}\n${generated}\n`;
  writeFileSync(FILE, doc);
}

// Child processes of a bench run: `wrangler dev` servers and load generators. Every child is
// tracked so a crash or Ctrl-C never leaves a workerd behind.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { RESULTS_DIR, ROOT } from "./env.mjs";

const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");
const children = new Set();
// wrangler needs Node 22: the project's own (node_modules/.bin/node) first, as npm scripts do.
const ENV = {
  ...process.env,
  CI: "1",
  PATH: `${path.join(ROOT, "node_modules/.bin")}${path.delimiter}${process.env.PATH}`,
};

/** Whether `wrangler dev` keeps its local trace store (X_LOCAL_OBSERVABILITY); bench/run.mjs. */
export function setLocalTracing(on) {
  ENV.X_LOCAL_OBSERVABILITY = on ? "true" : "false";
}

export function killAll() {
  for (const child of children) {
    try {
      // Detached: the negative pid reaches wrangler and the workerd it started.
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  children.clear();
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}
process.on("exit", killAll);

/** Runs wrangler to completion (migrations, d1 execute); throws with its output on failure. */
export function wranglerSync(args, cwd = ROOT) {
  const res = spawnSync(WRANGLER, args, { cwd, encoding: "utf8", env: ENV });
  if (res.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/**
 * Starts `wrangler dev` on 127.0.0.1:port and resolves once `readyPath` answers (any status
 * below 500). Output goes to bench/.results/<name>.log, not the terminal.
 */
export async function startWrangler({ name, cwd, port, inspectorPort, args = [], readyPath = "/" }) {
  const log = createWriteStream(path.join(RESULTS_DIR, `${name}.log`));
  const child = spawn(
    WRANGLER,
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
      ...args,
    ],
    { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"], env: ENV },
  );
  children.add(child);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on("exit", (code) => {
    exited = code;
    children.delete(child);
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${name} exited (${exited}); see bench/.results/${name}.log`);
    try {
      const res = await fetch(`${base}${readyPath}`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) return { name, base, child, pid: child.pid, port };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${name} did not answer ${readyPath} within 120 s; see bench/.results/${name}.log`);
}

function childPids(pid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // raced with an exiting process
    }
  }
  return out;
}

/** The workerd process under a wrangler server (the runtime whose memory we report). */
export function workerdPid(server) {
  return workerdPids(server)[0] ?? null;
}

/** Every workerd process under a wrangler server, nearest first (wrangler may start more than one). */
export function workerdPids(server) {
  const found = [];
  const queue = [server.pid];
  while (queue.length) {
    const pid = queue.shift();
    for (const c of childPids(pid)) {
      try {
        if (readFileSync(`/proc/${c}/comm`, "utf8").trim() === "workerd") found.push(c);
      } catch {
        // gone
      }
      queue.push(c);
    }
  }
  return found;
}

/** Resident set size in MiB (Linux /proc). */
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Runs a Node script as a separate process and parses the JSON it prints last. */
export function runNodeJson(script, input, { timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "pipe"], detached: true });
    children.add(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (b) => {
      out += b;
    });
    child.stderr.on("data", (b) => {
      err += b;
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      children.delete(child);
      const last = out.trim().split("\n").pop() ?? "";
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(last));
      } catch (e) {
        reject(new Error(`${path.basename(script)} failed (${e.message}): ${err.slice(-2000)}`));
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}

/** CPU seconds (user + system) the process has used so far (Linux /proc). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Waits until the servers' workerd processes together use under 10% of a core over half a
 * second (at most `maxMs`), so that work a setup step or the previous figure started in the
 * background (a new ticket's fan-out to every admin's live feed, an ingest queue still draining,
 * webhooks the Stripe emulator is still delivering) is not measured as part of the next figure.
 * Takes one server or several. Returns the ms waited (`maxMs` or more: never went quiet).
 */
export async function waitQuiet(servers, maxMs = 30_000) {
  const pids = [servers].flat().flatMap((s) => workerdPids(s));
  if (!pids.length) return 0;
  // CPU seconds of the pids still alive; a pid that exited between two samples is left out of
  // both (counting it as 0 would make the sum drop and look quiet).
  const sample = () => new Map(pids.flatMap((pid) => cpuSecondsOf(pid)));
  const started = Date.now();
  let last = sample();
  while (Date.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, 500));
    const now = sample();
    let used = 0;
    for (const [pid, s] of now) if (last.has(pid)) used += s - (last.get(pid) ?? s);
    if (used < 0.05) break;
    last = now;
  }
  return Date.now() - started;
}

/** [[pid, cpuSeconds]], or [] for a process that has exited. */
function cpuSecondsOf(pid) {
  try {
    return [[pid, cpuSeconds(pid)]];
  } catch {
    return [];
  }
}

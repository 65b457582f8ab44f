// CPU profile of the platform worker through the inspector that `wrangler dev` exposes
// (Chrome DevTools protocol). Used by `npm run bench -- <workload> --profile`: records while the
// workload runs, writes the .cpuprofile (open it in Chrome DevTools) and returns the top frames.
import { writeFileSync } from "node:fs";
import WebSocket from "ws";

export async function startProfile(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets[0]?.webSocketDebuggerUrl;
  if (!target) throw new Error("no inspector target");
  const ws = new WebSocket(target);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  return {
    async stop(file) {
      const res = await send("Profiler.stop");
      ws.close();
      const profile = res.result?.profile;
      if (!profile) return null;
      writeFileSync(file, JSON.stringify(profile));
      return topFrames(profile);
    },
  };
}

/** Self time per function (ms), top 15, idle/program/GC kept visible as they are. */
export function topFrames(profile, n = 15) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const dt = profile.timeDeltas ?? [];
  // A sample whose time delta spans seconds is a stall of the profiler or the isolate (seen:
  // one 5–6 s sample charged to whatever frame was on top, e.g. "Response" or a router
  // "match"), not CPU spent there; leave such samples out of the ranking.
  const STALL_US = 100_000;
  profile.samples.forEach((sid, i) => {
    const node = byId.get(sid);
    if (!node || (dt[i] ?? 0) > STALL_US) return;
    const f = node.callFrame;
    const file = (f.url || "").split("/").slice(-2).join("/");
    const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([frame, ms]) => ({ frame, ms: Math.round(ms), pct: Math.round((ms / total) * 1000) / 10 }));
}

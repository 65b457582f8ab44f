// `npm start`: the whole platform on this machine, offline, with no accounts or keys.
//  1. .dev.vars (and emulators/.dev.vars) generated on first run with fresh secrets;
//  2. local D1 migrations applied (DB and ANALYTICS_DB; wrangler dev then runs wrangler.toml's
//     [build]: the pages' assets);
//  3. the Stripe/Google emulators on 127.0.0.1:8788 and the platform on 127.0.0.1:8787;
//  4. the plans' products and prices created in the Stripe emulator (npm run stripe:sync-plans);
//  5. a dev admin token printed once the platform answers /api/v1/health.
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { EMULATOR_PORT, ensureDevVars, PLATFORM_PORT, ROOT, readDevVars } from "./lib/dev-vars.mjs";
import { signDevToken } from "./lib/token.mjs";
import { syncPlansFrom } from "./sync-plans.mjs";

const wrangler = path.join(ROOT, "node_modules/.bin/wrangler");
const log = (msg) => console.log(`\x1b[36m[start]\x1b[0m ${msg}`);

if (ensureDevVars()) log("created .dev.vars and emulators/.dev.vars with fresh local secrets");

// Two databases: DB (payments, notifications, chat, directory) and ANALYTICS_DB (analytics).
for (const binding of ["DB", "ANALYTICS_DB"]) {
  log(`applying D1 migrations to the local ${binding}`);
  const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", binding, "--local"], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);
}

const children = [];
function run(name, args, cwd) {
  const child = spawn(wrangler, args, {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORCE_COLOR: "1" },
  });
  const prefix = `\x1b[35m[${name}]\x1b[0m `;
  const pipe = (stream, out) =>
    stream.on("data", (buf) => {
      for (const line of buf.toString().split("\n")) if (line.trim()) out.write(`${prefix}${line}\n`);
    });
  pipe(child.stdout, process.stdout);
  pipe(child.stderr, process.stderr);
  child.on("exit", (code) => {
    log(`${name} exited (${code}); stopping`);
    shutdown(code ?? 1);
  });
  children.push(child);
}

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill("SIGINT");
  setTimeout(() => process.exit(code), 1500).unref();
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));

const common = ["dev", "--ip", "127.0.0.1", "--show-interactive-dev-session=false"];
run(
  "emulators",
  [...common, "--port", String(EMULATOR_PORT), "--inspector-port", "9230"],
  path.join(ROOT, "emulators"),
);
run("platform", [...common, "--port", String(PLATFORM_PORT), "--inspector-port", "9229"], ROOT);

// Announce once the platform is actually serving.
const base = `http://127.0.0.1:${PLATFORM_PORT}`;
for (let i = 0; i < 120 && !stopping; i++) {
  await new Promise((r) => setTimeout(r, 1000));
  try {
    const res = await fetch(`${base}/api/v1/health`);
    if (res.ok) {
      // The emulator keeps no catalogue of its own: paid plans work once their prices exist.
      try {
        const synced = await syncPlansFrom(readDevVars());
        log(`stripe:sync-plans: ${synced.map((a) => `${a.plan} ${a.price}`).join(", ")}`);
      } catch (err) {
        log(
          `stripe:sync-plans failed (paid plans will answer 502): ${err instanceof Error ? err.message : err}`,
        );
      }
      const { JWT_SECRET } = readDevVars();
      const token = await signDevToken(JWT_SECRET, {
        role: "admin",
        sub: "00000000-0000-4000-8000-00000000a001",
      });
      log(`platform ready on ${base}  (emulators on http://127.0.0.1:${EMULATOR_PORT})`);
      log(`API docs:  ${base}/api/v1/docs    dashboard: ${base}/dashboard`);
      log(`dev admin token (12h):\n${token}`);
      log("more tokens: npm run token -- --role user|merchant|admin|service [--sub <id>] [--merchant <id>]");
      break;
    }
  } catch {
    // not up yet
  }
}

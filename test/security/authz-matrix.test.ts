import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { upgrade } from "../helpers/http";
import { type Params, TABLE } from "./authz-table";
import { api, CALLERS, type CallerName, type Identity, makeCallers } from "./fixtures";

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);

/**
 * Every route the app serves, as "METHOD /path{param}". A Hono alternation such as
 * `:kind{support|merchant|admin}` is expanded into one route per alternative, so each
 * WebSocket endpoint needs its own row.
 */
function discoverRoutes(): string[] {
  const keys = new Set<string>();
  for (const r of createApp().routes) {
    if (!METHODS.has(r.method)) continue;
    if (!r.path.startsWith("/api/v1/") && !r.path.startsWith("/ws/")) continue;
    let paths = [r.path];
    const alt = /:[A-Za-z_]+\{([\w|]+)\}/.exec(r.path);
    if (alt?.[1]?.includes("|")) paths = alt[1].split("|").map((v) => r.path.replace(alt[0], v));
    for (const p of paths) keys.add(`${r.method} ${p.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}")}`);
  }
  return [...keys].sort();
}

const fill = (path: string, p: Params) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = p[name];
    if (v === undefined) throw new Error(`setup gave no value for {${name}} in ${path}`);
    return encodeURIComponent(v);
  });

async function call(
  key: string,
  who: Identity,
  params: Params,
  callers: Awaited<ReturnType<typeof makeCallers>>,
) {
  const row = TABLE[key];
  if (!row) throw new Error(`no row for ${key}`);
  const [method = "", template = ""] = key.split(" ");
  const path = fill(template, params) + (row.query ?? "");
  if (path.startsWith("/ws/")) {
    const res = await upgrade(path, who.headers);
    if (res.status === 101) res.webSocket?.accept();
    res.webSocket?.close(1000, "authz matrix");
    return res;
  }
  const headers: Record<string, string> = { ...who.headers };
  let body: string | undefined;
  if (row.raw) {
    const raw = await row.raw(params);
    body = raw.body;
    Object.assign(headers, raw.headers);
  } else if (row.body) {
    body = JSON.stringify(await row.body(params, callers));
    headers["content-type"] = "application/json";
  }
  return api(path, { method, headers, ...(body === undefined ? {} : { body }) });
}

/**
 * Every 401 must carry `WWW-Authenticate` (RFC 7235 §3.1). RFC 6750: no error code when no
 * credentials were sent, error="invalid_token" when a token was presented and refused.
 */
function challengeProblem(res: Response, who: Identity): string | null {
  if (res.status !== 401) return null;
  const got = res.headers.get("www-authenticate");
  const want = who.token
    ? /^Bearer realm="(api|ws)", error="invalid_token", error_description="[^"]+"$/
    : /^Bearer realm="(api|ws)"$/;
  return got !== null && want.test(got) ? null : `401 with WWW-Authenticate ${JSON.stringify(got)}`;
}

let checks = 0;
const routes = discoverRoutes();

describe("authorization matrix", () => {
  // ~400 access-log lines would bury the result; the worker logs through this isolate's console.
  beforeAll(() => {
    vi.spyOn(console, "log").mockImplementation(() => {});
  });

  it("has exactly one row per route the app serves (a new route without a row fails here)", () => {
    const table = Object.keys(TABLE).sort();
    expect({
      missing: routes.filter((r) => !TABLE[r]),
      stale: table.filter((k) => !routes.includes(k)),
    }).toEqual({ missing: [], stale: [] });
    expect(routes.length).toBeGreaterThan(30);
  });

  it.each(routes.filter((r) => TABLE[r]))("%s", async (key) => {
    const row = TABLE[key];
    if (!row) throw new Error(`no row for ${key}`);
    // Fresh identities per route keep the per-user rate limits and ownership independent.
    const callers = await makeCallers();
    const params = row.setup ? await row.setup(callers) : {};
    const got: Partial<Record<CallerName, number>> = {};
    const bodies: string[] = [];
    const badChallenges: string[] = [];
    for (const name of CALLERS) {
      const res = await call(key, callers[name], params, callers);
      got[name] = res.status;
      const challenge = challengeProblem(res, callers[name]);
      if (challenge) badChallenges.push(`${name}: ${challenge}`);
      if (res.status !== row.expect[name])
        bodies.push(`${name} ${res.status}: ${(await res.text()).slice(0, 200)}`);
      else if (res.status !== 101) await res.body?.cancel();
      checks++;
    }
    expect(got, bodies.join("\n")).toEqual(row.expect);
    expect(badChallenges, "every 401 carries an RFC 6750 WWW-Authenticate challenge").toEqual([]);
  });

  afterAll(() => {
    vi.restoreAllMocks();
    const wsRoutes = routes.filter((r) => r.includes(" /ws/")).length;
    console.log(
      `authz matrix: ${routes.length} routes (${routes.length - wsRoutes} REST + ${wsRoutes} WebSocket) × ${CALLERS.length} callers = ${routes.length * CALLERS.length} cells, ${checks} checks run`,
    );
  });
});

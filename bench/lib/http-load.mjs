import path from "node:path";
import { runNodeJson } from "./procs.mjs";

const CHILD = path.join(import.meta.dirname, "http-load-child.mjs");

/** One autocannon run in its own process. Bounded by duration (and optional amount). */
export function httpLoad(cfg) {
  return runNodeJson(CHILD, cfg, { timeoutMs: ((cfg.duration ?? 5) + 30) * 1000 });
}

/** A single request, for probing whether an endpoint exists yet and for setup calls. */
export async function call(base, method, pathname, { token, body, headers = {}, timeoutMs = 30_000 } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h["content-type"] = "application/json";
  const res = await fetch(`${base}${pathname}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json, text };
}

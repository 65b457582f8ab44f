import type { Context } from "hono";
import type { AppEnv } from "./app-env";
import { onNotFound } from "./on-error";

/**
 * The Content-Security-Policy of the static pages in public/ (the landing page, the
 * analytics dashboard and the support chat). The dashboard keeps an admin token in sessionStorage, so nothing but
 * our own files may run or be fetched: same-origin scripts and stylesheets only, no inline
 * script or style (the pages have none; style is set through the CSSOM), API calls to this
 * origin only, no plugins, no <base> games, and never inside a frame (clickjacking).
 */
/**
 * The API reference at /api/v1/docs (docs.ts) runs Swagger UI under the same policy with one
 * relaxation: `img-src data:`, because swagger-ui.css draws its icons (arrows, locks, the copy
 * button) as data: SVG backgrounds. A data: image cannot run script or send anything anywhere.
 * Swagger UI needs no 'unsafe-eval' and no inline script; "try it" requests go to this origin
 * (connect-src 'self'), so no CORS is involved either.
 */
export const DOCS_CSP = csp({ img: "'self' data:" });

/**
 * The static pages' policy; `url` is the request's, whose host the support page's socket uses.
 * The support page also shows attachment previews as `blob:` object URLs: the images are fetched
 * with the bearer token (an `<img src>` cannot send one), and a blob: URL is this page's own data.
 */
const pageCsp = (url: URL) =>
  csp({ img: url.pathname.startsWith("/support/") ? "'self' blob:" : "'self'", socketOf: url });

function csp({ img, socketOf }: { img: string; socketOf?: URL }): string {
  // The support page's socket: named explicitly, since not every browser lets 'self' cover ws(s).
  const socket = socketOf ? ` ${socketOf.protocol === "https:" ? "wss:" : "ws:"}//${socketOf.host}` : "";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self'${socket}`,
    `img-src ${img}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The app's not-found handler: a GET or HEAD that no route took is looked up in public/
 * through the assets binding; anything else, and a file that does not exist, is the JSON 404.
 *
 * Why through the Worker (wrangler.toml `run_worker_first = true`): pages then get the secure
 * headers every API answer gets (HSTS, nosniff, no-referrer, frame denial, from `secureHeaders`
 * in app.ts) plus pageCsp(). Workers static assets would otherwise answer them before the Worker
 * runs, with none of these; a `_headers` file would cover production but not a request that
 * enters through the Worker, as every test does. API and socket paths are never files.
 * As the not-found handler (not a `*` route) it cannot shadow a route registered later.
 */
export async function pageOrNotFound(c: Context<AppEnv>): Promise<Response> {
  const path = c.req.path;
  const lookup = (c.req.method === "GET" || c.req.method === "HEAD") && !/^\/(api|ws)\//.test(path);
  if (!lookup) return onNotFound(c);
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  if (asset.status === 404) {
    await asset.body?.cancel();
    return onNotFound(c);
  }
  // Asset responses have immutable headers; copy so the middleware can add to them.
  const res = new Response(asset.body, asset);
  res.headers.set("Content-Security-Policy", pageCsp(new URL(c.req.url)));
  return res;
}

import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";

/**
 * D1 read replication through the Sessions API, for every request under /api/v1 in one place.
 *
 * Reads (GET, HEAD) start at the client's bookmark, or anywhere ("first-unconstrained"), so a
 * nearby replica may answer; everything else starts at the primary ("first-primary"), so its
 * checks read the newest state. Every answer carries the session's latest bookmark; a client
 * that sends it back on its next read sees at least what it saw or wrote before, which is
 * what makes a refund or a payment visible in the history right after. Without replication
 * (locally, or before it is enabled) D1 has one copy and every session reads it; enabling
 * replicas on the database needs no code change.
 */
export const BOOKMARK_HEADER = "x-d1-bookmark";

/**
 * ANALYTICS_DB is a second database with its own bookmarks, so it has its own header. A bookmark
 * names a point in one database's history and says nothing about another's, and the two look
 * alike, so they must never share a header: x-d1-bookmark is always DB's, this one always
 * ANALYTICS_DB's (reports, export, erasure, the ingest budget), each validated the same way.
 */
export const ANALYTICS_BOOKMARK_HEADER = "x-d1-analytics-bookmark";

/**
 * D1 bookmarks look like `00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683` (Time
 * Travel docs): 59 characters. The bound keeps an anonymous header from costing anything.
 */
export const MAX_BOOKMARK_CHARS = 128;
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;
const invalid = (header: string, message: string) =>
  new ApiError("VALIDATION_FAILED", "Request validation failed", {
    details: [{ path: `header.${header}`, message }],
  });

/**
 * Where a request's session starts. A blank header is no bookmark, as in D1's own
 * `withSession("")`. Anything else must be a bookmark: D1 itself parses the
 * value on the first query and rejects garbage with an error that would surface as a 500, and
 * a local D1 ignores it entirely, so we refuse it up front with a 400 that names the header.
 */
export function sessionStart(
  method: string,
  header: string | undefined,
  name = BOOKMARK_HEADER,
): D1SessionBookmark | D1SessionConstraint {
  const value = header?.trim() ?? "";
  if (value.length > MAX_BOOKMARK_CHARS) throw invalid(name, `Longer than ${MAX_BOOKMARK_CHARS} characters`);
  // Only a bookmark: a client may not name a constraint, or any caller could pin its reads to
  // the primary for free and undo what replicas are for.
  if (value !== "" && !BOOKMARK.test(value)) {
    throw invalid(name, `Not a D1 bookmark; send back the value of a previous response's ${name}`);
  }
  // The primary is at least as new as any bookmark, so a write ignores the client's.
  if (method !== "GET" && method !== "HEAD") return "first-primary";
  return value || "first-unconstrained";
}

/** Opens the request's sessions, one per database, for the deps factory (app.ts `init`), and returns their bookmarks. */
export const d1Session = createMiddleware<AppEnv>(async function d1Session(c, next) {
  const method = c.req.method;
  const session = c.env.DB.withSession(sessionStart(method, c.req.header(BOOKMARK_HEADER)));
  const analytics = c.env.ANALYTICS_DB.withSession(
    sessionStart(method, c.req.header(ANALYTICS_BOOKMARK_HEADER), ANALYTICS_BOOKMARK_HEADER),
  );
  c.set("dbSession", session);
  c.set("analyticsSession", analytics);
  await next();
  // Also on errors: a write may have committed before a later step failed. A session no query
  // ran on has no bookmark, so a request that never touched a database answers without its header.
  const bookmark = session.getBookmark();
  if (bookmark) c.res.headers.set(BOOKMARK_HEADER, bookmark);
  const analyticsBookmark = analytics.getBookmark();
  if (analyticsBookmark) c.res.headers.set(ANALYTICS_BOOKMARK_HEADER, analyticsBookmark);
});

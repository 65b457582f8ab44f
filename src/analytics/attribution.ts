import { type SQL, sql } from "drizzle-orm";
import type { D1Client } from "../platform/types";
import { rows } from "./reports/sql";
import { type JsonRow, NOT_ERASED } from "./store";

/*
 * UTM attribution at ingest (docs/analytics.md, "Attribution"). The ingest consumer adds these
 * statements to the same D1 batch as the events, so a touch and its event commit together.
 */

/** Longer values are cut: campaign names are labels, not payloads (GA caps them at 100 too). */
export const UTM_MAX_CHARS = 100;
/** Only resolves relative pages ("/pricing?utm_source=x"); never fetched. */
const URL_BASE = "https://page.invalid/";
/**
 * Voids a value: control characters, a lone surrogate (JSON properties can carry one; it is not
 * valid UTF-8 text in D1), line/paragraph separators and the bidi controls that reorder what the
 * dashboard shows ("google\u202Eelgoog" would read as another source). Joiners stay (emoji).
 */
const CONTROL = /[\p{Cc}\p{Cs}\u2028\u2029\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

export type Touch = { source: string; medium: string | null; campaign: string | null };

/** Trimmed, lower-case, at most UTM_MAX_CHARS code points; a CONTROL character voids the value. */
export function normaliseUtm(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  if (trimmed === "" || CONTROL.test(trimmed)) return null;
  return Array.from(trimmed.toLowerCase()).slice(0, UTM_MAX_CHARS).join("");
}

function touchFrom(get: (key: string) => unknown): Touch | null {
  const source = normaliseUtm(get("utm_source"));
  if (source === null) return null;
  return { source, medium: normaliseUtm(get("utm_medium")), campaign: normaliseUtm(get("utm_campaign")) };
}

function pageQuery(page: string): URLSearchParams | null {
  // Most pages carry no UTM tag, and new URL() per event showed in the ingest profile. Exact
  // shortcuts: no "?" means no query; a utm_* key is spelled "utm" in the query unless escaped
  // ("%75tm_source"), once the tabs and newlines the URL parser drops are removed.
  const at = page.indexOf("?");
  if (at < 0) return null;
  const query = page.slice(at).replace(/[\t\n\r]/g, "");
  if (!query.includes("utm") && !query.includes("%")) return null;
  try {
    return new URL(page, URL_BASE).searchParams;
  } catch {
    return null; // a page that is not a URL carries no touch; the event itself is still stored
  }
}

/**
 * The touch an event carries. A touch needs a utm_source, and all three fields come from one
 * place: the properties when they name a utm_source (the client said so on purpose, e.g. a
 * single-page app keeping the landing page's tags after a redirect dropped the query), else
 * the page URL's query.
 */
export function touchOf(page: string | null, props: Record<string, unknown> | null): Touch | null {
  const fromProps = props ? touchFrom((k) => props[k]) : null;
  if (fromProps) return fromProps;
  const query = page === null ? null : pageQuery(page);
  return query ? touchFrom((k) => query.get(k)) : null;
}

function propsOf(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const COLUMNS = "(scope, actor, model, occurred_at, event_id, session_id, source, medium, campaign)";
/** Strictly earlier (first) or later (last) by (time, event id): ties resolve the same in any order. */
const better = (model: "first" | "last") =>
  `(excluded.occurred_at, excluded.event_id) ${model === "first" ? "<" : ">"}
    (analytics_touches.occurred_at, analytics_touches.event_id)`;
const UPSERT = (model: "first" | "last") => `ON CONFLICT (scope, actor, model) DO UPDATE SET
    occurred_at = excluded.occurred_at, event_id = excluded.event_id, session_id = excluded.session_id,
    source = excluded.source, medium = excluded.medium, campaign = excluded.campaign
  WHERE ${better(model)}`;

/*
 * A session flagged as a bot is a crawler's whatever a later row of it looks like: the ingest
 * statements run before these (same batch), so analytics_sessions already holds this batch's flag.
 */
const NOT_BOT_SESSION = (session: string) =>
  `NOT EXISTS (SELECT 1 FROM analytics_sessions b WHERE b.session_id = ${session} AND b.bot = 1)`;

// A signed-in event's touch is its user's; an anonymous one is its session's. NOT_ERASED reads
// the same keys as the event rows (user, session, at, received), so an erased visit stays erased.
const TOUCHES = (model: "first" | "last") => `INSERT INTO analytics_touches ${COLUMNS}
  SELECT CASE WHEN value->>'user' IS NULL THEN 'session' ELSE 'user' END,
    COALESCE(value->>'user', value->>'session'), '${model}', value->>'at', value->>'id',
    value->>'session', value->>'source', value->>'medium', value->>'campaign'
  FROM json_each(?1) WHERE ${NOT_ERASED} AND ${NOT_BOT_SESSION("value->>'session'")}
  ${UPSERT(model)}`;

// A session's anonymous touches count for every user who signed in on it, whichever arrived
// first: this runs for each session of the batch after its events and touches are stored, so
// the anonymous part and the signed-in part meet whatever their delivery order.
const INHERIT = (model: "first" | "last") => `INSERT INTO analytics_touches ${COLUMNS}
  SELECT 'user', l.user_id, t.model, t.occurred_at, t.event_id, t.session_id, t.source, t.medium, t.campaign
  FROM (SELECT DISTINCT e.user_id, e.session_id FROM json_each(?1) j
        JOIN analytics_events e ON e.session_id = j.value
        WHERE e.user_id IS NOT NULL AND e.event_type <> 'payment_completed') l
  JOIN analytics_touches t ON t.scope = 'session' AND t.actor = l.session_id AND t.model = '${model}'
  WHERE NOT EXISTS (SELECT 1 FROM analytics_erasures x
    WHERE x.subject = 'u:' || l.user_id AND x.erased_at >= t.occurred_at)
    AND ${NOT_BOT_SESSION("l.session_id")}
  ${UPSERT(model)}`;

/** The touch statements for one chunk of event rows (none when it carries no touch or link). */
export function touchStatements(d1: D1Client, chunk: JsonRow[]): D1PreparedStatement[] {
  const touches = [];
  const sessions = new Set<string>();
  for (const r of chunk) {
    if (r.type === "payment_completed") continue; // server-recorded: no page, no campaign
    // A crawler following tagged links is not a campaign reaching anyone, and an anonymous
    // session's touch would be credited to whoever later signs in on it (review of item 6).
    if (r.bot === 1) continue;
    if (r.user !== null) sessions.add(r.session);
    const touch = touchOf(r.page, propsOf(r.props));
    if (!touch) continue;
    touches.push({ id: r.id, user: r.user, session: r.session, at: r.at, received: r.received, ...touch });
    sessions.add(r.session);
  }
  const statements: D1PreparedStatement[] = [];
  if (touches.length > 0) {
    const payload = JSON.stringify(touches);
    statements.push(d1.prepare(TOUCHES("first")).bind(payload), d1.prepare(TOUCHES("last")).bind(payload));
  }
  if (sessions.size > 0) {
    const payload = JSON.stringify([...sessions]);
    statements.push(d1.prepare(INHERIT("first")).bind(payload), d1.prepare(INHERIT("last")).bind(payload));
  }
  return statements;
}

/**
 * Erasure's share (events.service.ts, eraseUserEvents; run before the events go): the user's
 * touches, those of the sessions they appeared in, and any touch an erased event set, including
 * one another user of a shared session inherited from its anonymous part.
 */
export function eraseTouches(userId: string, sessions: SQL) {
  return rows(sql`DELETE FROM analytics_touches
    WHERE (scope = 'user' AND actor = ${userId}) OR (scope = 'session' AND actor IN (${sessions}))
      OR event_id IN (SELECT id FROM analytics_events WHERE user_id = ${userId}
        UNION ALL SELECT id FROM analytics_events WHERE user_id IS NULL AND session_id IN (${sessions}))`);
}

/** Retention: an anonymous session whose last touch is past the cutoff can no longer sign in. */
export function purgeSessionTouches(cutoff: number) {
  return rows(sql`DELETE FROM analytics_touches WHERE scope = 'session' AND actor IN
    (SELECT actor FROM analytics_touches WHERE scope = 'session' AND model = 'last' AND occurred_at < ${cutoff})`);
}

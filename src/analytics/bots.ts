import { isbot } from "isbot";

/*
 * Bot classification at ingest (docs/analytics.md, "Bot filtering"). A bot is a property of a
 * SESSION: once any event of a session is classified, every event of it, stored before or
 * after, counts as bot traffic (store.ts carries the flag to the stored rows and rollups).
 *
 * Two signals, both decided from the request alone so the flag travels inside the queue
 * message and a redelivery carries exactly the same flags:
 *   - the User-Agent matches isbot's list (crawlers, monitors, HTTP libraries such as curl,
 *     headless browsers). isbot is maintained against a large corpus of real user agents;
 *     a hand-written regex would rot. An absent User-Agent is NOT a bot here (server-side
 *     callers and the SDK in tests send none); see SECURITY.md for what this leaves open.
 *   - a zero-duration burst: BURST_MIN_EVENTS or more events of one session in one request
 *     carrying the same client-supplied timestamp (the same millisecond). No person produces
 *     ten events in one millisecond; a script replaying a template does. Events without a
 *     timestamp are not counted: the server stamps them with its own receive time, so a
 *     batch of them would share one millisecond for a legitimate reason.
 */
export const BURST_MIN_EVENTS = 10;

export type BotSignal = "user_agent" | "burst";

export const isBotUserAgent = (userAgent: string | null | undefined): boolean =>
  typeof userAgent === "string" && userAgent.length > 0 && isbot(userAgent);

/**
 * The sessions of one request classified as bots, with the reason. `events` are the accepted
 * events of the request: their session and the client's timestamp in epoch ms (undefined
 * when the client sent none).
 */
export function classifySessions(
  userAgent: string | null | undefined,
  events: ReadonlyArray<{ session: string; clientAt: number | undefined }>,
): Map<string, BotSignal> {
  const flagged = new Map<string, BotSignal>();
  if (isBotUserAgent(userAgent)) {
    for (const e of events) flagged.set(e.session, "user_agent");
    return flagged;
  }
  const sameMs = new Map<string, number>();
  for (const e of events) {
    if (e.clientAt === undefined) continue;
    const key = `${e.clientAt}\u0000${e.session}`;
    const n = (sameMs.get(key) ?? 0) + 1;
    sameMs.set(key, n);
    if (n >= BURST_MIN_EVENTS) flagged.set(e.session, "burst");
  }
  return flagged;
}

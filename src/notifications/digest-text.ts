import type { NotificationType } from "./types";

/** What one item of each type is called in a summary ("5 new campaign updates"). */
const NOUNS: Record<NotificationType, [one: string, many: string]> = {
  payment_received: ["payment", "payments"],
  campaign_status_changed: ["campaign update", "campaign updates"],
  support_ticket_response: ["support reply", "support replies"],
  security_alert: ["security alert", "security alerts"],
  feature_flag_enabled: ["feature", "features"],
  merchant_application_approved: ["application update", "application updates"],
  subscription_payment_failed: ["failed payment", "failed payments"],
};

/**
 * The push text of one digest window. English only for now: the localised templates
 * (issue 17 item 4) take this over at merge, which is why it is one function of
 * (type, count, locale) and nothing else.
 */
export function digestSummary(
  type: NotificationType,
  count: number,
  _locale = "en",
): { title: string; body: string } {
  const [one, many] = NOUNS[type];
  const title = count === 1 ? `1 new ${one}` : `${count} new ${many}`;
  return { title, body: count === 1 ? "Open the app to see it." : "Open the app to see them all." };
}

import type { DomainEventType } from "../../events/types";
import type { NotificationType } from "../types";
import de from "./de.json";
import en from "./en.json";
import fr from "./fr.json";

/** Shipped locales; adding one is a file here plus its entry (docs/notifications.md, "Localisation"). */
export const LOCALES = ["en", "fr", "de"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "en";

/**
 * Every template the event mapping (on-event.ts) may name, with the event whose data fills
 * its placeholders. The templates test renders each one in every locale against that
 * event's zod schema, so a key here without text in some locale fails the build's tests.
 */
export const TEMPLATES = {
  "payment.payer": { event: "payment.succeeded", type: "payment_received" },
  "payment.merchant": { event: "payment.succeeded", type: "payment_received" },
  "subscription.payment_failed": {
    event: "subscription.payment_failed",
    type: "subscription_payment_failed",
  },
  "dispute.admin": { event: "dispute.created", type: "security_alert" },
  "ticket.reply": { event: "ticket.replied", type: "support_ticket_response" },
  "campaign.status": { event: "campaign.status_changed", type: "campaign_status_changed" },
  "flag.enabled": { event: "feature_flag.enabled", type: "feature_flag_enabled" },
  "merchant.approved": { event: "merchant_application.approved", type: "merchant_application_approved" },
  "security.new_login": { event: "security.alert", type: "security_alert" },
  "security.password_changed": { event: "security.alert", type: "security_alert" },
  "security.mfa_disabled": { event: "security.alert", type: "security_alert" },
  "security.suspicious_activity": { event: "security.alert", type: "security_alert" },
  "security.api_key_created": { event: "security.alert", type: "security_alert" },
} as const satisfies Record<string, { event: DomainEventType; type: NotificationType }>;
export type TemplateKey = keyof typeof TEMPLATES;

export type Text = { title: string; body: string };

/**
 * The files, typed loosely on purpose: tsc cannot see a placeholder inside a string, so
 * their contents are proved by test/notifications/templates.test.ts instead.
 */
export const CATALOG: Record<Locale, Readonly<Record<string, Text | undefined>>> = { en, fr, de };

/**
 * A shipped locale for a BCP 47 tag, by its language subtag, case-insensitively:
 * "fr-CA" and "FR" are French; "pt-BR" is none (null).
 */
export function matchLocale(tag: string | null | undefined): Locale | null {
  const language = tag?.split(/[-_]/)[0]?.toLowerCase();
  return LOCALES.find((l) => l === language) ?? null;
}

/** Canonical BCP 47 form of a tag ("fr_ca" → "fr-CA"), or null when it is not one. */
export function canonicalLocale(tag: string): string | null {
  try {
    return Intl.getCanonicalLocales(tag.replaceAll("_", "-"))[0] ?? null;
  } catch {
    return null;
  }
}

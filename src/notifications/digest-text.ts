import { DEFAULT_LOCALE, type Locale, matchLocale } from "./templates/index";
import type { NotificationType } from "./types";

type Nouns = Record<NotificationType, [one: string, many: string]>;
type Wording = {
  nouns: Nouns;
  title: (count: number, noun: string) => string;
  body: (count: number) => string;
};

/*
 * What one item of each type is called in a summary ("5 new campaign updates"), per shipped
 * locale. Here rather than in templates/*.json: the wording depends on the count (singular or
 * plural, and in French and German the adjective agrees with the noun), which the templates'
 * placeholder syntax cannot branch on. templates.test.ts style coverage lives in digest.test.ts:
 * every type has a noun in every locale (the Record types make a missing one a type error).
 */
const WORDING: Record<Locale, Wording> = {
  en: {
    nouns: {
      payment_received: ["payment", "payments"],
      campaign_status_changed: ["campaign update", "campaign updates"],
      support_ticket_response: ["support reply", "support replies"],
      security_alert: ["security alert", "security alerts"],
      feature_flag_enabled: ["feature", "features"],
      merchant_application_approved: ["application update", "application updates"],
      subscription_payment_failed: ["failed payment", "failed payments"],
    },
    title: (n, noun) => `${n} new ${noun}`,
    body: (n) => (n === 1 ? "Open the app to see it." : "Open the app to see them all."),
  },
  fr: {
    nouns: {
      payment_received: ["nouveau paiement", "nouveaux paiements"],
      campaign_status_changed: ["nouvelle mise à jour de campagne", "nouvelles mises à jour de campagne"],
      support_ticket_response: ["nouvelle réponse du support", "nouvelles réponses du support"],
      security_alert: ["nouvelle alerte de sécurité", "nouvelles alertes de sécurité"],
      feature_flag_enabled: ["nouvelle fonctionnalité", "nouvelles fonctionnalités"],
      merchant_application_approved: [
        "nouvelle mise à jour de votre demande",
        "nouvelles mises à jour de votre demande",
      ],
      subscription_payment_failed: ["nouveau paiement échoué", "nouveaux paiements échoués"],
    },
    title: (n, noun) => `${n} ${noun}`,
    body: (n) => (n === 1 ? "Ouvrez l’application pour la voir." : "Ouvrez l’application pour tout voir."),
  },
  de: {
    nouns: {
      payment_received: ["neue Zahlung", "neue Zahlungen"],
      campaign_status_changed: ["neues Kampagnen-Update", "neue Kampagnen-Updates"],
      support_ticket_response: ["neue Support-Antwort", "neue Support-Antworten"],
      security_alert: ["neuer Sicherheitshinweis", "neue Sicherheitshinweise"],
      feature_flag_enabled: ["neue Funktion", "neue Funktionen"],
      merchant_application_approved: ["neues Update zu Ihrem Antrag", "neue Updates zu Ihrem Antrag"],
      subscription_payment_failed: ["neue fehlgeschlagene Zahlung", "neue fehlgeschlagene Zahlungen"],
    },
    title: (n, noun) => `${n} ${noun}`,
    body: (n) =>
      n === 1 ? "Öffnen Sie die App, um sie anzusehen." : "Öffnen Sie die App, um alle anzusehen.",
  },
};

/**
 * The push text of one digest window in the user's locale (a shipped one by its language,
 * else English): the same fallback as the templates.
 */
export function digestSummary(
  type: NotificationType,
  count: number,
  locale: string = DEFAULT_LOCALE,
): { title: string; body: string } {
  const w = WORDING[matchLocale(locale) ?? DEFAULT_LOCALE];
  const [one, many] = w.nouns[type];
  return { title: w.title(count, count === 1 ? one : many), body: w.body(count) };
}

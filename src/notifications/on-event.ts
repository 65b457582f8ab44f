import type { DomainEvent, EventSink } from "../events/types";
import { adminIds, merchantUserIds } from "../platform/directory";
import { toDecimalString } from "../platform/money";
import type { BaseDeps } from "../platform/types";
import { type NotifyInput, notify } from "./notify";

type Planned = Omit<NotifyInput, "eventId">;

const money = (amount: number, currency: string) =>
  `${toDecimalString(amount, currency)} ${currency.toUpperCase()}`;

/**
 * Which users hear about which event, and what they read (docs/notifications.md has the
 * table). Returns several plans when different audiences get different wording.
 */
export async function plan(event: DomainEvent, deps: BaseDeps): Promise<Planned[]> {
  switch (event.type) {
    case "payment.succeeded": {
      const d = event.data;
      const data = { payment_id: d.payment_id, amount: String(d.amount), currency: d.currency };
      const out: Planned[] = [
        {
          userIds: [d.user_id],
          type: "payment_received",
          title: "Payment successful",
          body: `Your payment of ${money(d.amount, d.currency)} went through.`,
          data,
        },
      ];
      if (d.merchant_id) {
        out.unshift({
          userIds: await merchantUserIds(deps.db, d.merchant_id),
          type: "payment_received",
          title: "Payment received",
          body: `You received ${money(d.amount, d.currency)}.`,
          data: { ...data, merchant_id: d.merchant_id },
        });
      }
      return out;
    }
    case "subscription.payment_failed": {
      // Not critical: the grace period is days, so quiet hours only delay the push to the
      // morning, and a user who muted billing pushes still has the in-app notification.
      const d = event.data;
      return [
        {
          userIds: [d.user_id],
          type: "subscription_payment_failed",
          title: "Payment failed",
          body: `We could not charge ${money(d.amount, d.currency)} for your ${d.plan} subscription. Update your payment method to keep it.`,
          data: {
            subscription_id: d.subscription_id,
            invoice_id: d.invoice_id,
            url: d.update_url,
            grace_ends_at: new Date(d.grace_ends_at).toISOString(),
          },
        },
      ];
    }
    case "dispute.created": {
      // A dispute has a response deadline and money at stake: admins get it as a critical alert.
      const d = event.data;
      return [
        {
          userIds: await adminIds(deps.db),
          type: "security_alert",
          title: "Payment disputed",
          body: `A dispute of ${money(d.amount, d.currency)} was opened${d.reason ? ` (${d.reason})` : ""}.`,
          data: { dispute_id: d.dispute_id, ...(d.payment_id ? { payment_id: d.payment_id } : {}) },
        },
      ];
    }
    case "ticket.replied": {
      const d = event.data;
      // Your own message is not news to you.
      if (d.sender_id === d.user_id) return [];
      return [
        {
          userIds: [d.user_id],
          type: "support_ticket_response",
          title: "New reply to your support ticket",
          body: d.preview,
          data: { ticket_id: d.ticket_id, message_id: d.message_id },
        },
      ];
    }
    case "campaign.status_changed": {
      const d = event.data;
      return [
        {
          userIds: d.user_ids,
          type: "campaign_status_changed",
          title: `Campaign ${d.name ?? d.campaign_id} is now ${d.to}`,
          body: `Status changed from ${d.from} to ${d.to}.`,
          // Not `from`/`to`: FCM reserves `from` as a data key and rejects the whole message.
          data: {
            campaign_id: d.campaign_id,
            merchant_id: d.merchant_id,
            from_status: d.from,
            to_status: d.to,
          },
        },
      ];
    }
    case "feature_flag.enabled": {
      const d = event.data;
      return [
        {
          userIds: d.user_ids,
          type: "feature_flag_enabled",
          title: "New feature available",
          body: d.description ?? `${d.flag} is now enabled for you.`,
          data: { flag: d.flag, ...(d.merchant_id ? { merchant_id: d.merchant_id } : {}) },
        },
      ];
    }
    case "merchant_application.approved": {
      const d = event.data;
      return [
        {
          userIds: [d.user_id],
          type: "merchant_application_approved",
          title: "Merchant application approved",
          body: `${d.business_name ?? "Your business"} can now accept payments.`,
          data: { merchant_id: d.merchant_id },
        },
      ];
    }
    case "security.alert": {
      const d = event.data;
      return [
        {
          userIds: [d.user_id],
          type: "security_alert",
          title: "Security alert",
          body: d.detail ?? SECURITY_TEXT[d.kind],
          data: { kind: d.kind },
        },
      ];
    }
    default:
      return [];
  }
}

const SECURITY_TEXT = {
  new_login: "A new sign-in to your account.",
  password_changed: "Your password was changed.",
  mfa_disabled: "Two-factor authentication was turned off.",
  suspicious_activity: "Suspicious activity on your account.",
  api_key_created: "A new API key was created.",
} as const;

/** Domain events → notifications; the (event_id, user_id) key makes replays harmless. */
export const notificationSink: EventSink = {
  name: "notifications",
  handle: async (event, deps) => {
    for (const p of await plan(event, deps)) {
      if (p.userIds.length === 0) continue;
      await notify(deps, { ...p, eventId: event.id });
    }
  },
};

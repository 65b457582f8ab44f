import type { DomainEvent, EventSink } from "../events/types";
import { adminIds, merchantUserIds } from "../platform/directory";
import type { BaseDeps } from "../platform/types";
import { notify } from "./notify";
import { TEMPLATES, type TemplateKey } from "./templates/index";
import type { Vars } from "./templates/render";

/**
 * One audience of one event: what they read is a template (templates/*.json) in their own
 * language, never text written here, so every mapping is covered by the templates test.
 */
export type Planned = {
  userIds: string[];
  template: TemplateKey;
  data: Record<string, string>;
};

/** What placeholders may read: the event's scalar fields (not user lists) and when it happened. */
export function templateVars(event: DomainEvent): Vars {
  const vars: Vars = { occurred_at: event.occurred_at };
  for (const [k, v] of Object.entries(event.data))
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) vars[k] = v as Vars[string];
  return vars;
}

/**
 * Which users hear about which event, and which template they read (docs/notifications.md
 * has the table). Returns several plans when different audiences get different wording.
 */
export async function plan(event: DomainEvent, deps: BaseDeps): Promise<Planned[]> {
  switch (event.type) {
    case "payment.succeeded": {
      const d = event.data;
      const data = { payment_id: d.payment_id, amount: String(d.amount), currency: d.currency };
      const out: Planned[] = [{ userIds: [d.user_id], template: "payment.payer", data }];
      if (d.merchant_id) {
        out.unshift({
          userIds: await merchantUserIds(deps.db, d.merchant_id),
          template: "payment.merchant",
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
          template: "subscription.payment_failed",
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
          template: "dispute.admin",
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
          template: "ticket.reply",
          data: { ticket_id: d.ticket_id, message_id: d.message_id },
        },
      ];
    }
    case "campaign.status_changed": {
      const d = event.data;
      return [
        {
          userIds: d.user_ids,
          template: "campaign.status",
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
          template: "flag.enabled",
          data: { flag: d.flag, ...(d.merchant_id ? { merchant_id: d.merchant_id } : {}) },
        },
      ];
    }
    case "merchant_application.approved": {
      const d = event.data;
      return [{ userIds: [d.user_id], template: "merchant.approved", data: { merchant_id: d.merchant_id } }];
    }
    case "security.alert": {
      const d = event.data;
      return [{ userIds: [d.user_id], template: `security.${d.kind}`, data: { kind: d.kind } }];
    }
    default:
      return [];
  }
}

/** Domain events → notifications; the (event_id, user_id) key makes replays harmless. */
export const notificationSink: EventSink = {
  name: "notifications",
  handle: async (event, deps) => {
    for (const p of await plan(event, deps)) {
      if (p.userIds.length === 0) continue;
      await notify(deps, {
        userIds: p.userIds,
        type: TEMPLATES[p.template].type,
        template: { key: p.template, vars: templateVars(event) },
        data: p.data,
        eventId: event.id,
      });
    }
  },
};

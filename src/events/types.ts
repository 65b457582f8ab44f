import { z } from "zod";
import { unicodeText } from "../platform/text";
import type { BaseDeps } from "../platform/types";

/**
 * Domain events: the spine of the platform (ARCHITECTURE.md, "One module per capability, one spine"). Each type has a zod schema for
 * its `data`; `publish()` validates before anything fans out.
 */
/**
 * Not blank: notification templates say these values, and the renderer counts a blank as
 * missing (templates/check.ts proves each placeholder against these schemas), so a blank
 * accepted here would be an event whose notification can never be rendered.
 */
const nonBlank = (max: number) => unicodeText(z.string().max(max).regex(/\S/, "must not be blank"));
/**
 * Free text a notification may say: Unicode text only (platform/text.ts). Pushes carry it to FCM
 * and the in-app history stores it; half an emoji would be stored as U+FFFD.
 */
const text = (max: number) => unicodeText(z.string().max(max));
// ISO 4217, as Stripe sends it (three letters); templates format money with it.
const money = { amount: z.number().int(), currency: z.string().regex(/^[A-Za-z]{3}$/, "must be ISO 4217") };
const id = nonBlank(128);

export const eventDataSchemas = {
  "payment.succeeded": z.object({ payment_id: id, user_id: id, merchant_id: id.nullable(), ...money }),
  "payment.failed": z.object({
    payment_id: id,
    user_id: id,
    merchant_id: id.nullable(),
    ...money,
    decline_code: z.string().nullable(),
  }),
  "payment.refunded": z.object({
    payment_id: id,
    user_id: id,
    merchant_id: id.nullable(),
    refund_id: id,
    ...money,
    amount_refunded_total: z.number().int(),
  }),
  /** A renewal failed and the subscription is past_due: once per invoice (src/payments/dunning.ts). */
  "subscription.payment_failed": z.object({
    subscription_id: id,
    user_id: id,
    invoice_id: id,
    ...money,
    plan: z.string().max(64),
    grace_ends_at: z.number().int(),
    update_url: z.url(),
  }),
  "dispute.created": z.object({
    dispute_id: id,
    payment_id: id.nullable(),
    ...money,
    reason: z.string().nullable(),
  }),
  "dispute.updated": z.object({ dispute_id: id, payment_id: id.nullable(), status: z.string() }),
  "dispute.closed": z.object({ dispute_id: id, payment_id: id.nullable(), status: z.string() }),
  "ticket.created": z.object({ ticket_id: id, user_id: id, merchant_id: id.nullable(), subject: text(200) }),
  "ticket.replied": z.object({
    ticket_id: id,
    user_id: id,
    merchant_id: id.nullable(),
    message_id: id,
    sender_id: id,
    preview: text(200),
  }),
  "ticket.status_changed": z.object({
    ticket_id: id,
    user_id: id,
    merchant_id: id.nullable(),
    status: z.string(),
  }),
  "campaign.status_changed": z.object({
    campaign_id: id,
    merchant_id: id,
    /** Users to notify; usually the merchant's staff. */
    user_ids: z.array(id).min(1).max(1000),
    // The status is what the notification says (templates/*.json).
    from: nonBlank(64),
    to: nonBlank(64),
    name: text(200).optional(),
  }),
  "feature_flag.enabled": z.object({
    flag: nonBlank(128),
    user_ids: z.array(id).min(1).max(1000),
    merchant_id: id.optional(),
    description: text(500).optional(),
  }),
  "merchant_application.approved": z.object({
    merchant_id: id,
    user_id: id,
    business_name: text(200).optional(),
  }),
  "security.alert": z.object({
    user_id: id,
    kind: z.enum(["new_login", "password_changed", "mfa_disabled", "suspicious_activity", "api_key_created"]),
    detail: text(500).optional(),
  }),
} as const;

export type DomainEventType = keyof typeof eventDataSchemas;
/** Types other services may publish through POST /api/v1/events (the rest are internal). */
export const EXTERNAL_EVENT_TYPES = [
  "campaign.status_changed",
  "feature_flag.enabled",
  "merchant_application.approved",
  "security.alert",
] as const satisfies readonly DomainEventType[];

export type EventData<T extends DomainEventType> = z.infer<(typeof eventDataSchemas)[T]>;

export type DomainEvent<T extends DomainEventType = DomainEventType> = {
  [K in T]: { id: string; type: K; occurred_at: number; source: string; data: EventData<K> };
}[T];

/** A subscriber to domain events. Registered in the composition root (src/sinks.ts), never here. */
export type EventSink = { name: string; handle(event: DomainEvent, deps: BaseDeps): Promise<void> };

import { z } from "@hono/zod-openapi";

/** Filters of the sink-delivery admin endpoints (src/events/admin.routes.ts). */
const sink = z
  .string()
  .min(1)
  .max(64)
  .openapi({ description: "A sink name: notifications, live-channels, analytics" });

export const deadDeliveriesQuery = z.strictObject({
  sink: sink.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

const deadDelivery = z.object({
  event_id: z.string(),
  sink: z.string(),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  created_at: z.string().openapi({ description: "ISO-8601 UTC" }),
  updated_at: z.string().openapi({ description: "When it went dead, ISO-8601 UTC" }),
});

export const deadDeliveriesOut = z
  .object({
    counts: z
      .array(z.object({ sink: z.string(), status: z.enum(["pending", "dead"]), count: z.number().int() }))
      .openapi({ description: "Unsettled deliveries per sink; `delivered` ones are not counted" }),
    dead: z.array(deadDelivery).openapi({ description: "Dead deliveries, most recently failed first" }),
  })
  .openapi("EventSinkDeliveries");

export const sinkRedriveIn = z
  .strictObject({
    sink: sink.optional(),
    event_id: z.string().min(1).max(128).optional(),
    limit: z.number().int().min(1).max(1000).default(500),
  })
  .openapi("EventSinkRedrive");

export const sinkRedriveOut = z
  .object({
    redriven: z.number().int().openapi({ description: "Dead deliveries moved back to pending by this call" }),
    deliveries: z.array(z.object({ event_id: z.string(), sink: z.string() })),
    more: z.boolean().openapi({ description: "More dead deliveries match: call again" }),
  })
  .openapi("EventSinkRedriveResult");

export type SinkRedriveFilter = z.infer<typeof sinkRedriveIn>;
export type DeadDeliveriesFilter = z.infer<typeof deadDeliveriesQuery>;

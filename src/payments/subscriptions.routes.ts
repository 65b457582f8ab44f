import { createRoute, z } from "@hono/zod-openapi";
import { authed, authedIdempotent, payerIdempotent } from "./middleware";
import { PLAN_IDS } from "./plans";
import { idempotencyHeader, pick } from "./schemas";

const tags = ["subscriptions"];
const security = [{ bearer: [] }];
const json = <T>(schema: T) => ({ "application/json": { schema } });

export const planSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    stripe_price_id: z.string().nullable(),
    amount: z.number().int(),
    amount_decimal: z.string(),
    currency: z.string(),
    interval: z.enum(["month", "year"]),
    monthly_amount: z.number().int(),
  })
  .openapi("Plan");

export const subscriptionSchema = z
  .object({
    subscription_id: z.uuid(),
    plan: z.string(),
    status: z.string(),
    amount: z.number().int(),
    amount_decimal: z.string(),
    currency: z.string(),
    interval: z.enum(["month", "year"]),
    quantity: z.number().int(),
    mrr: z.number().int(),
    current_period_start: z.string().nullable(),
    current_period_end: z.string().nullable(),
    cancel_at_period_end: z.boolean(),
    canceled_at: z.string().nullable(),
    ended_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("Subscription");

const createBody = z
  .object({
    plan: z.enum(PLAN_IDS),
    payment_method: z
      .string()
      .regex(/^pm_\w{1,100}$/)
      .optional()
      .openapi({ description: "Required unless the plan is free" }),
  })
  .strict()
  .openapi("CreateSubscriptionRequest");

const cancelBody = z
  .object({ at_period_end: z.boolean().default(true) })
  .strict()
  .openapi("CancelSubscriptionRequest");
const idParam = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });

export const plansRoute = createRoute({
  method: "get",
  path: "/subscriptions/plans",
  tags,
  security,
  summary: "Available plans",
  middleware: [...authed],
  responses: {
    200: { description: "Plans", content: json(z.object({ items: z.array(planSchema) })) },
    ...pick(401, 429, 500),
  },
});

export const createSubscriptionRoute = createRoute({
  method: "post",
  path: "/subscriptions",
  tags,
  security,
  summary: "Subscribe to a plan",
  middleware: [...payerIdempotent],
  request: { headers: idempotencyHeader, body: { content: json(createBody), required: true } },
  responses: {
    201: { description: "Subscribed", content: json(subscriptionSchema) },
    ...pick(400, 401, 402, 403, 409, 429, 500, 502, 503),
  },
});

export const listSubscriptionsRoute = createRoute({
  method: "get",
  path: "/subscriptions",
  tags,
  security,
  summary: "Your subscriptions",
  middleware: [...authed],
  responses: {
    200: { description: "Subscriptions", content: json(z.object({ items: z.array(subscriptionSchema) })) },
    ...pick(401, 429, 500),
  },
});

export const cancelSubscriptionRoute = createRoute({
  method: "post",
  path: "/subscriptions/{id}/cancel",
  tags,
  security,
  summary: "Cancel now or at the end of the period",
  middleware: [...authedIdempotent],
  request: {
    params: idParam,
    headers: idempotencyHeader,
    body: { content: json(cancelBody), required: true },
  },
  responses: {
    200: { description: "Updated subscription", content: json(subscriptionSchema) },
    ...pick(400, 401, 404, 409, 429, 500, 502, 503),
  },
});

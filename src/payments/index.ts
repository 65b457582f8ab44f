import { createRouter } from "../platform/router";
import * as h from "./payments.handlers";
import * as r from "./payments.routes";
import * as sh from "./subscriptions.handlers";
import * as sr from "./subscriptions.routes";

// Two resources, payments and subscriptions, each with routes/handlers/service. Refunds,
// disputes and history are payment sub-resources: their routes live in payments.routes.ts and
// their logic in refunds/disputes/history.service.ts. The Stripe webhook is webhooks/.
// Static paths before /payments/{payment_id}, so "history" is never read as an id.
export const paymentsRouter = createRouter()
  .openapi(r.webhookRoute, h.webhookHandler)
  .openapi(r.createIntentRoute, h.createIntentHandler)
  .openapi(r.confirmRoute, h.confirmHandler)
  .openapi(r.historyRoute, h.historyHandler)
  .openapi(r.disputesRoute, h.disputesHandler)
  .openapi(r.getPaymentRoute, h.getPaymentHandler)
  .openapi(r.refundRoute, h.refundHandler)
  .openapi(sr.plansRoute, sh.plansHandler)
  .openapi(sr.createSubscriptionRoute, sh.createSubscriptionHandler)
  .openapi(sr.listSubscriptionsRoute, sh.listSubscriptionsHandler)
  .openapi(sr.cancelSubscriptionRoute, sh.cancelSubscriptionHandler)
  .openapi(sr.updatePaymentMethodRoute, sh.updatePaymentMethodHandler)
  .openapi(sr.changeSubscriptionRoute, sh.changeSubscriptionHandler);

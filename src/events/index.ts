import { createRouter } from "../platform/router";
import { deadDeliveriesHandler, sinkRedriveHandler } from "./admin.handlers";
import { deadDeliveriesRoute, sinkRedriveRoute } from "./admin.routes";

/** Operator endpoints for domain-event sink deliveries (mounted at /api/v1). */
export const eventsRouter = createRouter()
  .openapi(deadDeliveriesRoute, deadDeliveriesHandler)
  .openapi(sinkRedriveRoute, sinkRedriveHandler);

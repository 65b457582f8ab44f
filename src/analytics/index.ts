import { createRouter } from "../platform/router";
import * as eh from "./events.handlers";
import * as er from "./events.routes";
import * as xh from "./export.handlers";
import * as xr from "./export.routes";
import * as rh from "./reports.handlers";
import * as rr from "./reports.routes";

export { IngestBudget } from "./ingest-budget";

export const analyticsRouter = createRouter()
  .openapi(er.ingestRoute, eh.ingestHandler)
  .openapi(rr.behaviorRoute, rh.behaviorHandler)
  .openapi(rr.funnelRoute, rh.funnelHandler)
  .openapi(rr.revenueRoute, rh.revenueHandler)
  .openapi(rr.revenueBySourceRoute, rh.revenueBySourceHandler)
  .openapi(rr.retentionRoute, rh.retentionHandler)
  .openapi(er.eraseRoute, eh.eraseHandler)
  .openapi(xr.exportRoute, xh.exportHandler);

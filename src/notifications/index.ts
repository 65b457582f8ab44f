import { createRouter } from "../platform/router";
import { redriveHandler, testSendHandler } from "./admin.handlers";
import { redriveRoute, testSendRoute } from "./admin.routes";
import * as dh from "./devices.handlers";
import * as dr from "./devices.routes";
import { ingestEventHandler } from "./events.handlers";
import { ingestEventRoute } from "./events.routes";
import * as hh from "./history.handlers";
import * as hr from "./history.routes";
import * as ph from "./preferences.handlers";
import * as pr from "./preferences.routes";

/** Devices, preferences, history, admin test sends and re-drives, and POST /events (mounted at /api/v1). */
export const notificationsRouter = createRouter()
  .openapi(dr.registerDeviceRoute, dh.registerDeviceHandler)
  .openapi(dr.listDevicesRoute, dh.listDevicesHandler)
  .openapi(dr.deleteDeviceRoute, dh.deleteDeviceHandler)
  .openapi(pr.getPreferencesRoute, ph.getPreferencesHandler)
  .openapi(pr.updatePreferencesRoute, ph.updatePreferencesHandler)
  .openapi(hr.historyRoute, hh.historyHandler)
  .openapi(hr.readAllRoute, hh.readAllHandler)
  .openapi(hr.readOneRoute, hh.readOneHandler)
  .openapi(hr.deliveriesRoute, hh.deliveriesHandler)
  .openapi(testSendRoute, testSendHandler)
  .openapi(redriveRoute, redriveHandler)
  .openapi(ingestEventRoute, ingestEventHandler);

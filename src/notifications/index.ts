import { createRouter } from "../platform/router";
import { adminRouter } from "./admin.routes";
import { devicesRouter } from "./devices.routes";
import { eventsRouter } from "./events.routes";
import { historyRouter } from "./history.routes";
import { preferencesRouter } from "./preferences.routes";

/** Devices, preferences, history, admin test sends, and POST /events (mounted at /api/v1). */
export const notificationsRouter = createRouter()
  .route("/", devicesRouter)
  .route("/", preferencesRouter)
  .route("/", historyRouter)
  .route("/", adminRouter)
  .route("/", eventsRouter);

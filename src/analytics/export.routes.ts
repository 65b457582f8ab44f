import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../platform/auth";
import { errorResponses, security } from "../platform/openapi";
import { exportBodySchema, exportQuerySchema } from "./schemas";

export const exportRoute = createRoute({
  method: "get",
  path: "/analytics/export",
  operationId: "exportAnalyticsEvents",
  tags: ["analytics"],
  summary: "Stream raw events of a range (D1 and the R2 archive) as NDJSON or CSV",
  security,
  middleware: [requireRole("admin")],
  request: { query: exportQuerySchema },
  responses: {
    200: {
      description: "The events, streamed, ordered by day",
      content: {
        "application/x-ndjson": { schema: exportBodySchema },
        "text/csv": { schema: exportBodySchema },
      },
    },
    // A bad or over-long range is VALIDATION_FAILED, before anything is streamed.
    ...errorResponses("UNAUTHENTICATED", "FORBIDDEN"),
  },
});

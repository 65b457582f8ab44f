import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { analyticsRouter } from "./analytics";
import { chatRouter, UPLOAD_PATH, wsRouter } from "./chat";
import { eventsRouter } from "./events";
import { notificationsRouter } from "./notifications";
import { paymentsRouter } from "./payments";
import type { AppEnv } from "./platform/app-env";
import { authenticate } from "./platform/auth";
import { apiCors } from "./platform/cors";
import { d1Session } from "./platform/d1-session";
import { createDeps } from "./platform/deps";
import { docsRouter } from "./platform/docs";
import { ApiError } from "./platform/errors";
import { healthRouter } from "./platform/health";
import { onError } from "./platform/on-error";
import { withBodyErrors, withBookmarkHeader } from "./platform/openapi";
import { pageOrNotFound } from "./platform/pages";
import { limitFailedAuth } from "./platform/rate-limit";
import { defaultHook } from "./platform/validation";
import { sinks } from "./sinks";

export const API_PREFIX = "/api/v1";
/** Largest request body the API reads; bigger ones get 413 before parsing. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Per-request services (unkey's init pattern), from the one deps factory. */
const init = createMiddleware<AppEnv>(async function init(c, next) {
  const deps = createDeps(c.env, {
    sinks,
    log: { request_id: c.var.requestId },
    dbSession: c.var.dbSession,
    analyticsSession: c.var.analyticsSession,
  });
  c.set("deps", deps);
  c.set("config", deps.config);
  c.set("logger", deps.logger);
  await next();
});

const accessLog = createMiddleware<AppEnv>(async function accessLog(c, next) {
  const started = Date.now();
  await next();
  const logger = c.var.logger;
  // One line per request at info; below that level nothing is built at all. c.req.path is
  // already parsed by the router (a new URL() per request showed in the profile).
  if (!logger?.enabled("info")) return;
  logger.info("request", {
    method: c.req.method,
    path: c.req.path,
    status: c.res.status,
    duration_ms: Date.now() - started,
    user_id: c.var.principal?.userId,
  });
});

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ strict: false, defaultHook });

  app.use("*", requestId({ headerName: "X-Request-Id" }));
  // DENY: nothing of ours is meant to be framed (the static pages also send frame-ancestors 'none').
  app.use("*", secureHeaders({ xFrameOptions: "DENY" }));
  app.use("/api/*", apiCors);
  app.use(`${API_PREFIX}/*`, d1Session);
  app.use("*", init);
  app.use("*", accessLog);
  const apiBodyLimit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError("PAYLOAD_TOO_LARGE", `Request body exceeds ${MAX_BODY_BYTES} bytes`);
    },
  });
  // Attachment uploads count their own bytes against their own, larger cap (chat/attachments.service.ts).
  app.use(`${API_PREFIX}/*`, (c, next) =>
    c.req.method === "POST" && UPLOAD_PATH.test(c.req.path) ? next() : apiBodyLimit(c, next),
  );
  app.use(`${API_PREFIX}/*`, authenticate);
  // Before authenticate, so it sees every 401 of the upgrade: bad header, subprotocol or ticket.
  app.use("/ws/*", limitFailedAuth({ binding: (e) => e.AUTH_RATE_LIMITER, prefix: "ws-auth-fail" }));
  app.use("/ws/*", authenticate);

  app.route(API_PREFIX, healthRouter);
  app.route(API_PREFIX, docsRouter);
  app.route(API_PREFIX, paymentsRouter);
  app.route(API_PREFIX, notificationsRouter);
  app.route(API_PREFIX, eventsRouter);
  app.route(API_PREFIX, chatRouter);
  app.route(API_PREFIX, analyticsRouter);
  app.route("/ws", wsRouter);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  // Generated once per isolate: the routes are fixed once createApp() returns.
  let document: unknown;
  app.get(`${API_PREFIX}/openapi.json`, (c) => {
    document ??= withBookmarkHeader(
      withBodyErrors(
        app.getOpenAPI31Document({
          openapi: "3.1.0",
          info: {
            title: "Edge platform API",
            version: "1.0.0",
            description:
              "Payments, push notifications, real-time chat and analytics. All errors use one envelope.",
          },
          servers: [{ url: "/" }],
        }),
      ),
    );
    return c.json(document);
  });

  // Anything no route takes is a static page from public/, or the JSON 404.
  app.notFound(pageOrNotFound);
  app.onError(onError);
  return app;
}

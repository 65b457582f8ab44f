import { createRoute, z } from "@hono/zod-openapi";
import { principalOf, requireAuth } from "../platform/auth";
import { ApiError } from "../platform/errors";
import { toIso } from "../platform/ids";
import { rateLimit } from "../platform/rate-limit";
import { createRouter } from "../platform/router";
import { assertSocketAccess, parseSocketPath } from "./access";
import { issueConnectTicket } from "./realtime.service";
import { errors } from "./schemas";

const route = createRoute({
  method: "post",
  path: "/realtime/tickets",
  tags: ["chat"],
  security: [{ bearer: [] }],
  summary: "A 60-second, single-use ticket to open one socket from a browser (?ticket=)",
  description:
    "Browsers cannot send headers on a WebSocket upgrade. Access to the path is checked now and again at connect.",
  middleware: [requireAuth, rateLimit({ binding: (e) => e.AUTH_RATE_LIMITER, prefix: "rt" })] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({
            path: z
              .string()
              .max(200)
              .openapi({ example: "/ws/support/7d0c6f1e-2f7b-4c1e-9a55-0f3c7a1d2b9e" }),
          }),
        },
      },
    },
  },
  responses: {
    201: {
      description: "Issued",
      content: {
        "application/json": {
          schema: z.object({
            ticket: z.string(),
            expires_at: z.string(),
            url: z.string().openapi({ description: "ws(s) URL with ?ticket= ready to open" }),
          }),
        },
      },
    },
    400: errors[400],
    401: errors[401],
    403: errors[403],
    404: errors[404],
    409: errors[409],
    429: errors[429],
  },
});

export const realtimeRouter = createRouter().openapi(route, async (c) => {
  const target = parseSocketPath(c.req.valid("json").path);
  if (!target) {
    throw new ApiError("VALIDATION_FAILED", "path is not a socket path", {
      details: [{ path: "path", message: "expected /ws/support/{id}, /ws/merchant/{id} or /ws/admin/{id}" }],
    });
  }
  const p = principalOf(c);
  await assertSocketAccess(c.var.db, p, target);
  const issued = await issueConnectTicket(c.var.db, p, target);
  const url = new URL(c.req.url);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = target.path;
  url.search = new URLSearchParams({ ticket: issued.ticket }).toString();
  return c.json(
    { ticket: issued.ticket, expires_at: toIso(issued.expires_at) ?? "", url: url.toString() },
    201,
  );
});

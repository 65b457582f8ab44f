import { createRoute, z } from "@hono/zod-openapi";
import { principalOf, requireAuth } from "../platform/auth";
import { createRouter } from "../platform/router";
import { deleteDevice, listDevices, registerDevice } from "./devices.service";
import { device, deviceInput, errors, idParam, json, jsonBody, security } from "./schemas";

const tags = ["notifications"];

const register = createRoute({
  method: "post",
  path: "/notifications/register-device",
  tags,
  security,
  summary: "Register (or move to the caller) an FCM device token",
  middleware: [requireAuth] as const,
  request: { body: jsonBody(deviceInput) },
  responses: {
    200: json(device, "Token already known: updated and now owned by the caller"),
    201: json(device, "Device registered"),
    400: errors[400],
    401: errors[401],
    500: errors[500],
  },
});

const list = createRoute({
  method: "get",
  path: "/notifications/devices",
  tags,
  security,
  summary: "The caller's registered devices",
  middleware: [requireAuth] as const,
  responses: {
    200: json(z.object({ items: z.array(device) }), "Devices"),
    401: errors[401],
    500: errors[500],
  },
});

const remove = createRoute({
  method: "delete",
  path: "/notifications/devices/{id}",
  tags,
  security,
  summary: "Unregister one of the caller's devices",
  middleware: [requireAuth] as const,
  request: { params: idParam },
  responses: {
    204: { description: "Removed" },
    400: errors[400],
    401: errors[401],
    404: errors[404],
    500: errors[500],
  },
});

export const devicesRouter = createRouter()
  .openapi(register, async (c) => {
    const { device: out, created } = await registerDevice(
      c.var.db,
      principalOf(c).userId,
      c.req.valid("json"),
    );
    return created ? c.json(out, 201) : c.json(out, 200);
  })
  .openapi(list, async (c) => c.json({ items: await listDevices(c.var.db, principalOf(c).userId) }, 200))
  .openapi(remove, async (c) => {
    await deleteDevice(c.var.db, principalOf(c).userId, c.req.valid("param").id);
    return c.body(null, 204);
  });

import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import type { deleteDeviceRoute, listDevicesRoute, registerDeviceRoute } from "./devices.routes";
import { deleteDevice, listDevices, registerDevice } from "./devices.service";

export const registerDeviceHandler: RouteHandler<typeof registerDeviceRoute, AppEnv> = async (c) => {
  const { device, created } = await registerDevice(c.var.deps, principalOf(c).userId, c.req.valid("json"));
  return created ? c.json(device, 201) : c.json(device, 200);
};

export const listDevicesHandler: RouteHandler<typeof listDevicesRoute, AppEnv> = async (c) =>
  c.json({ items: await listDevices(c.var.deps, principalOf(c).userId) }, 200);

export const deleteDeviceHandler: RouteHandler<typeof deleteDeviceRoute, AppEnv> = async (c) => {
  await deleteDevice(c.var.deps, principalOf(c).userId, c.req.valid("param").id);
  return c.body(null, 204);
};

import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../platform/auth";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { device, deviceInput, deviceList, idParam } from "./schemas";

const tags = ["notifications"];

export const registerDeviceRoute = createRoute({
  method: "post",
  path: "/notifications/register-device",
  operationId: "registerDevice",
  tags,
  security,
  summary: "Register (or move to the caller) an FCM device token",
  middleware: [requireAuth] as const,
  request: { body: jsonBody(deviceInput) },
  responses: {
    200: json(device, "Token already known: updated and now owned by the caller"),
    201: json(device, "Device registered"),
    ...errorResponses("UNAUTHENTICATED"),
  },
});

export const listDevicesRoute = createRoute({
  method: "get",
  path: "/notifications/devices",
  operationId: "listDevices",
  tags,
  security,
  summary: "The caller's registered devices",
  middleware: [requireAuth] as const,
  responses: { 200: json(deviceList, "Devices"), ...errorResponses("UNAUTHENTICATED") },
});

export const deleteDeviceRoute = createRoute({
  method: "delete",
  path: "/notifications/devices/{id}",
  operationId: "deleteDevice",
  tags,
  security,
  summary: "Unregister one of the caller's devices",
  middleware: [requireAuth] as const,
  request: { params: idParam },
  responses: { 204: { description: "Removed" }, ...errorResponses("UNAUTHENTICATED", "NOT_FOUND") },
});

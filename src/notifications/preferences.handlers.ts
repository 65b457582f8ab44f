import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import type { getPreferencesRoute, updatePreferencesRoute } from "./preferences.routes";
import { getPreferences, updatePreferences } from "./preferences.service";

export const getPreferencesHandler: RouteHandler<typeof getPreferencesRoute, AppEnv> = async (c) =>
  c.json(await getPreferences(c.var.deps, principalOf(c).userId), 200);

export const updatePreferencesHandler: RouteHandler<typeof updatePreferencesRoute, AppEnv> = async (c) =>
  c.json(await updatePreferences(c.var.deps, principalOf(c).userId, c.req.valid("json")), 200);

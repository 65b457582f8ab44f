import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";
import { defaultHook } from "./validation";

/** Every capability builds its routes on this, so validation errors look the same everywhere. */
export const createRouter = () => new OpenAPIHono<AppEnv>({ strict: false, defaultHook });

import { drizzle } from "drizzle-orm/d1";
import type { Db } from "../platform/types";
import * as schema from "./schema";

/** One drizzle client per request (set by the init middleware), never per handler. */
export const createDb = (d1: D1Database): Db => drizzle(d1, { schema });

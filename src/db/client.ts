import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";
import type { Db } from "../platform/types";

/** One drizzle client per request (set by the init middleware), never per handler. */
export const createDb = (d1: D1Database): Db => drizzle(d1, { schema });

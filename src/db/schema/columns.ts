import { integer, text } from "drizzle-orm/sqlite-core";

// Times are epoch milliseconds everywhere (ARCHITECTURE.md, "Money and time"); the API turns them into ISO-8601.
export const createdAt = () => integer("created_at").notNull();
export const updatedAt = () => integer("updated_at").notNull();
export const uuidPk = () => text("id").primaryKey();
/** Money: integer minor units plus an ISO-4217 lower-case currency, as Stripe has it. */
export const amount = (name = "amount") => integer(name).notNull();
export const currency = () => text("currency").notNull();
/** JSON stored as TEXT; callers parse with the schema that wrote it. */
export const json = (name: string) => text(name, { mode: "json" });

import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { idempotencyKeys, payments, refunds } from "../../src/db/schema";
import { EMULATOR } from "../helpers/stripe";
import { db } from "../payments/helpers";

/** Removes what is left of an injected Stripe fault, so the retry meets a healthy upstream. */
export async function clearFault(id: number): Promise<void> {
  const res = await fetch(`${EMULATOR}/_emulator/stripe/faults/${id}`, { method: "DELETE" });
  await res.body?.cancel();
}

/** A marker unique to one test; Stripe faults match it with `body_contains`. */
export const marker = () => `m${crypto.randomUUID().replaceAll("-", "")}`;

export const paymentsOf = (userId: string) => db().select().from(payments).where(eq(payments.userId, userId));
export const refundsOf = (paymentId: string) =>
  db().select().from(refunds).where(eq(refunds.paymentId, paymentId));
export const idempotencyRow = (userId: string, key: string) =>
  db()
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)))
    .get();

/** Row count of a table, read raw so a test can prove a failed operation wrote nothing. */
export async function countWhere(table: string, where: string, ...binds: unknown[]): Promise<number> {
  const row = await env.DB.prepare(`select count(*) as n from ${table} where ${where}`)
    .bind(...binds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A real D1 failure in the middle of a multi-statement write, with no test-only branch in
 * production code: a trigger created here aborts the one statement of the batch that touches
 * a row belonging to this test, so the batch's earlier statements must roll back with it.
 */
export async function withAbortTrigger<T>(
  table: string,
  event: "INSERT" | "UPDATE",
  when: string,
  fn: () => Promise<T>,
): Promise<T> {
  const name = `inject_${crypto.randomUUID().replaceAll("-", "")}`;
  // Trigger DDL cannot take bound parameters; `when` is built by the test from its own ids.
  await env.DB.exec(
    `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} WHEN ${when} BEGIN SELECT RAISE(ABORT, 'injected'); END`,
  );
  try {
    return await fn();
  } finally {
    await env.DB.exec(`DROP TRIGGER IF EXISTS ${name}`);
  }
}

export const safeId = (id: string) => {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`unexpected id ${id}`);
  return `'${id}'`;
};

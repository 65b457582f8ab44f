import { createHash } from "node:crypto";
import { DAY_MS } from "./store";

/**
 * Daily byte budgets for ingest (docs/analytics.md, "Abuse limits"), exact and global: one per
 * session, one per client network (an IPv4 address or an IPv6 /64, client-ip.ts) and one for
 * everyone, counted per UTC day by the IngestBudget Durable Object (ingest-budget.ts), which
 * takes a request's keys all or none.
 * Sessions are client-chosen ids, so the session budget alone bounds nothing: one IP rotating
 * session ids is stopped by its own budget, and everyone together by the global one.
 */
export type BudgetTake = { key: string; bytes: number; cap: number };
/** The key that refused a take, its cap, what it had counted then, and on which UTC day (its clock). */
export type BudgetRefusal = { key: string; cap: number; used: number; day: number };

/** What the budgets need of the object (its RPC method), so callers and tests name no class. */
export type BudgetCounter = {
  take(takes: BudgetTake[]): Promise<BudgetRefusal | null>;
};

/** The one object holding every key: the `global` budget is one counter (docs/scaling.md). */
export const BUDGET_OBJECT = "ingest-budget";

export type BudgetScope = "s" | "ip" | "global";

/**
 * The stored key: scope, then 16 bytes of SHA-256 of the value. Client-chosen session ids of up
 * to 128 characters and IPv6 addresses would make rows several times larger (the object's
 * storage is bounded by row size, docs/scaling.md), and the object then holds no raw session id
 * or IP. A hash, not anonymisation: an IPv4 address can be found again by trying them all.
 */
export function budgetKey(scope: BudgetScope, value = ""): string {
  if (scope === "global") return "global";
  return `${scope}:${createHash("sha256").update(`${scope}\u0000${value}`).digest("base64url").slice(0, 22)}`;
}

/** Which key refused a take, and its cap, for the 429's details. */
export class BudgetExceeded extends Error {
  override name = "BudgetExceeded";
  /** `day`: the UTC day that refused (the object's clock): the budget is back after it. */
  constructor(
    readonly refused: Pick<BudgetTake, "key" | "cap">,
    readonly day: number,
  ) {
    super("daily byte budget exceeded");
  }
}

/** The object could not be reached, or failed: the request was not accepted. */
export class BudgetUnavailable extends Error {
  override name = "BudgetUnavailable";
  /** The object said it is overloaded: clients should back off longer (Cloudflare's advice). */
  get overloaded(): boolean {
    return (this.cause as { overloaded?: unknown } | undefined)?.overloaded === true;
  }
}

/**
 * Refusals this isolate has seen: key → bytes the object had counted by then, for one day.
 * Counts only grow within a day, so once `known + bytes > cap` the object would refuse too,
 * and the isolate refuses without the RPC: a client (or a flood) past its budget, or everyone
 * past the global one, stops costing the one object a request each. Bounded; never exact
 * about acceptance, only about refusal. The day is the object's; this isolate's clock may be
 * a little off, so the cache is not used within a minute of midnight, when the object may
 * already count a new day.
 */
const MAX_KNOWN = 10_000;
const MIDNIGHT_MARGIN_MS = 60_000;
let knownDay = -1;
let known = new Map<string, number>();

function knownRefusal(takes: BudgetTake[], now: number): BudgetTake | undefined {
  const sinceMidnight = now % DAY_MS;
  if (sinceMidnight < MIDNIGHT_MARGIN_MS || sinceMidnight > DAY_MS - MIDNIGHT_MARGIN_MS) return undefined;
  if (Math.floor(now / DAY_MS) !== knownDay) return undefined;
  return takes.find((t) => {
    const used = known.get(t.key);
    return used !== undefined && used + t.bytes > t.cap;
  });
}

function remember(refusal: BudgetRefusal): void {
  if (refusal.day !== knownDay || known.size >= MAX_KNOWN) {
    knownDay = refusal.day;
    known = new Map();
  }
  known.set(refusal.key, Math.max(refusal.used, known.get(refusal.key) ?? 0));
}

/** Takes the request's budgets, or throws BudgetExceeded / BudgetUnavailable. `now`: this isolate's clock. */
export async function takeBudgets(
  env: Pick<Env, "INGEST_BUDGET">,
  takes: BudgetTake[],
  now: number,
): Promise<void> {
  const local = knownRefusal(takes, now);
  if (local) throw new BudgetExceeded(local, knownDay);
  let refused: BudgetRefusal | null;
  try {
    const counter: BudgetCounter = env.INGEST_BUDGET.getByName(BUDGET_OBJECT);
    refused = await counter.take(takes);
  } catch (err) {
    // A take whose answer was lost may still have committed: over-counted, never under.
    throw new BudgetUnavailable("ingest budget unavailable", { cause: err });
  }
  if (refused) {
    remember(refused);
    throw new BudgetExceeded(refused, refused.day);
  }
}

import type { HousekeepingDeps } from "../scheduled";
import { deleteExpiredConnectTickets } from "./connect-tickets";

/** Consumed tickets are deleted at connect; this sweeps the ones nobody ever used. */
export async function expireConnectTickets(deps: HousekeepingDeps): Promise<number> {
  return deleteExpiredConnectTickets(deps.db);
}

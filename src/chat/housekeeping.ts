import type { Deps } from "../platform/deps";
import { deleteExpiredConnectTickets } from "./connect-tickets";

/** Consumed tickets are deleted at connect; this sweeps the ones nobody ever used. */
export async function expireConnectTickets(deps: Deps): Promise<number> {
  return deleteExpiredConnectTickets(deps.db);
}

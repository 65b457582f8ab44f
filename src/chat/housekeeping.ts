import type { Deps } from "../platform/deps";
import { deleteExpiredConnectTickets } from "./realtime.service";

/** Consumed tickets are deleted at connect; this sweeps the ones nobody ever used. */
export async function expireConnectTickets(deps: Deps): Promise<number> {
  return deleteExpiredConnectTickets(deps.db);
}

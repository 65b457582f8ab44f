import type { Deps } from "../platform/deps";
import { deleteExpiredConnectTickets } from "./realtime.service";

/** The cron job (src/scheduled.ts): sweeps connect tickets that expired unused. */
export async function expireConnectTickets(deps: Deps): Promise<number> {
  return deleteExpiredConnectTickets(deps);
}

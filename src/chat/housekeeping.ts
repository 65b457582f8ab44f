import type { Deps } from "../platform/deps";
import { sweepAttachments } from "./attachments.service";
import { deleteExpiredConnectTickets } from "./realtime.service";

/** The cron job (src/scheduled.ts): sweeps connect tickets that expired unused. */
export async function expireConnectTickets(deps: Deps): Promise<number> {
  return deleteExpiredConnectTickets(deps);
}

/** The cron job: deletes the R2 objects of erased tickets and crashed uploads, then their rows. */
export function sweepTicketAttachments(deps: Deps): Promise<{ deleted: number }> {
  return sweepAttachments(deps);
}

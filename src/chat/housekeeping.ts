import type { HousekeepingDeps } from "../scheduled";

// Placeholder until the chat capability lands.
export async function expireConnectTickets(_deps: HousekeepingDeps): Promise<number> {
  return 0;
}

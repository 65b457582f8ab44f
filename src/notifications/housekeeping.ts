import type { HousekeepingDeps } from "../scheduled";

// Placeholder until the notifications capability lands.
export async function releaseHeldPushes(_deps: HousekeepingDeps): Promise<number> {
  return 0;
}

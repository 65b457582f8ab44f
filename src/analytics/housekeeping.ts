import type { HousekeepingDeps } from "../scheduled";

// Placeholder until the analytics capability lands.
export async function purgeExpiredAnalytics(_deps: HousekeepingDeps): Promise<number> {
  return 0;
}

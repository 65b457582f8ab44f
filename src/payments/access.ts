import type { Principal } from "../platform/types";

/**
 * Payments and subscriptions are their owner's; admins see everyone's. A lookup that fails
 * this answers the same 404 as a missing id, so existence never leaks.
 */
export const ownerOrAdmin = (p: Principal, ownerId: string): boolean =>
  p.userId === ownerId || p.role === "admin";

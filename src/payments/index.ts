import { createRouter } from "../platform/router";

// Routes land with the payments capability.
export const paymentsRouter = createRouter();

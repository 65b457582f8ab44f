import { createRouter } from "../platform/router";

// Routes land with the analytics capability.
export const analyticsRouter = createRouter();

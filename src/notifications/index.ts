import { createRouter } from "../platform/router";

// Routes land with the notifications capability.
export const notificationsRouter = createRouter();

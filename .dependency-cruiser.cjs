/**
 * Architecture rules checked by `npm run lint` (ARCHITECTURE.md, "Where to find it").
 * Type-only imports count (tsPreCompilationDeps): a type cycle is still a cycle to a reader.
 */
module.exports = {
  forbidden: [
    { name: "no-cycles", severity: "error", from: {}, to: { circular: true } },
    {
      name: "services-without-hono",
      comment: "Services run in HTTP, queue, cron and Durable Object contexts alike; HTTP stays in handlers.",
      severity: "error",
      from: { path: "^src/.+\\.service\\.ts$" },
      to: { path: "^node_modules/(hono|@hono)/" },
    },
    {
      name: "events-know-no-subscribers",
      comment: "Sinks are registered by the composition root (src/sinks.ts), never imported by events/.",
      severity: "error",
      from: { path: "^src/events/" },
      to: { path: "^src/(payments|notifications|chat|analytics)/" },
    },
    {
      name: "platform-below-capabilities",
      comment: "platform/ is the shared floor; only the deps factory may reach the Stripe client.",
      severity: "error",
      from: { path: "^src/platform/", pathNot: "^src/platform/deps\\.ts$" },
      to: { path: "^src/(payments|notifications|chat|analytics)/" },
    },
    {
      name: "emulators-apart",
      comment: "The emulators stand in for Stripe and Google: they share no code with the platform.",
      severity: "error",
      from: { path: "^emulators/src/" },
      to: { path: "^src/" },
    },
    {
      name: "client-apart",
      comment: "The SDK knows the platform only through the OpenAPI document's generated types.",
      severity: "error",
      from: { path: "^packages/client/" },
      to: { path: "^(src|emulators)/" },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "worker-configuration\\.d\\.ts$" },
  },
};

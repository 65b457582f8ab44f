import { createLogger } from "./platform/logger";

/** Cron entry point (see wrangler.toml [triggers]); housekeeping jobs are added per capability. */
export async function handleScheduled(controller: ScheduledController, _env: Env, _ctx: ExecutionContext): Promise<void> {
  createLogger({ cron: controller.cron }).info("scheduled tick");
}

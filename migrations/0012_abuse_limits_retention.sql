-- Issue 13, items 8, 9 and 11: ingest quota per session and day, platform rate counters, and
-- the indexes the retention jobs scan by age.

-- Bytes one analytics session wrote on one UTC day. The CHECK makes the quota a D1 constraint:
-- an ingest batch whose upsert would pass the cap fails, and the whole batch (events and
-- rollups) rolls back with it (src/analytics/store.ts).
CREATE TABLE `analytics_ingest_quota` (
	`session_id` text NOT NULL,
	`day` integer NOT NULL,
	`bytes` integer NOT NULL,
	`cap` integer NOT NULL,
	PRIMARY KEY(`session_id`, `day`),
	CONSTRAINT "analytics_quota_cap" CHECK(`bytes` <= `cap`)
);
--> statement-breakpoint
CREATE INDEX `analytics_ingest_quota_day_idx` ON `analytics_ingest_quota` (`day`);
--> statement-breakpoint
-- Fixed-window counters taken with a conditional upsert (src/platform/limits.ts).
CREATE TABLE `rate_counters` (
	`name` text NOT NULL,
	`bucket` integer NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`name`, `bucket`)
);
--> statement-breakpoint
CREATE INDEX `rate_counters_bucket_idx` ON `rate_counters` (`bucket`);
--> statement-breakpoint
-- Retention scans (src/platform/retention.ts).
CREATE INDEX `idempotency_keys_created_idx` ON `idempotency_keys` (`created_at`);
--> statement-breakpoint
CREATE INDEX `domain_events_created_idx` ON `domain_events` (`created_at`);
--> statement-breakpoint
-- Only deliveries that still hold a device token: a row leaves the index once its token expires.
CREATE INDEX `deliveries_token_age_idx` ON `notification_deliveries` (`updated_at`) WHERE `token` <> '';

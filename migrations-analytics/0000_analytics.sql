-- ANALYTICS_DB (issue 16): analytics in its own D1 database, so an ingest flood or raw-event
-- growth never competes with payments, webhooks or notifications in DB. Hand-written (not
-- drizzle-kit): the first part is the final shape of DB's analytics tables (migrations/0000,
-- 0002–0006), so a one-off copy from an existing DB fits column for column
-- (docs/analytics.md, "Moving analytics out of DB"); the rest is new.
CREATE TABLE `analytics_events` (
	`id` text PRIMARY KEY NOT NULL,
	`event_type` text NOT NULL,
	`user_id` text,
	`session_id` text NOT NULL,
	`page` text,
	`element` text,
	`source` text,
	`properties` text,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `analytics_type_time_idx` ON `analytics_events` (`event_type`,`occurred_at`,`page`,`user_id`,`session_id`);
--> statement-breakpoint
CREATE INDEX `analytics_user_time_idx` ON `analytics_events` (`user_id`,`occurred_at`,`event_type`,`page`);
--> statement-breakpoint
CREATE INDEX `analytics_session_time_idx` ON `analytics_events` (`session_id`,`occurred_at`,`event_type`,`page`,`user_id`);
--> statement-breakpoint
CREATE INDEX `analytics_time_idx` ON `analytics_events` (`occurred_at`);
--> statement-breakpoint
CREATE TABLE `analytics_activity` (
	`bucket` integer PRIMARY KEY NOT NULL,
	`events` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `analytics_daily` (
	`day` integer NOT NULL,
	`event_type` text NOT NULL,
	`page` text NOT NULL,
	`element` text NOT NULL,
	`events` integer NOT NULL,
	PRIMARY KEY(`day`, `event_type`, `page`, `element`)
);
--> statement-breakpoint
CREATE TABLE `analytics_sessions` (
	`session_id` text PRIMARY KEY NOT NULL,
	`first_at` integer NOT NULL,
	`last_at` integer NOT NULL,
	`events` integer NOT NULL,
	`page_views` integer NOT NULL,
	`interactions` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `analytics_sessions_first_idx` ON `analytics_sessions` (`first_at`);
--> statement-breakpoint
CREATE TABLE `analytics_user_days` (
	`user_id` text NOT NULL,
	`day` integer NOT NULL,
	PRIMARY KEY(`user_id`, `day`)
);
--> statement-breakpoint
CREATE INDEX `analytics_user_days_day_idx` ON `analytics_user_days` (`day`);
--> statement-breakpoint
-- Bytes accepted per UTC day for one budget key: `s:<session>`, `ip:<client IP>` or `global`
-- (replaces DB's analytics_ingest_quota, which only knew sessions). The CHECK is the budget:
-- ingest takes every key of a request in one upsert statement, which fails whole if any key
-- would pass its cap, so parallel requests cannot overdraw it (src/analytics/budget.ts).
CREATE TABLE `analytics_ingest_budget` (
	`budget_key` text NOT NULL,
	`day` integer NOT NULL,
	`bytes` integer NOT NULL,
	`cap` integer NOT NULL,
	PRIMARY KEY(`budget_key`, `day`),
	CONSTRAINT "analytics_budget_cap" CHECK(`bytes` <= `cap`)
);
--> statement-breakpoint
CREATE INDEX `analytics_ingest_budget_day_idx` ON `analytics_ingest_budget` (`day`);
--> statement-breakpoint
-- Erasure tombstones: `u:<user id>` or `s:<session id>`, with the time of the erasure. Every
-- event write skips a row whose user or session was erased at or after its occurred_at, in the
-- same statement, so a queued ingest or a retried sink delivery cannot bring erased events back.
CREATE TABLE `analytics_erasures` (
	`subject` text PRIMARY KEY NOT NULL,
	`erased_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `analytics_erasures_at_idx` ON `analytics_erasures` (`erased_at`);
--> statement-breakpoint
-- Messages the ingest consumer gave up on (from the analytics-dlq queue), kept for inspection.
CREATE TABLE `analytics_dead_letters` (
	`message_id` text PRIMARY KEY NOT NULL,
	`body` text NOT NULL,
	`attempts` integer NOT NULL,
	`received_at` integer NOT NULL
);

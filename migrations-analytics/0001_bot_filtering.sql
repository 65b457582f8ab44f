-- Bot filtering (issue 17 item 5, docs/analytics.md "Bot filtering"). Hand-written.
-- `bot` is 0 (human) or 1 (classified as a bot: its User-Agent, a zero-duration burst, or any
-- other event of its session). Existing rows default to 0, and the rebuilt rollups copy their
-- rows with bot = 0, so reports over data written before this migration do not change.
-- The rollups carry `bot` in their key so human and bot traffic stay separable (reports add
-- `bot = 0` unless ?include_bots=true) and the same upserts keep them idempotent.
ALTER TABLE `analytics_events` ADD `bot` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE `analytics_sessions` ADD `bot` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- The covering indexes gain `bot` (last, so every range they serve is unchanged): the funnel's
-- `bot = 0` filter is answered from the index instead of a lookup per event.
DROP INDEX `analytics_type_time_idx`;
--> statement-breakpoint
CREATE INDEX `analytics_type_time_idx` ON `analytics_events` (`event_type`,`occurred_at`,`page`,`user_id`,`session_id`,`bot`);
--> statement-breakpoint
DROP INDEX `analytics_user_time_idx`;
--> statement-breakpoint
CREATE INDEX `analytics_user_time_idx` ON `analytics_events` (`user_id`,`occurred_at`,`event_type`,`page`,`bot`);
--> statement-breakpoint
DROP INDEX `analytics_session_time_idx`;
--> statement-breakpoint
CREATE INDEX `analytics_session_time_idx` ON `analytics_events` (`session_id`,`occurred_at`,`event_type`,`page`,`user_id`,`bot`);
--> statement-breakpoint
-- SQLite cannot change a primary key in place: the three rollups keyed without `bot` are
-- rebuilt (new table, copy, drop, rename).
CREATE TABLE `analytics_daily_new` (
	`day` integer NOT NULL,
	`event_type` text NOT NULL,
	`page` text NOT NULL,
	`element` text NOT NULL,
	`bot` integer DEFAULT 0 NOT NULL,
	`events` integer NOT NULL,
	PRIMARY KEY(`day`, `event_type`, `page`, `element`, `bot`)
);
--> statement-breakpoint
INSERT INTO `analytics_daily_new` (`day`, `event_type`, `page`, `element`, `bot`, `events`)
	SELECT `day`, `event_type`, `page`, `element`, 0, `events` FROM `analytics_daily`;
--> statement-breakpoint
DROP TABLE `analytics_daily`;
--> statement-breakpoint
ALTER TABLE `analytics_daily_new` RENAME TO `analytics_daily`;
--> statement-breakpoint
CREATE TABLE `analytics_activity_new` (
	`bucket` integer NOT NULL,
	`bot` integer DEFAULT 0 NOT NULL,
	`events` integer NOT NULL,
	PRIMARY KEY(`bucket`, `bot`)
);
--> statement-breakpoint
INSERT INTO `analytics_activity_new` (`bucket`, `bot`, `events`)
	SELECT `bucket`, 0, `events` FROM `analytics_activity`;
--> statement-breakpoint
DROP TABLE `analytics_activity`;
--> statement-breakpoint
ALTER TABLE `analytics_activity_new` RENAME TO `analytics_activity`;
--> statement-breakpoint
CREATE TABLE `analytics_user_days_new` (
	`user_id` text NOT NULL,
	`day` integer NOT NULL,
	`bot` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`user_id`, `day`, `bot`)
);
--> statement-breakpoint
INSERT INTO `analytics_user_days_new` (`user_id`, `day`, `bot`)
	SELECT `user_id`, `day`, 0 FROM `analytics_user_days`;
--> statement-breakpoint
DROP TABLE `analytics_user_days`;
--> statement-breakpoint
ALTER TABLE `analytics_user_days_new` RENAME TO `analytics_user_days`;
--> statement-breakpoint
CREATE INDEX `analytics_user_days_day_idx` ON `analytics_user_days` (`day`);

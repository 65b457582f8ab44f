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
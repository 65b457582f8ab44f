CREATE TABLE `analytics_user_days` (
	`user_id` text NOT NULL,
	`day` integer NOT NULL,
	PRIMARY KEY(`user_id`, `day`)
);
--> statement-breakpoint
CREATE INDEX `analytics_user_days_day_idx` ON `analytics_user_days` (`day`);
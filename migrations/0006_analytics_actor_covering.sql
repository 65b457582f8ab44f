DROP INDEX `analytics_funnel_idx`;--> statement-breakpoint
DROP INDEX `analytics_user_time_idx`;--> statement-breakpoint
DROP INDEX `analytics_session_time_idx`;--> statement-breakpoint
CREATE INDEX `analytics_user_time_idx` ON `analytics_events` (`user_id`,`occurred_at`,`event_type`,`page`);--> statement-breakpoint
CREATE INDEX `analytics_session_time_idx` ON `analytics_events` (`session_id`,`occurred_at`,`event_type`,`page`,`user_id`);
DROP INDEX `analytics_type_time_idx`;--> statement-breakpoint
CREATE INDEX `analytics_type_time_idx` ON `analytics_events` (`event_type`,`occurred_at`,`page`,`user_id`,`session_id`);
-- At-least-once delivery of each domain event to each sink (issue 13, item 1). One row per
-- (event, sink), written in the same batch as the domain_events row; the cron retries the
-- pending ones. Events published before this migration have no rows: they were delivered
-- (or lost) under the old at-most-once rule, and a replay of one is answered `duplicate`.
CREATE TABLE `domain_event_deliveries` (
	`event_id` text NOT NULL,
	`sink` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`event_id`, `sink`)
);
--> statement-breakpoint
CREATE INDEX `domain_event_deliveries_due_idx` ON `domain_event_deliveries` (`next_attempt_at`) WHERE `status` = 'pending';

-- Review of issue 13, items 1, 3 and 6.

-- The retention job deletes settled per-sink delivery rows by age (src/platform/retention.ts,
-- expireDomainEvents); without this it scanned the whole table.
CREATE INDEX `domain_event_deliveries_created_idx` ON `domain_event_deliveries` (`created_at`);
--> statement-breakpoint
-- Events granted a place in the admin fan-out budget (src/chat/on-event.ts): a retry of the
-- live-channels sink finds its grant here and does not take the budget a second time. Purged
-- with the budget windows after a day (a sink delivery gives up after about 13 hours).
CREATE TABLE `admin_fanout_grants` (
	`event_id` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`granted_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `admin_fanout_grants_granted_idx` ON `admin_fanout_grants` (`granted_at`);
--> statement-breakpoint
-- Review of issue 13, item 1: dead sink deliveries are listed, counted and re-driven by an
-- admin (src/events/admin.service.ts); only dead rows are in this index.
CREATE INDEX `domain_event_deliveries_dead_idx` ON `domain_event_deliveries` (`sink`, `updated_at`) WHERE `status` = 'dead';

-- Issue 17, item 7: files uploaded into a support ticket (src/chat/attachments.service.ts).
-- The bytes live in R2 (ATTACHMENTS) under `tickets/<ticket_id>/<id>`; this row is written first
-- (`pending`), so there is never an object without a row. `ready` rows may be sent in messages;
-- `deleting` rows (ticket erased) and stale `pending` rows (an upload that crashed) are swept by
-- the cron, which deletes the object and then the row (src/chat/housekeeping.ts).
CREATE TABLE `chat_attachments` (
	`id` text PRIMARY KEY NOT NULL,
	`ticket_id` text NOT NULL,
	`uploader_id` text NOT NULL,
	`name` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`status` text NOT NULL CHECK (`status` IN ('pending', 'ready', 'deleting')),
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
-- The per-ticket budget (count and bytes) is summed over this index inside the conditional insert.
CREATE INDEX `chat_attachments_ticket_idx` ON `chat_attachments` (`ticket_id`, `status`);
--> statement-breakpoint
-- The sweep's work list: rows to delete and uploads that never finished.
CREATE INDEX `chat_attachments_sweep_idx` ON `chat_attachments` (`status`, `updated_at`) WHERE `status` <> 'ready';

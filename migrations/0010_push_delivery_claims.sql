-- Issue 13 item 4: a delivery is marked `sending` with a claim token before its FCM request,
-- and its outcome is written right after that request by the run holding the token. A retry
-- then sees what was sent; a row left `sending` by a dead run is re-queued by the cron once
-- `claimed_at` is older than a consumer invocation can live (docs/notifications.md).
ALTER TABLE `notification_deliveries` ADD COLUMN `claim_token` text;
--> statement-breakpoint
ALTER TABLE `notification_deliveries` ADD COLUMN `claimed_at` integer;

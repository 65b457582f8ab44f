-- Issue 17 item 3: per-type digests (docs/notifications.md, "Digests").
-- A type's delivery mode per user; critical types are always instant (enforced in code, 422).
ALTER TABLE `notification_preferences` ADD COLUMN `delivery` text DEFAULT 'instant' NOT NULL;
--> statement-breakpoint
-- The mode a digested notification was created under (null = pushed on its own), and the
-- digest window that took it (null while pending).
ALTER TABLE `notifications` ADD COLUMN `digest` text;
--> statement-breakpoint
ALTER TABLE `notifications` ADD COLUMN `digest_id` text;
--> statement-breakpoint
-- Only pending items: the cron's scan stays as small as the backlog.
CREATE INDEX `notifications_digest_pending_idx` ON `notifications` (`user_id`,`type`,`digest`,`created_at`)
  WHERE `digest` IS NOT NULL AND `digest_id` IS NULL;
--> statement-breakpoint
CREATE INDEX `notifications_digest_idx` ON `notifications` (`digest_id`) WHERE `digest_id` IS NOT NULL;
--> statement-breakpoint
-- One row per released window. The unique (user, type, mode, window start) is what makes a
-- window release exactly once: of two cron runs, only one insert wins it.
CREATE TABLE `notification_digests` (
  `id` text PRIMARY KEY NOT NULL,
  `user_id` text NOT NULL,
  `type` text NOT NULL,
  `mode` text NOT NULL,
  `window_start` integer NOT NULL,
  `window_end` integer NOT NULL,
  `time_zone` text NOT NULL,
  `item_count` integer DEFAULT 0 NOT NULL,
  `status` text NOT NULL,
  `claim_token` text NOT NULL,
  `summary_notification_id` text,
  `created_at` integer NOT NULL,
  `updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notification_digests_window_idx` ON `notification_digests` (`user_id`,`type`,`mode`,`window_start`);
--> statement-breakpoint
CREATE INDEX `notification_digests_releasing_idx` ON `notification_digests` (`status`) WHERE `status` = 'releasing';

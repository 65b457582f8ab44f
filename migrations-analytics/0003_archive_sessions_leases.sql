-- Which signed-in user appeared in which session, for events that now live only in the R2
-- archive (written by the archive in the same D1 batch that deletes the archived rows). An
-- erasure finds a user's sessions here as well as in analytics_events, so the anonymous events
-- of a session that was purged from D1 still get their `s:<session>` tombstone. Erasure deletes
-- the user's rows; nothing else reads this table.
CREATE TABLE `analytics_archived_sessions` (
	`user_id` text NOT NULL,
	`session_id` text NOT NULL,
	PRIMARY KEY(`user_id`, `session_id`)
) WITHOUT ROWID;
--> statement-breakpoint
-- One archive run per UTC day at a time. A multipart upload cannot be made conditional on the
-- object it replaces (R2's complete() takes no onlyIf), so the run claims the day here first
-- (a conditional upsert), renews the claim before each part and before completing, and deletes
-- its D1 rows only while it still holds it.
CREATE TABLE `analytics_archive_leases` (
	`day` integer PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`expires_at` integer NOT NULL
);

-- UTM attribution (issue 17, item 6; docs/analytics.md, "Attribution"). Two rows per actor:
-- model 'first' (earliest touch) and 'last' (latest), for a signed-in user (scope 'user', actor =
-- user id) or an anonymous session (scope 'session', actor = session id). The key makes every
-- write an upsert, and the writes (src/analytics/attribution.ts) replace a row only when the new
-- touch is strictly earlier (first) or later (last) by (occurred_at, event_id), so redelivered
-- and out-of-order batches converge on the same rows.
CREATE TABLE `analytics_touches` (
	`scope` text NOT NULL,
	`actor` text NOT NULL,
	`model` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`event_id` text NOT NULL,
	`session_id` text NOT NULL,
	`source` text NOT NULL,
	`medium` text,
	`campaign` text,
	PRIMARY KEY(`scope`, `actor`, `model`),
	CONSTRAINT "analytics_touches_scope" CHECK(`scope` IN ('user', 'session')),
	CONSTRAINT "analytics_touches_model" CHECK(`model` IN ('first', 'last'))
);
--> statement-breakpoint
-- Erasure deletes every touch an erased event set, whoever inherited it (a shared session).
CREATE INDEX `analytics_touches_event_idx` ON `analytics_touches` (`event_id`);
--> statement-breakpoint
-- The retention purge finds anonymous sessions whose last touch is past the cutoff.
CREATE INDEX `analytics_touches_age_idx` ON `analytics_touches` (`scope`, `model`, `occurred_at`);

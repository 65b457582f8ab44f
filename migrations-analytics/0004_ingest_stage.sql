-- The rows of one insert batch (store.ts, insertJsonRows), staged once from their JSON chunks so
-- the rollup and insert statements read typed columns instead of each carrying the whole chunk
-- again. Only ever non-empty inside a D1 batch (one transaction): the batch empties it at its
-- start and its end, and a failed batch rolls it back. `keep`: not stored yet and not erased
-- when staged; `erased`: an erasure tombstone covers the row; `bot`: the final bot flag.
CREATE TABLE `analytics_ingest_stage` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`user_id` text,
	`session_id` text NOT NULL,
	`page` text,
	`element` text,
	`source` text,
	`props` text,
	`at` integer NOT NULL,
	`received` integer NOT NULL,
	`bot` integer NOT NULL,
	`keep` integer NOT NULL,
	`erased` integer NOT NULL
) WITHOUT ROWID;

-- The daily ingest byte budgets moved to the IngestBudget Durable Object's own SQLite
-- (src/analytics/ingest-budget.ts): one D1 write per accepted POST on the writer the ingest
-- consumer needs was a quarter of the queued path's cost (BENCHMARKS.md). Today's counts are
-- not carried over: a deployment that applies this starts the current UTC day's budgets from
-- zero, which lets at most one more day's worth of bytes in, once (docs/analytics.md).
--
-- What ANALYTICS_DB holds only here (not in DB): analytics_erasures, analytics_dead_letters,
-- analytics_archived_sessions, analytics_archive_leases and analytics_ingest_stage, touched by
-- static SQL only (store.ts, consumer.ts, archive.ts, archive-upload.ts, events.service.ts).
DROP TABLE `analytics_ingest_budget`;

// The analytics rollups that ingest keeps up to date incrementally (src/analytics/store.ts),
// rebuilt from raw events with the same rules. Bulk loaders (`npm run seed`, the benchmarks)
// write analytics_events directly and run this afterwards, so reports read what ingest would
// have written. test/analytics/store.test.ts checks ingest against these same rules.
export const REBUILD_ROLLUPS = `
DELETE FROM analytics_sessions;
DELETE FROM analytics_daily;
DELETE FROM analytics_activity;
DELETE FROM analytics_user_days;
INSERT INTO analytics_sessions (session_id, first_at, last_at, events, page_views, interactions, bot)
  SELECT session_id, MIN(occurred_at), MAX(occurred_at), COUNT(*), SUM(event_type = 'page_view'),
         SUM(event_type IN ('button_click', 'feature_used')), MAX(bot)
  FROM analytics_events WHERE event_type <> 'payment_completed' GROUP BY session_id;
INSERT INTO analytics_daily (day, event_type, page, element, bot, events)
  SELECT occurred_at / 86400000, event_type, COALESCE(page, ''), COALESCE(element, ''), bot, COUNT(*)
  FROM analytics_events GROUP BY 1, 2, 3, 4, 5;
INSERT INTO analytics_activity (bucket, bot, events)
  SELECT occurred_at / 900000, bot, COUNT(*) FROM analytics_events GROUP BY 1, 2;
INSERT INTO analytics_user_days (user_id, day, bot)
  SELECT DISTINCT user_id, occurred_at / 86400000, bot FROM analytics_events WHERE user_id IS NOT NULL;`;

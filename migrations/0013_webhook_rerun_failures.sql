-- Issue 12 review, item 2: a parked (deferred) webhook whose re-run throws is retried with
-- backoff a bounded number of times (src/payments/webhooks/deferred.ts). `failures` counts
-- those throws only; `attempts` also counts every harmless re-park, so it cannot bound them.
ALTER TABLE `webhook_events` ADD `failures` integer DEFAULT 0 NOT NULL;

-- Issue 17, item 2 (dunning, docs/payments.md "Dunning"). `dunning_started_at` is when a
-- renewal first failed and the subscription went past_due (set once per episode, cleared when
-- it is active again); the grace period counts from it. `dunning_cancel_claimed_at` is the
-- cron's lease on cancelling a lapsed subscription at Stripe, so two runs cancel it once and a
-- run that crashed after Stripe answered is taken over by the next one.
ALTER TABLE `subscriptions` ADD `dunning_started_at` integer;
ALTER TABLE `subscriptions` ADD `dunning_cancel_claimed_at` integer;
CREATE INDEX `subscriptions_dunning_idx` ON `subscriptions` (`dunning_started_at`) WHERE `dunning_started_at` IS NOT NULL;

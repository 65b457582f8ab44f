-- One live subscription per user and kind (paid / free), enforced by the database: two
-- concurrent POST /subscriptions both passed the old read-then-insert check (issue 12).
-- The row is written as a claim (status 'incomplete', no Stripe id) before Stripe is called,
-- so the loser of a race fails this index before anything is created at Stripe.
CREATE UNIQUE INDEX `subscriptions_one_live` ON `subscriptions` (`user_id`, (`amount` > 0)) WHERE `status` IN ('active', 'trialing', 'past_due', 'incomplete', 'unpaid', 'paused');
--> statement-breakpoint
-- The reconciler's scan: claims that never got their Stripe id.
CREATE INDEX `subscriptions_claims_idx` ON `subscriptions` (`created_at`) WHERE `stripe_subscription_id` IS NULL AND `amount` > 0;

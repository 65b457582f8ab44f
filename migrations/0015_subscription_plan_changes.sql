-- Plan changes (POST /subscriptions/{id}/change, docs/payments.md "Plan changes"). The open
-- change lives on the subscription row: `change_id` is its claim, set by a conditional UPDATE
-- (… WHERE change_id IS NULL) before Stripe is called, so of two concurrent change requests
-- exactly one reaches Stripe. The pending_* columns are what the API shows until Stripe's
-- webhook says the new plan is in effect; `stripe_schedule_id` is the subscription schedule
-- that carries a change at period end.
ALTER TABLE `subscriptions` ADD COLUMN `change_id` text;
--> statement-breakpoint
ALTER TABLE `subscriptions` ADD COLUMN `pending_plan_id` text;
--> statement-breakpoint
ALTER TABLE `subscriptions` ADD COLUMN `pending_proration` text;
--> statement-breakpoint
ALTER TABLE `subscriptions` ADD COLUMN `pending_effective_at` integer;
--> statement-breakpoint
ALTER TABLE `subscriptions` ADD COLUMN `change_requested_at` integer;
--> statement-breakpoint
ALTER TABLE `subscriptions` ADD COLUMN `stripe_schedule_id` text;

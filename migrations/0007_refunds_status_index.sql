-- The payment reconciler (src/payments/reconcile.ts) looks for refunds still unsettled
-- (requires_action / pending) since before a cutoff, oldest first, every 5 minutes.
CREATE INDEX `refunds_status_updated_idx` ON `refunds` (`status`, `updated_at`);

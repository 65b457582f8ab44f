-- Issue 17, item 4: localised templates. Pushes are rendered per device at send time
-- (src/notifications/consumer.ts), so the notification keeps what its text is rendered from:
-- {key, vars, locale} as JSON, `locale` being the user's (the in-app title/body's language).
-- NULL for admin test sends and rows written before this migration: they send title/body as stored.
ALTER TABLE `notifications` ADD `template` text;

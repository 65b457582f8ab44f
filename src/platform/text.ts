import type { ZodString } from "zod";

/*
 * Unicode text for stored and forwarded strings (SECURITY.md, "Abuse limits").
 *
 * JSON can spell an unpaired UTF-16 surrogate ("\ud800"), and a string holding one is not Unicode
 * text: D1 and Durable Object SQLite store it as invalid UTF-8 and read it back as U+FFFD, so a
 * chat message delivered live as sent came back from the history changed (and a ticket's subject
 * answered 201 differed from the stored one), a key holding one never matches itself again (a
 * service's event id: its deliveries could not be claimed for retry); Stripe's form encoding
 * throws on it. So the input schemas refuse it wherever a string is stored or forwarded as-is
 * (strings kept inside JSON text stay escaped and are not affected). A paired surrogate (an
 * emoji) is one code point and is fine.
 */
const UNPAIRED = /\p{Cs}/u;
export const UNICODE_TEXT_MESSAGE = "must be Unicode text: no unpaired surrogate";
/** The same rule as a JSON Schema pattern (read with Unicode semantics) for the OpenAPI document. */
export const UNICODE_TEXT_PATTERN = "^[^\\uD800-\\uDFFF]*$";

export const isUnicodeText = (s: string): boolean => !UNPAIRED.test(s);

/** `schema`, refusing a string with an unpaired surrogate. Apply last, before optional/default. */
export const unicodeText = (schema: ZodString): ZodString =>
  schema.refine(isUnicodeText, UNICODE_TEXT_MESSAGE);

/**
 * At most `max` UTF-16 code units of `s`, never ending in half a pair: a cut between the two
 * halves of an emoji would make the very unpaired surrogate the schemas refuse.
 */
export function truncateText(s: string, max: number): string {
  if (max <= 0) return "";
  if (s.length <= max) return s;
  const cut = s.slice(0, max);
  const last = cut.charCodeAt(max - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

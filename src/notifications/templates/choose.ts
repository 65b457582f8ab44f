import { DEFAULT_LOCALE, type Locale, matchLocale } from "./index";

export type UserLocale = { locale: Locale; timeZone: string | null };
type DeviceLocale = { userId: string; locale: string | null; timeZone: string | null; updatedAt: number };

/**
 * The user's locale: there is no per-user language setting, so it is the shipped locale of
 * the device they registered (or re-registered) most recently among those that name one.
 * Users none of whose devices names a shipped locale are absent (they read `en`).
 */
export function userLocales(devices: DeviceLocale[]): Map<string, UserLocale> {
  const best = new Map<string, { at: number } & UserLocale>();
  for (const d of devices) {
    const locale = matchLocale(d.locale);
    if (!locale) continue;
    const seen = best.get(d.userId);
    if (!seen || d.updatedAt > seen.at) best.set(d.userId, { at: d.updatedAt, locale, timeZone: d.timeZone });
  }
  return new Map([...best].map(([u, { locale, timeZone }]) => [u, { locale, timeZone }]));
}

/** A push's language: its device's locale, then the user's, then `en`. */
export function deviceLocale(device: string | null | undefined, user: string | null | undefined): Locale {
  return matchLocale(device) ?? matchLocale(user) ?? DEFAULT_LOCALE;
}

/**
 * Polls `check` until it returns a value (anything but undefined, null or false), for effects
 * that land after the answer (queue consumers, mirrors, alarms). Bounded, so a broken pipeline
 * fails the test with `what` instead of hanging it.
 */
export async function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  what: string,
  { tries = 150, intervalMs = 100 }: { tries?: number; intervalMs?: number } = {},
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * `work`, or a rejection with `message` once `ms` have passed without an answer. For calls whose
 * failure we can answer (a 503, an UNAVAILABLE frame) but whose hang would hold everything queued
 * behind it: the rate-limit bindings, the chat room's D1 attachment check.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

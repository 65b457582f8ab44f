declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_ANALYTICS_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}

/** Vite's `?raw` import: the file's text (used to read wrangler.toml in tests). */
declare module "*?raw" {
  const text: string;
  export default text;
}

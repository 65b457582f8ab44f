import { defineConfig } from "drizzle-kit";

// drizzle-kit only generates SQL here; wrangler (and the tests) apply it.
// `migrations.prefix: "index"` keeps files flat as NNNN_name.sql, which wrangler needs.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema/index.ts",
  out: "./migrations",
  migrations: { prefix: "index" },
});

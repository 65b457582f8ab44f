// Copies the browser files of npm packages the pages use into public/vendor/ (gitignored), so
// they are served by the static assets binding from this origin: no CDN, offline under
// `npm start`, and `wrangler deploy` uploads them with the rest of public/. It is wrangler.toml's
// `[build] command`, which `wrangler dev`, `wrangler deploy` and unstable_startWorker (the e2e
// tests) all run first. Files already up to date are not rewritten, so `wrangler dev` does not
// see a change and reload for nothing.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const require = createRequire(import.meta.url);

/** Each package and the files of its dist that a page loads (source maps so devtools finds them). */
const VENDORED = [
  {
    // The API reference at /api/v1/docs (src/platform/docs.ts, public/api-docs/).
    name: "swagger-ui-dist",
    // A literal specifier, so knip sees the dependency is used.
    manifest: require.resolve("swagger-ui-dist/package.json"),
    files: [
      "swagger-ui-bundle.js",
      "swagger-ui-bundle.js.map",
      "swagger-ui.css",
      "swagger-ui.css.map",
      "LICENSE",
    ],
  },
];

for (const { name, manifest, files } of VENDORED) {
  const from = path.dirname(manifest);
  const to = path.join(ROOT, "public/vendor", name);
  mkdirSync(to, { recursive: true });
  for (const file of files) {
    const src = path.join(from, file);
    const dest = path.join(to, file);
    if (existsSync(dest) && readFileSync(dest).equals(readFileSync(src))) continue;
    copyFileSync(src, dest);
  }
}

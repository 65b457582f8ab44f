// Bundles the browser code the static pages need into public/ (gitignored outputs), so the
// Workers assets binding serves them like any other file. Part of wrangler.toml's `[build]`
// command, which `wrangler dev` (npm start), `wrangler deploy` and the browser tests'
// unstable_startWorker all run first.
// One row per bundle: add a page's entry here.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");

export const BUNDLES = [
  // The chat client library for /support/ and /live/ (which imports it from here), as one ES module.
  { entry: "packages/client/src/chat/index.ts", outfile: "public/support/chat-client.js" },
];

export async function buildPages() {
  await Promise.all(
    BUNDLES.map(({ entry, outfile }) =>
      build({
        entryPoints: [path.join(ROOT, entry)],
        outfile: path.join(ROOT, outfile),
        bundle: true,
        format: "esm",
        platform: "browser",
        target: "es2022",
        legalComments: "none",
        logLevel: "warning",
      }),
    ),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await buildPages();

import { Hono } from "hono";
import type { AppEnv } from "./app-env";
import { DOCS_CSP } from "./pages";

// The interactive API reference: Swagger UI from our own origin (public/vendor/, copied from the
// swagger-ui-dist package by scripts/vendor-assets.mjs) over /api/v1/openapi.json. No CDN, so it
// works offline under `npm start`; no inline script or style, so DOCS_CSP can forbid both.
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>API reference · Edge platform</title>
<link rel="stylesheet" href="/vendor/swagger-ui-dist/swagger-ui.css">
<link rel="stylesheet" href="/api-docs/docs.css">
</head>
<body>
<p class="docs-intro">Click <strong>Authorize</strong> and paste a bearer token (the one
<code>npm start</code> prints, or <code>npm run token -- --role admin</code>), then
<strong>Try it out</strong> on any operation. Machine-readable:
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>
<div id="swagger-ui"></div>
<script src="/vendor/swagger-ui-dist/swagger-ui-bundle.js" defer></script>
<script src="/api-docs/docs.js" defer></script>
</body>
</html>
`;

export const docsRouter = new Hono<AppEnv>().get("/docs", (c) => {
  c.header("Content-Security-Policy", DOCS_CSP);
  return c.html(page);
});

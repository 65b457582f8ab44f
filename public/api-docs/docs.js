// The API reference at /api/v1/docs: Swagger UI (swagger-ui-dist, copied into public/vendor/ by
// scripts/vendor-assets.mjs) over the platform's own OpenAPI document. A file, not an inline
// script, because the page's Content-Security-Policy runs none (src/platform/pages.ts).
// "Authorize" takes a bearer token (the one `npm start` prints); "Try it out" then sends real
// requests to this origin with it.
SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // No validity badge: it would send the document to validator.swagger.io. The page talks to
  // this origin only, offline too.
  validatorUrl: null,
  // The token lives in this page's memory only, never in localStorage: an admin token must not
  // outlive the tab (the dashboard keeps its own in sessionStorage for the same reason).
  persistAuthorization: false,
  displayRequestDuration: true,
  filter: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
});

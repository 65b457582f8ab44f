import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../platform/auth";
import { errorResponses, json, security } from "../platform/openapi";
import { rateLimit } from "../platform/rate-limit";
import { attachmentParams, attachmentSchema, binarySchema, idParam, uploadQuery } from "./schemas";
import { ATTACHMENT_TYPES } from "./sniff";

const tags = ["chat"];

/**
 * The upload path reads its own body with its own cap (attachments.service.ts), so app.ts skips
 * the API-wide 256 KB body limit for it and for nothing else.
 */
export const UPLOAD_PATH = /^\/api\/v1\/support\/tickets\/[^/]+\/attachments$/;

/** Per user: each upload reads up to 10 MB into the Worker and writes it to R2. */
const uploadRateLimit = rateLimit({ binding: (e) => e.ATTACHMENT_RATE_LIMITER, prefix: "attachment" });

const rawBody = Object.fromEntries(
  [...Object.keys(ATTACHMENT_TYPES), "application/octet-stream"].map((t) => [t, { schema: binarySchema }]),
);

export const uploadAttachmentRoute = createRoute({
  method: "post",
  path: "/support/tickets/{id}/attachments",
  operationId: "uploadTicketAttachment",
  tags,
  security,
  summary: "Upload a file into a ticket (owner or admin); send its id in a message frame's attachment_ids",
  description:
    "The raw bytes are the body (no multipart); the name is `?filename=`. The type is sniffed from the " +
    "bytes: png, jpeg, gif, webp, pdf or UTF-8 text, at most 10 MB. A declared Content-Type other than " +
    "application/octet-stream must agree with the bytes.",
  middleware: [requireAuth, uploadRateLimit] as const,
  request: {
    params: idParam,
    query: uploadQuery,
    body: { required: true, description: "The file's bytes", content: rawBody },
  },
  responses: {
    201: json(attachmentSchema, "Stored; ready to send"),
    // PAYLOAD_TOO_LARGE: over 10 MB (declared or counted). UNSUPPORTED_MEDIA_TYPE: not an allowed
    // type (SVG, HTML, executables...). UNPROCESSABLE: empty, declared type contradicts the bytes, or
    // a bad filename. CONFLICT: the ticket is closed or its budget is spent.
    ...errorResponses(
      "UNAUTHENTICATED",
      "NOT_FOUND",
      "CONFLICT",
      "PAYLOAD_TOO_LARGE",
      "UNSUPPORTED_MEDIA_TYPE",
      "UNPROCESSABLE",
      "RATE_LIMITED",
      "UPSTREAM_UNAVAILABLE",
    ),
  },
});

export const downloadAttachmentRoute = createRoute({
  method: "get",
  path: "/support/tickets/{id}/attachments/{attachment_id}",
  operationId: "downloadTicketAttachment",
  tags,
  security,
  summary: "Stream an attachment to a participant (owner or admin); everyone else gets 404",
  middleware: [requireAuth] as const,
  request: { params: attachmentParams },
  responses: {
    200: {
      description:
        "The bytes, with the sniffed Content-Type, Content-Disposition (inline for images), nosniff " +
        "and a sandboxing Content-Security-Policy",
      content: Object.fromEntries(Object.keys(ATTACHMENT_TYPES).map((t) => [t, { schema: binarySchema }])),
    },
    304: { description: "If-None-Match matched the ETag (the file's SHA-256)" },
    ...errorResponses("UNAUTHENTICATED", "NOT_FOUND"),
  },
});

import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import type { downloadAttachmentRoute, uploadAttachmentRoute } from "./attachments.routes";
import { attachmentBody, openAttachment, uploadAttachment } from "./attachments.service";
import { toAttachment } from "./schemas";
import { ATTACHMENT_TYPES, type AttachmentType, contentDisposition } from "./sniff";

export const uploadAttachmentHandler: RouteHandler<typeof uploadAttachmentRoute, AppEnv> = async (c) => {
  const row = await uploadAttachment(c.var.deps, principalOf(c), c.req.valid("param").id, {
    filename: c.req.valid("query").filename,
    contentType: c.req.header("content-type"),
    contentLength: c.req.header("content-length"),
    body: c.req.raw.body,
  });
  return c.json(toAttachment(row), 201);
};

/**
 * Served so that no browser runs it: the sniffed type only, nosniff, a CSP that sandboxes the
 * document and loads nothing, and `attachment` for everything but images. Private caching only
 * (a shared cache must never hand one participant's file to someone else).
 */
export const downloadAttachmentHandler: RouteHandler<typeof downloadAttachmentRoute, AppEnv> = async (c) => {
  const { id, attachment_id } = c.req.valid("param");
  const row = await openAttachment(c.var.deps, principalOf(c), id, attachment_id);
  const type = row.contentType as AttachmentType;
  const headers = {
    etag: `"${row.sha256}"`,
    "cache-control": "private, max-age=300",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
    "cross-origin-resource-policy": "same-origin",
  };
  if (c.req.header("if-none-match") === headers.etag) return c.body(null, 304, headers);
  const object = await attachmentBody(c.var.deps, row);
  return c.body(object.body, 200, {
    ...headers,
    "content-type": type === "text/plain" ? "text/plain; charset=utf-8" : type,
    "content-length": String(row.size),
    "content-disposition": contentDisposition(row.name, ATTACHMENT_TYPES[type].inline),
  });
};

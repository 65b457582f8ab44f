import { z } from "@hono/zod-openapi";
import { ERROR_CODES } from "./errors";

/** The one error envelope, as the OpenAPI document describes it (see errors.ts). */
export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z
        .union([z.array(z.record(z.string(), z.unknown())), z.record(z.string(), z.unknown())])
        .optional(),
      request_id: z.string(),
    }),
  })
  .openapi("ErrorEnvelope");

/** A documented error response: every capability's routes list theirs with this. */
export const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: errorEnvelopeSchema } },
});

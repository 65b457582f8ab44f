import { withDeadline } from "../platform/deadline";
import type { Deps } from "../platform/deps";
import { readyAttachments, toMessageAttachment } from "./attachments.service";
import { type Attachment, type ClientFrame, LIMITS } from "./protocol";

/** How long a message's attachment check may hold its socket's later frames (SocketOrder). */
export const ATTACHMENT_CHECK_TIMEOUT_MS = 3_000;

/** Why a message's `attachment_ids` were not accepted: the error frame to answer it with. */
export type FilesRefused = {
  code: "VALIDATION_FAILED" | "UNAVAILABLE";
  message: string;
  details?: Array<{ path: string; message: string }>;
};

/**
 * The uploaded files a message names, in its order, as message attachments; or why not. Any id
 * that is not a ready attachment of this ticket (another ticket's, a pending or deleted one, or
 * none at all) gets one answer for all, so ids leak nothing. UNAVAILABLE: D1 did not answer in
 * time, and the client resends.
 */
export async function messageFiles(
  deps: Pick<Deps, "db" | "logger">,
  ticketId: string,
  frame: Extract<ClientFrame, { type: "message" }>,
  ids: string[],
): Promise<{ files: Attachment[] } | FilesRefused> {
  if (ids.length + (frame.attachments?.length ?? 0) > LIMITS.maxAttachments)
    return { code: "VALIDATION_FAILED", message: `At most ${LIMITS.maxAttachments} attachments per message` };
  let rows: Awaited<ReturnType<typeof readyAttachments>>;
  try {
    // deps.db inside the try: building the client can throw too, and is answered the same way.
    rows = await withDeadline(
      readyAttachments(deps.db, ticketId, ids),
      ATTACHMENT_CHECK_TIMEOUT_MS,
      "attachment check did not answer",
    );
  } catch (err) {
    deps.logger.error("attachment check failed", { ticket_id: ticketId, err });
    return { code: "UNAVAILABLE", message: "Could not check the attachments; resend the message" };
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  const unknown = ids.flatMap((id, i) =>
    byId.has(id) ? [] : [{ path: `attachment_ids.${i}`, message: "not a ready attachment of this ticket" }],
  );
  if (unknown.length > 0)
    return { code: "VALIDATION_FAILED", message: "Unknown attachment", details: unknown };
  return { files: ids.map((id) => toMessageAttachment(byId.get(id) as (typeof rows)[number])) };
}

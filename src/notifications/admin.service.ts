import { newId } from "../platform/ids";
import { type NotifyDeps, type NotifyResult, notify } from "./notify";
import type { NotificationType } from "./types";

export type TestSend = {
  user_id: string;
  type: NotificationType;
  title: string;
  body: string;
  data?: Record<string, string> | undefined;
  silent: boolean;
};

/**
 * A test send is a real notification through the real pipeline; `test: "true"` in its data
 * lets clients tell it apart, and a fresh event id keeps it from colliding with any other.
 */
export function sendTestNotification(deps: NotifyDeps, input: TestSend): Promise<NotifyResult> {
  return notify(deps, {
    userIds: [input.user_id],
    type: input.type,
    title: input.title,
    body: input.body,
    data: { ...(input.data ?? {}), test: "true" },
    silent: input.silent,
    eventId: `test:${newId()}`,
  });
}

import type { Logger } from "../platform/logger";
import type { PendingDelivery } from "./deliveries.service";
import { deviceLocale } from "./templates/choose";
import { renderSafely } from "./templates/render";

/**
 * The push's title and body in its device's language (device locale, then the user's, then
 * en), rendered at send time so one event reaches a French and an English phone of the same
 * user each in its own. A template that cannot render in any locale falls back to the text
 * stored on the notification (the user-locale rendering), never to a blank push.
 */
export function localise(d: PendingDelivery, logger: Logger): PendingDelivery {
  if (!d.template) return d;
  const { key, vars, locale: userLocale } = d.template;
  try {
    const text = renderSafely(
      deviceLocale(d.deviceLocale, userLocale),
      key,
      vars,
      d.deviceTimeZone,
      (msg, f) => logger.warn(msg, { ...f, delivery_id: d.id }),
    );
    return { ...d, title: text.title, body: text.body };
  } catch (err) {
    logger.error("template failed in every locale; sending the stored text", {
      delivery_id: d.id,
      template: key,
      err,
    });
    return d;
  }
}

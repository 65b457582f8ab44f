/**
 * Errors in Stripe's shape: `{ error: { type, code, decline_code?, message, param?, doc_url, ... } }`.
 * Handlers throw StripeError; the pipeline turns it into a response with Stripe's status.
 */
export type StripeErrorType =
  | "api_error"
  | "card_error"
  | "idempotency_error"
  | "invalid_request_error"
  | "rate_limit_error"
  | "authentication_error";

export type StripeErrorInit = {
  status: number;
  type: StripeErrorType;
  message: string;
  code?: string;
  declineCode?: string;
  param?: string;
  /** Extra fields Stripe attaches, e.g. `payment_intent` on a decline. */
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
};

export class StripeError extends Error {
  constructor(readonly init: StripeErrorInit) {
    super(init.message);
  }

  body(requestId: string): Record<string, unknown> {
    const { type, code, declineCode, message, param, extra } = this.init;
    const error: Record<string, unknown> = { type, message };
    if (code !== undefined) error.code = code;
    if (declineCode !== undefined) error.decline_code = declineCode;
    if (param !== undefined) error.param = param;
    if (code !== undefined)
      error.doc_url = `https://stripe.com/docs/error-codes/${code.replaceAll("_", "-")}`;
    Object.assign(error, extra);
    error.request_log_url = `https://dashboard.stripe.com/test/logs/${requestId}`;
    return { error };
  }
}

export const missingParam = (param: string) =>
  new StripeError({
    status: 400,
    type: "invalid_request_error",
    code: "parameter_missing",
    param,
    message: `Missing required param: ${param}.`,
  });

export const invalidParam = (param: string, message: string, code = "parameter_invalid_empty") =>
  new StripeError({ status: 400, type: "invalid_request_error", code, param, message });

export const unknownParam = (param: string) =>
  new StripeError({
    status: 400,
    type: "invalid_request_error",
    code: "parameter_unknown",
    param,
    message: `Received unknown parameter: ${param}`,
  });

/** A missing object named in the URL is a 404; one named by a parameter is a 400, as on Stripe. */
export const noSuch = (kind: string, id: string, param = "id") =>
  new StripeError({
    status: param === "id" || param === "intent" ? 404 : 400,
    type: "invalid_request_error",
    code: "resource_missing",
    param,
    message: `No such ${kind}: '${id}'`,
  });

/** A PaymentMethod used as a customer's default without being attached to that customer. */
export const notAttached = (pmId: string, param: string) =>
  new StripeError({
    status: 400,
    type: "invalid_request_error",
    code: "resource_missing",
    param,
    message: `The customer does not have a payment method with the ID ${pmId}. The payment method must be attached to the customer.`,
  });

export const unexpectedState = (message: string, extra?: Record<string, unknown>) =>
  new StripeError({
    status: 400,
    type: "invalid_request_error",
    code: "payment_intent_unexpected_state",
    message,
    ...(extra ? { extra } : {}),
  });

/** A subscription invoice that `error_if_incomplete` refuses to leave unpaid. */
export const subscriptionCardDeclined = (declineCode: string) =>
  new StripeError({
    status: 402,
    type: "card_error",
    code: "card_declined",
    declineCode,
    message: "Your card was declined.",
  });

export const unrecognizedUrl = (method: string, path: string) =>
  new StripeError({
    status: 404,
    type: "invalid_request_error",
    message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  });

/** Answers an error as Stripe does, with the Request-Id header. */
export function errorResponse(err: StripeError, requestId: string): Response {
  return Response.json(err.body(requestId), {
    status: err.init.status,
    headers: { "Request-Id": requestId, ...err.init.headers },
  });
}

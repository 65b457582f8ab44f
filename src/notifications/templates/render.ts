import { toDecimalString } from "../../platform/money";
import { CATALOG, DEFAULT_LOCALE, type Locale, type Text } from "./index";
import { type Node, type Placeholder, parse } from "./syntax";

/** What placeholders read: the event's scalar data plus `occurred_at` (epoch ms). */
export type Vars = Record<string, string | number | boolean | null | undefined>;

/** A rendering that cannot be trusted: missing template, missing variable, bad syntax. */
export class RenderError extends Error {
  override name = "RenderError";
}

const parsed = new Map<string, Node[]>();
function compiled(source: string): Node[] {
  let nodes = parsed.get(source);
  if (!nodes) {
    nodes = parse(source);
    parsed.set(source, nodes);
  }
  return nodes;
}

const present = (v: Vars[string]): v is string | number | boolean =>
  v !== undefined && v !== null && String(v).trim() !== "";

export function formatMoney(amount: number, currency: string, locale: Locale): string {
  const decimal = toDecimalString(amount, currency);
  // Stripe's minor units decide the digits (ICU disagrees for a few currencies, e.g. HUF).
  const digits = decimal.split(".")[1]?.length ?? 0;
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency: currency.toUpperCase(),
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(Number(decimal));
  } catch {
    return `${decimal} ${currency.toUpperCase()}`;
  }
}

export function formatDate(at: number, locale: Locale, timeZone: string | null | undefined): string {
  const options: Intl.DateTimeFormatOptions = {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  };
  try {
    return new Intl.DateTimeFormat(locale, { ...options, timeZone: timeZone ?? "UTC" }).format(at);
  } catch {
    return new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" }).format(at);
  }
}

type Context = { locale: Locale; vars: Vars; timeZone: string | null | undefined };

function value(p: Placeholder, v: string | number | boolean, ctx: Context): string {
  if (p.format === "text") return String(v);
  if (typeof v !== "number") throw new RenderError(`{${p.name}:${p.format}} needs a number`);
  if (p.format === "date") return formatDate(v, ctx.locale, ctx.timeZone);
  const currency = ctx.vars.currency;
  if (typeof currency !== "string" || !present(currency))
    throw new RenderError(`{${p.name}:money} needs a currency`);
  return formatMoney(v, currency, ctx.locale);
}

function fill(nodes: Node[], ctx: Context): string {
  let out = "";
  for (const n of nodes) {
    if (typeof n === "string") {
      out += n;
      continue;
    }
    const v = ctx.vars[n.name];
    if (n.whenSet) out += present(v) ? fill(n.whenSet, ctx) : fill(n.otherwise ?? [], ctx);
    else if (present(v)) out += value(n, v, ctx);
    else if (n.otherwise) out += fill(n.otherwise, ctx);
    else throw new RenderError(`missing value for {${n.name}}`);
  }
  return out;
}

/** Throws RenderError rather than return a title or body with a hole in it. */
export function render(locale: Locale, key: string, vars: Vars, timeZone?: string | null): Text {
  const template = CATALOG[locale][key];
  if (!template) throw new RenderError(`no "${key}" template in ${locale}`);
  const ctx = { locale, vars, timeZone };
  return {
    title: fill(compiled(template.title), ctx).trim(),
    body: fill(compiled(template.body), ctx).trim(),
  };
}

type Warn = (msg: string, fields: Record<string, unknown>) => void;

/**
 * The runtime guard: a rendering that fails or comes out with an empty title or body is
 * replaced by the `en` one, and logged. Throws only when `en` fails too.
 */
export function renderSafely(
  locale: Locale,
  key: string,
  vars: Vars,
  timeZone: string | null | undefined,
  warn: Warn,
): Text & { locale: Locale } {
  if (locale !== DEFAULT_LOCALE) {
    try {
      const text = render(locale, key, vars, timeZone);
      if (text.title && text.body) return { ...text, locale };
      warn("template rendered empty; using en", { locale, template: key });
    } catch (err) {
      warn("template failed; using en", { locale, template: key, err });
    }
  }
  const text = render(DEFAULT_LOCALE, key, vars, timeZone);
  if (!text.title || !text.body) throw new RenderError(`"${key}" rendered empty in ${DEFAULT_LOCALE}`);
  return { ...text, locale: DEFAULT_LOCALE };
}

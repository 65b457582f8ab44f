import { describe, expect, it } from "vitest";
import { z } from "zod";
import { type DomainEvent, type DomainEventType, eventDataSchemas } from "../../src/events/types";
import { buildMessage, PAYLOAD_BYTES, payloadBytes } from "../../src/notifications/fcm/message";
import { plan, templateVars } from "../../src/notifications/on-event";
import { checkTemplate } from "../../src/notifications/templates/check";
import { deviceLocale, userLocales } from "../../src/notifications/templates/choose";
import {
  CATALOG,
  canonicalLocale,
  LOCALES,
  matchLocale,
  TEMPLATES,
  type TemplateKey,
} from "../../src/notifications/templates/index";
import { formatMoney, RenderError, render, renderSafely } from "../../src/notifications/templates/render";
import { NOTIFICATION_TYPES } from "../../src/notifications/types";
import { testDeps } from "../helpers/deps";
import { samples } from "../helpers/zod-samples";

const KEYS = Object.keys(TEMPLATES) as TemplateKey[];
// Any three letters are a currency to the schema; these are the extremes of minor units (0 and 3 decimals).
const OVERRIDES = { currency: { min: "jpy", max: "kwd" } };

function eventOf(type: DomainEventType, data: unknown): DomainEvent {
  return {
    id: `evt_${crypto.randomUUID()}`,
    type,
    data,
    occurred_at: Date.now(),
    source: "test",
  } as DomainEvent;
}

describe("template coverage: every notification type × every shipped locale", () => {
  it.each(LOCALES)("%s has a title and body for every template, and nothing else", (locale) => {
    const file = CATALOG[locale];
    for (const key of KEYS) {
      expect(file[key], `${locale} has no "${key}" template`).toMatchObject({
        title: expect.any(String),
        body: expect.any(String),
      });
    }
    expect(Object.keys(file).filter((k) => !(k in TEMPLATES))).toEqual([]);
  });

  it.each(LOCALES)("%s: every placeholder is guaranteed by its event's data schema", (locale) => {
    for (const key of KEYS) {
      const schema = eventDataSchemas[TEMPLATES[key].event];
      for (const part of ["title", "body"] as const) {
        const source = CATALOG[locale][key]?.[part] ?? "";
        expect(checkTemplate(source, schema), `${locale} ${key}.${part}: ${source}`).toEqual([]);
      }
    }
  });

  it("every notification type has a template: a new type without one fails here", () => {
    const covered = new Set(Object.values(TEMPLATES).map((t) => t.type));
    expect(NOTIFICATION_TYPES.filter((t) => !covered.has(t))).toEqual([]);
  });

  it("every mapping names a registered template of its own event, for every sample of every event", async () => {
    const deps = testDeps();
    for (const type of Object.keys(eventDataSchemas) as DomainEventType[]) {
      for (const data of samples(eventDataSchemas[type], OVERRIDES)) {
        for (const p of await plan(eventOf(type, data), deps)) {
          const t = TEMPLATES[p.template];
          expect(t, `${type} plans "${p.template}", which is not in TEMPLATES`).toBeDefined();
          expect(t.event).toBe(type);
        }
      }
    }
  });

  it("every template renders in every locale, for the extremes of its schema, within FCM's 4 KB", async () => {
    const deps = testDeps();
    let rendered = 0;
    for (const type of Object.keys(eventDataSchemas) as DomainEventType[]) {
      for (const data of samples(eventDataSchemas[type], OVERRIDES)) {
        const event = eventOf(type, data);
        for (const p of await plan(event, deps)) {
          for (const locale of LOCALES) {
            const text = render(locale, p.template, templateVars(event), "Europe/Berlin");
            expect(text.title, `${locale} ${p.template}`).not.toBe("");
            expect(text.body, `${locale} ${p.template}`).not.toBe("");
            expect(`${text.title}${text.body}`).not.toMatch(/[{}]/);
            const message = buildMessage({
              id: "d",
              deviceId: "dev",
              token: "tok",
              platform: "android",
              attempts: 0,
              notificationId: crypto.randomUUID(),
              type: TEMPLATES[p.template].type,
              ...text,
              data: p.data,
              silent: false,
            });
            // Not shortened by the builder's guard: the templates themselves fit.
            expect(message.notification).toEqual(text);
            expect(payloadBytes(message)).toBeLessThanOrEqual(PAYLOAD_BYTES);
            rendered++;
          }
        }
      }
    }
    expect(rendered).toBeGreaterThan(KEYS.length * LOCALES.length);
  });
});

describe("the placeholder validator (fixtures)", () => {
  const schema = z.object({
    amount: z.number().int(),
    currency: z.string().regex(/^[a-z]{3}$/),
    label: z.string(),
    name: z.string().optional(),
    reason: z.string().nullable(),
    ids: z.array(z.string()),
  });

  it("accepts guaranteed fields, fallbacks, branches and builtins", () => {
    for (const ok of [
      "{amount:money} for {currency}",
      "{name|Someone} paid",
      "Opened{reason? ({reason})}.",
      "{name?Hi {name}|Hello}",
      "{occurred_at:date}",
    ])
      expect(checkTemplate(ok, schema), ok).toEqual([]);
  });

  it("fails on an unknown placeholder, an unguaranteed one, a wrong format and bad syntax", () => {
    expect(checkTemplate("Hi {nmae|x}", schema)).toEqual(["unknown placeholder {nmae}"]);
    expect(checkTemplate("Hi {name}", schema)).toEqual([
      "{name} is not guaranteed by the schema: add a fallback {name|…} or a branch",
    ]);
    expect(checkTemplate("{reason}", schema)[0]).toMatch(/not guaranteed/);
    // The schema allows "", which would leave a hole: a fallback is needed.
    expect(checkTemplate("{label}", schema)[0]).toMatch(/\{label\} is not guaranteed/);
    // Blank counts as absent to the renderer, so a schema that lets "   " through guarantees nothing.
    expect(checkTemplate("{label}", z.object({ label: z.string().min(1) }))[0]).toMatch(/not guaranteed/);
    expect(
      checkTemplate("{amount:money}", z.object({ amount: z.number().int(), currency: z.string().length(3) })),
    ).toEqual(["{amount:money} needs a guaranteed currency"]);
    // A branch on one field does not guarantee another.
    expect(checkTemplate("{name?{reason}}", schema)[0]).toMatch(/\{reason\} is not guaranteed/);
    expect(checkTemplate("{name:money|-}", schema)).toEqual(["{name:money} needs a number"]);
    expect(checkTemplate("{ids}", schema)).toEqual(["{ids} is not a string or number"]);
    expect(checkTemplate("{amount:money}", z.object({ amount: z.number() }))).toEqual([
      "{amount:money} needs a guaranteed currency",
    ]);
    expect(checkTemplate("Hi {name", schema)[0]).toMatch(/^syntax: unclosed/);
    expect(checkTemplate("{amount:euros}", schema)[0]).toMatch(/^syntax: unknown format/);
  });

  it("a deliberately broken template file fails the same check the shipped files pass", () => {
    const broken = { title: "Paiement de {amount:money}", body: "{business_name} a payé" };
    const issues = ["title", "body"].flatMap((k) =>
      checkTemplate(broken[k as "title" | "body"], eventDataSchemas["payment.succeeded"]),
    );
    expect(issues).toEqual(["unknown placeholder {business_name}"]);
  });

  it("a value that looks like a placeholder is text: user data is never expanded again", () => {
    const vars = { campaign_id: "c1", name: "{to}{{from}}{name|x}", from: "{from}", to: "live" };
    expect(render("en", "campaign.status", vars)).toEqual({
      title: "Campaign {to}{{from}}{name|x} is now live",
      body: "Status changed from {from} to live.",
    });
  });

  it("a missing variable is an error at render time, never a blank", () => {
    expect(() => render("en", "campaign.status", { from: "draft", to: "live" })).toThrow(RenderError);
    expect(() => render("fr", "payment.payer", { amount: 100, occurred_at: 0 })).toThrow(/currency/);
  });
});

describe("locale choice", () => {
  it("matches by language, case-insensitively, and canonicalises tags", () => {
    expect(matchLocale("fr-CA")).toBe("fr");
    expect(matchLocale("FR")).toBe("fr");
    expect(matchLocale("de_AT")).toBe("de");
    expect(matchLocale("pt-BR")).toBeNull();
    expect(matchLocale("zh-Hant-TW")).toBeNull();
    expect(canonicalLocale("ZH-hant-tw")).toBe("zh-Hant-TW");
    expect(matchLocale(null)).toBeNull();
    expect(canonicalLocale("fr_ca")).toBe("fr-CA");
    expect(canonicalLocale("not a tag")).toBeNull();
  });

  it("device, then user, then en", () => {
    expect(deviceLocale("fr-CA", "de")).toBe("fr");
    expect(deviceLocale("pt", "de-CH")).toBe("de");
    expect(deviceLocale("pt", null)).toBe("en");
    expect(deviceLocale(null, "xx")).toBe("en");
  });

  it("the user's locale is that of their most recently registered device naming a shipped one", () => {
    const d = (userId: string, locale: string | null, updatedAt: number) => ({
      userId,
      locale,
      timeZone: "Europe/Paris",
      updatedAt,
    });
    const m = userLocales([
      d("u", "de", 1),
      d("u", "fr-CA", 2),
      d("u", "pt", 3),
      d("v", "pt", 1),
      d("w", null, 1),
    ]);
    expect(m.get("u")).toEqual({ locale: "fr", timeZone: "Europe/Paris" });
    expect(m.has("v")).toBe(false);
    expect(m.has("w")).toBe(false);
  });
});

describe("formatting and the runtime guard", () => {
  it("money and dates follow the locale", () => {
    expect(formatMoney(1999, "eur", "en")).toBe("€19.99");
    expect(formatMoney(1999, "eur", "fr")).toMatch(/^19,99\s€$/u);
    expect(formatMoney(123456, "eur", "de")).toMatch(/^1\.234,56\s€$/u);
    expect(formatMoney(500, "jpy", "en")).toBe("¥500");
    const at = Date.UTC(2026, 11, 2, 14, 5);
    const vars = {
      dispute_id: "dp",
      payment_id: null,
      amount: 1999,
      currency: "eur",
      reason: null,
      occurred_at: at,
    };
    expect(render("en", "dispute.admin", vars, "UTC").body).toBe(
      "A dispute of €19.99 was opened on Dec 2, 2026, 02:05 PM UTC.",
    );
    expect(render("fr", "dispute.admin", vars, "Europe/Paris").body).toMatch(
      /^Un litige de 19,99\s€ a été ouvert le 2 déc\. 2026, 15:05 UTC\+1\.$/u,
    );
    expect(render("de", "dispute.admin", { ...vars, reason: "fraudulent" }, "Europe/Berlin").body).toMatch(
      /^Am 2\. Dez\. 2026, 15:05 MEZ wurde eine Anfechtung über 19,99\s€ eröffnet \(fraudulent\)\.$/u,
    );
  });

  it("the builder shortens text that would push the message over FCM's 4096 bytes", () => {
    const m = buildMessage({
      id: "d",
      deviceId: "dev",
      token: "tok",
      platform: "ios",
      attempts: 0,
      notificationId: crypto.randomUUID(),
      type: "support_ticket_response",
      title: "Réponse",
      body: "é".repeat(3000),
      data: { ticket_id: "t".repeat(100) },
      silent: false,
    });
    expect(payloadBytes(m)).toBeLessThanOrEqual(PAYLOAD_BYTES);
    expect(m.notification?.title).toBe("Réponse");
    expect(m.notification?.body).toMatch(/^é+…$/u);
  });

  it("a locale whose rendering comes out empty falls back to en, and says so", () => {
    const fr = CATALOG.fr;
    const warnings: string[] = [];
    try {
      (CATALOG as Record<string, unknown>).fr = { ...fr, "ticket.reply": { title: "{preview|}", body: "x" } };
      const text = renderSafely("fr", "ticket.reply", { preview: "" }, null, (msg) => warnings.push(msg));
      expect(text).toEqual({
        locale: "en",
        title: "New reply to your support ticket",
        body: "You have a new reply.",
      });
      (CATALOG as Record<string, unknown>).fr = { ...fr, "ticket.reply": undefined };
      expect(
        renderSafely("fr", "ticket.reply", { preview: "Merci" }, null, (msg) => warnings.push(msg)).locale,
      ).toBe("en");
    } finally {
      (CATALOG as Record<string, unknown>).fr = fr;
    }
    expect(warnings).toEqual(["template rendered empty; using en", "template failed; using en"]);
  });
});

/**
 * The placeholder language of the template files (docs/notifications.md, "Localisation").
 * Deliberately tiny, so a test can prove every placeholder against the event's zod schema:
 *
 *   {name}            the value; `name` must be guaranteed by the schema (required, not null)
 *   {name:money}      an integer amount in minor units, formatted with the data's `currency`
 *   {name:date}       an epoch-ms instant, formatted in the device's time zone
 *   {name|else}       the value, or `else` when it is missing, null or blank
 *   {name?then|else}  `then` when present (inside it `name` is guaranteed), else `else` (may be omitted)
 *
 * `then` and `else` are templates themselves. Braces are never literal text.
 */
export type Format = "text" | "money" | "date";
export type Placeholder = {
  name: string;
  format: Format;
  /** `{name?then|else}`: a branch; otherwise the value itself. */
  whenSet?: Node[];
  otherwise?: Node[];
};
export type Node = string | Placeholder;

export class TemplateSyntaxError extends Error {
  override name = "TemplateSyntaxError";
}

const IDENT = /^[a-z_][a-z0-9_]*/;
const FORMATS: ReadonlySet<string> = new Set(["text", "money", "date"]);

export function parse(source: string): Node[] {
  const [nodes, end] = sequence(source, 0, false);
  if (end !== source.length) throw new TemplateSyntaxError(`unexpected "${source[end]}" at ${end}`);
  return nodes;
}

/** Text and placeholders up to the end, or (nested) up to an unmatched `|` or `}`. */
function sequence(s: string, start: number, nested: boolean): [Node[], number] {
  const out: Node[] = [];
  let i = start;
  let text = "";
  while (i < s.length) {
    const c = s[i];
    if (c === "}" || (nested && c === "|")) break;
    if (c === "{") {
      if (text) out.push(text);
      text = "";
      const [p, next] = placeholder(s, i + 1);
      out.push(p);
      i = next;
      continue;
    }
    text += c;
    i++;
  }
  if (text) out.push(text);
  return [out, i];
}

function placeholder(s: string, start: number): [Placeholder, number] {
  const name = IDENT.exec(s.slice(start))?.[0];
  if (!name) throw new TemplateSyntaxError(`placeholder name expected at ${start}`);
  let i = start + name.length;
  let format: Format = "text";
  if (s[i] === ":") {
    const f = IDENT.exec(s.slice(i + 1))?.[0] ?? "";
    if (!FORMATS.has(f)) throw new TemplateSyntaxError(`unknown format "${f}" for {${name}}`);
    format = f as Format;
    i += 1 + f.length;
  }
  const p: Placeholder = { name, format };
  if (s[i] === "?") {
    const [then, next] = sequence(s, i + 1, true);
    p.whenSet = then;
    i = next;
  }
  if (s[i] === "|") {
    const [otherwise, next] = sequence(s, i + 1, true);
    p.otherwise = otherwise;
    i = next;
  }
  if (s[i] !== "}") throw new TemplateSyntaxError(`unclosed {${name} at ${start - 1}`);
  return [p, i + 1];
}

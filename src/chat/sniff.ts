import { ApiError } from "../platform/errors";

/**
 * What an uploaded file is, decided from its bytes (docs/chat-protocol.md, "Attachments").
 * Six fixed signatures, so no library: file-type, the maintained sniffer, recognises none of the
 * text formats this must refuse (HTML, SVG, XML are all "text" to it) and would still need the
 * plain-text check below. Anything not positively one of these is refused: SVG and HTML because
 * they run script when opened from our origin (stored XSS), executables and archives because
 * support chat has no use for them.
 */
export const ATTACHMENT_TYPES = {
  "image/png": { exts: ["png"], inline: true },
  "image/jpeg": { exts: ["jpg", "jpeg"], inline: true },
  "image/gif": { exts: ["gif"], inline: true },
  "image/webp": { exts: ["webp"], inline: true },
  "application/pdf": { exts: ["pdf"], inline: false },
  "text/plain": { exts: ["txt", "log"], inline: false },
} as const;
export type AttachmentType = keyof typeof ATTACHMENT_TYPES;

const startsWith = (b: Uint8Array, sig: number[], at = 0) => sig.every((x, i) => b[at + i] === x);
const ascii = (s: string) => Array.from(s, (ch) => ch.charCodeAt(0));

/** The type the bytes are, or null when they are none of ATTACHMENT_TYPES. */
export function sniff(bytes: Uint8Array): AttachmentType | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) return "image/gif";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "image/webp";
  if (startsWith(bytes, ascii("%PDF-"))) return "application/pdf";
  return isPlainText(bytes) ? "text/plain" : null;
}

/**
 * UTF-8 with no NUL or other C0 control but tab/CR/LF/FF, and not markup: a file whose first
 * non-blank character is `<` is HTML, SVG or XML to some browser or viewer, so it is refused even
 * though it would be served as text/plain with nosniff.
 */
function isPlainText(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return false;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  if (/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text)) return false;
  return !text.trimStart().startsWith("<");
}

/** The media type a client declared, without parameters; null for none or octet-stream. */
export function declaredType(header: string | undefined): string | null {
  const t = header?.split(";")[0]?.trim().toLowerCase() ?? "";
  return t === "" || t === "application/octet-stream" ? null : t;
}

export function isAllowedType(t: string): t is AttachmentType {
  return Object.hasOwn(ATTACHMENT_TYPES, t);
}

// Control characters (C0 and C1), path separators, the characters Windows refuses in a name, and
// the invisible ones that change how a name reads: bidi overrides and isolates ("invoice\u202Etxt.png"
// shows as "invoicegnp.txt"), zero-width characters, the BOM and the line/paragraph separators.
const BAD_NAME_CHARS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  /[\u0000-\u001f\u007f-\u009f/\\:*?"<>|\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

/**
 * A filename that can be shown and saved safely: 1–255 characters (NFC), no path or control
 * characters, and an extension of the sniffed type (a PNG saved as `x.html` would open as HTML).
 */
export function checkFilename(raw: string, type: AttachmentType): string {
  const name = raw.normalize("NFC").trim();
  const bad = (message: string) =>
    new ApiError("UNPROCESSABLE", `filename ${message}`, { details: [{ path: "filename", message }] });
  if (name.length === 0 || name.length > 255) throw bad("must be 1-255 characters");
  if (BAD_NAME_CHARS.test(name) || name.startsWith(".")) throw bad("has a character that is not allowed");
  const ext = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
  const exts: readonly string[] = ATTACHMENT_TYPES[type].exts;
  if (!exts.includes(ext)) throw bad(`must end in .${exts.join(" or .")} for ${type} content`);
  return name;
}

/**
 * Content-Disposition with the name encoded per RFC 6266 / RFC 5987: an ASCII fallback in
 * `filename` (anything else becomes `_`) and the exact name in `filename*`.
 */
export function contentDisposition(name: string, inline: boolean): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${inline ? "inline" : "attachment"}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

// Live feed page: a merchant's (/ws/merchant/{id}) or an admin's (/ws/admin/{id}) channel,
// shown as events arrive. A thin view over the chat client library's LiveFeed
// (packages/client/src/chat/live-feed.ts), bundled with the support page's by
// scripts/build-pages.mjs. No inline script; every event field is set with textContent,
// never as HTML (event data carries user input such as ticket subjects).
import { LiveFeed } from "../support/chat-client.js";

const $ = (id) => document.getElementById(id);
/** How many events the page keeps on screen (the channel itself keeps 500). */
const MAX_SHOWN = 500;

const STATUS_TEXT = {
  idle: "idle",
  connecting: "connecting…",
  open: "live",
  waiting: "reconnecting…",
  suspended: "offline",
  closed: "disconnected",
};

const TITLES = {
  "payment.succeeded": "Payment received",
  "payment.failed": "Payment failed",
  "payment.refunded": "Refund",
  "dispute.created": "Dispute opened",
  "dispute.updated": "Dispute updated",
  "dispute.closed": "Dispute closed",
  "security.alert": "Security alert",
  "ticket.created": "New ticket",
  "ticket.replied": "Ticket reply",
  "ticket.status_changed": "Ticket status changed",
};

let feed = null;
/** Event ids on screen: the channel's key for an event (docs/chat-protocol.md, "Live channels"). */
const seen = new Set();

const token = () => $("token").value.trim();
$("token").value = sessionStorage.getItem("live-token") ?? "";
$("token").addEventListener("input", () => sessionStorage.setItem("live-token", token()));

function notice(text, isError = false) {
  $("notice").textContent = text;
  $("notice").classList.toggle("error", isError);
}

/** The channel a token opens: its own merchant's, or the admin's own. Read from the JWT's claims. */
function channelOf(jwt) {
  let claims;
  try {
    const part = jwt.split(".")[1] ?? "";
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  } catch {
    throw new Error("That does not look like a JWT.");
  }
  if (claims?.role === "merchant" && typeof claims.merchant_id === "string" && claims.merchant_id)
    return `merchant:${claims.merchant_id}`;
  if (claims?.role === "admin" && typeof claims.sub === "string" && claims.sub) return `admin:${claims.sub}`;
  throw new Error("The live feed is for merchants (a token with a merchant_id) and admins.");
}

function money(amount, currency) {
  if (typeof amount !== "number" || typeof currency !== "string") return null;
  try {
    const f = new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() });
    return f.format(amount / 10 ** (f.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${amount} ${currency}`;
  }
}

/** A one-line summary of the event's data: text only, whatever the data holds. */
function summary(data) {
  if (!data || typeof data !== "object") return data === undefined ? "" : String(data);
  const parts = [];
  const amount = money(data.amount, data.currency);
  if (amount) parts.push(amount);
  for (const key of ["subject", "status", "reason", "payment_id", "dispute_id", "ticket_id", "user_id"]) {
    const v = data[key];
    if (typeof v === "string" || typeof v === "number") parts.push(`${key.replace(/_/g, " ")}: ${v}`);
  }
  return parts.length ? parts.join(" · ") : JSON.stringify(data);
}

function show(ev) {
  if (seen.has(ev.id)) return;
  seen.add(ev.id);
  const li = document.createElement("li");
  li.dataset.seq = String(ev.seq);
  li.dataset.id = ev.id;
  li.dataset.type = ev.event_type;
  li.dataset.kind = String(ev.event_type).split(".")[0];
  const title = document.createElement("span");
  title.className = "title";
  title.textContent = TITLES[ev.event_type] ?? ev.event_type;
  const meta = document.createElement("span");
  meta.className = "meta";
  const when = new Date(ev.occurred_at);
  meta.textContent = `#${ev.seq} · ${Number.isNaN(when.getTime()) ? ev.occurred_at : when.toLocaleTimeString()}`;
  const detail = document.createElement("span");
  detail.className = "detail";
  detail.textContent = summary(ev.data);
  detail.title = JSON.stringify(ev.data ?? null);
  li.append(title, meta, detail);
  $("events").prepend(li);
  while ($("events").children.length > MAX_SHOWN) $("events").lastElementChild.remove();
  $("empty").hidden = true;
}

function setStatus(status) {
  $("conn").dataset.status = status;
  $("conn").textContent = STATUS_TEXT[status] ?? status;
}

function start() {
  feed?.close();
  notice("");
  let channel;
  try {
    channel = channelOf(token());
  } catch (err) {
    notice(err.message, true);
    return;
  }
  feed = new LiveFeed({ channel, baseUrl: location.origin, auth: { mode: "ticket", token } });
  feed.on("status", ({ status }) => setStatus(status));
  feed.on("event", show);
  feed.on("truncated", ({ since, oldest_seq }) => {
    notice(
      `You were away longer than the channel remembers: events after #${since} and before #${oldest_seq} ` +
        "could not be replayed. Reload the payments, disputes and tickets lists from the API to see them.",
      true,
    );
  });
  feed.on("closed", (c) => notice(`Disconnected: ${c.reason || c.code}`, true));
  $("channel").textContent = channel;
  $("connect").hidden = true;
  $("disconnect").hidden = false;
  feed.connect();
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  start();
});
$("disconnect").addEventListener("click", () => {
  feed?.close();
  feed = null;
  setStatus("closed");
  $("connect").hidden = false;
  $("disconnect").hidden = true;
});

// The browser knows the network is gone before a socket does: drop it now and come back at
// once when the network does; the reconnect resumes after the last seq seen (?since=).
window.addEventListener("offline", () => feed?.suspend());
window.addEventListener("online", () => feed?.resume());

if (token()) start();

// Support chat page: a thin view over the chat client library (packages/client/src/chat),
// bundled to ./chat-client.js by scripts/build-pages.mjs. No inline script, DOM built with
// textContent only (message bodies are user input).
import { SupportChat } from "./chat-client.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
/** REST history page size; `?limit=` makes paging visible with a short conversation. */
const PAGE = Math.min(100, Math.max(1, Number(params.get("limit")) || 30));
const TICKS = { sent: "✓", acked: "✓✓", read: "✓✓" };
const ROLE_NAMES = { admin: "Agent", user: "Customer", merchant: "Merchant" };

let chat = null;
let typingTimer = null;
const typingNames = new Map();

const token = () => $("token").value.trim();
$("token").value = sessionStorage.getItem("support-token") ?? "";
$("token").addEventListener("input", () => sessionStorage.setItem("support-token", token()));

function notice(text, isError = false) {
  $("notice").textContent = text;
  $("notice").classList.toggle("error", isError);
}

async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${res.status}: ${body?.error?.message ?? "request failed"}`);
  return body;
}

function nameOf(userId) {
  if (chat?.self?.user_id === userId) return "You";
  const p = chat?.participants.find((x) => x.user_id === userId);
  return ROLE_NAMES[p?.role] ?? "Someone";
}

/** Object URLs of previews already fetched, by attachment id (the bytes never change). */
const previews = new Map();

/**
 * An attachment in the thread: uploaded images as a preview fetched with the token (an <img>
 * cannot send one) and shown as an object URL; anything else as its name and size.
 */
function attachmentView(a) {
  const box = document.createElement("span");
  box.className = "attachment";
  if (a.id && a.content_type.startsWith("image/")) {
    const img = document.createElement("img");
    img.alt = a.name;
    img.className = "preview";
    img.dataset.attachmentId = a.id;
    const known = previews.get(a.id);
    if (known) img.src = known;
    else {
      previews.set(a.id, null);
      chat
        .download(a)
        .then((blob) => {
          previews.set(a.id, URL.createObjectURL(blob));
          render();
        })
        .catch((err) => {
          previews.delete(a.id);
          notice(err.message, true);
        });
    }
    box.append(img);
  }
  const label = document.createElement("span");
  label.textContent = `📎 ${a.name} (${Math.ceil(a.size / 1024)} KB)`;
  box.append(label);
  return box;
}

function item({ key, mine, role, body, time, tick, seq, attachments = [] }) {
  const li = document.createElement("li");
  li.dataset.key = key;
  li.dataset.mine = String(mine);
  if (seq !== undefined) li.dataset.seq = String(seq);
  const text = document.createElement("span");
  text.className = "body";
  text.textContent = body;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `${mine ? "You" : (ROLE_NAMES[role] ?? role)} · ${new Date(time).toLocaleTimeString()} `;
  if (mine) {
    li.dataset.tick = tick;
    const t = document.createElement("span");
    t.className = "tick";
    t.dataset.tick = tick;
    t.title = tick;
    t.textContent = TICKS[tick];
    meta.append(t);
  }
  li.append(text, ...attachments.map(attachmentView), meta);
  return li;
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    draw();
  });
}

function draw() {
  const scroller = $("scroller");
  const fromBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
  const me = chat.self?.user_id;
  const rows = chat.messages.map((m) =>
    item({
      key: m.id,
      seq: m.seq,
      mine: m.sender_id === me,
      role: m.sender_role,
      body: m.body,
      time: m.created_at,
      tick: chat.tickOf(m),
      attachments: m.attachments,
    }),
  );
  // Not yet stored: shown after the conversation with one tick until the ack places them.
  for (const p of chat.outbox) {
    rows.push(
      item({
        key: p.client_id,
        mine: true,
        role: "",
        body: p.body,
        time: p.created_at,
        tick: "sent",
        attachments: p.attachments,
      }),
    );
  }
  $("messages").replaceChildren(...rows);
  $("older").hidden = !chat.hasOlder;
  // Stay pinned to the bottom when already there; otherwise keep the reader's place (older pages).
  scroller.scrollTop =
    fromBottom < 40 ? scroller.scrollHeight : scroller.scrollHeight - scroller.clientHeight - fromBottom;
  const online = chat.participants.map((p) => nameOf(p.user_id));
  $("presence").textContent = online.length ? `Online: ${online.join(", ")}` : "";
  if (document.visibilityState === "visible" && chat.messages.some((m) => m.sender_id !== me))
    chat.markRead();
}

function showTyping(userId) {
  typingNames.set(userId, Date.now());
  const names = [...typingNames.keys()].map(nameOf);
  $("typing").textContent = `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…`;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => {
    typingNames.clear();
    $("typing").textContent = "";
  }, 3000);
}

async function start(ticket) {
  chat?.close();
  chat = new SupportChat({
    ticketId: ticket.id,
    baseUrl: location.origin,
    auth: { mode: "ticket", token },
  });
  for (const ev of ["message", "tick", "presence", "welcome", "ack", "read"]) chat.on(ev, render);
  chat.on("typing", (t) => showTyping(t.user_id));
  chat.on("status", ({ status }) => {
    $("conn").dataset.status = status;
    $("conn").textContent = status;
  });
  chat.on("error", (e) => notice(`${e.code}: ${e.message}`, true));
  chat.on("closed", (c) =>
    notice(c.code === 4000 ? "This ticket was closed." : `Disconnected: ${c.reason}`, true),
  );
  $("chat-title").textContent = `${ticket.subject} (${ticket.id})`;
  $("chat").hidden = false;
  $("pick").hidden = true;
  location.hash = ticket.id;
  // The newest page first: the socket then resumes right after it (?since=), so nothing is
  // missing between the history and live traffic, and nothing is shown twice.
  await chat.loadOlder(PAGE);
  render();
  chat.connect();
}

async function guarded(task) {
  try {
    notice("");
    await task();
  } catch (err) {
    notice(err.message, true);
  }
}

$("open-form").addEventListener("submit", (e) => {
  e.preventDefault();
  void guarded(async () => {
    const ticket = await api("/api/v1/support/tickets", {
      method: "POST",
      body: JSON.stringify({ subject: $("subject").value.trim() }),
    });
    await start(ticket);
  });
});

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  void guarded(async () =>
    start(await api(`/api/v1/support/tickets/${encodeURIComponent($("ticket-id").value.trim())}`)),
  );
});

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const body = $("body").value;
  if (!chat || body.trim() === "") return;
  chat.send(body);
  $("body").value = "";
  render();
});
// A chosen file is uploaded at once and sent as its own message (with whatever is typed).
$("file").addEventListener("change", () => {
  const file = $("file").files?.[0];
  if (!chat || !file) return;
  void guarded(async () => {
    const attachment = await chat.upload(file, file.name);
    chat.send($("body").value, [attachment]);
    $("body").value = "";
    $("file").value = "";
    render();
  });
});
$("body").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});
$("body").addEventListener("input", () => chat?.typing());
$("older").addEventListener("click", () =>
  guarded(async () => {
    await chat.loadOlder(PAGE);
    render();
  }),
);

// The browser knows the network is gone before a socket does: drop it now and come back at
// once when the network does (the library would otherwise find out by heartbeat and backoff).
window.addEventListener("offline", () => chat?.suspend());
window.addEventListener("online", () => chat?.resume());
document.addEventListener("visibilitychange", () => chat && render());

const linked = location.hash.slice(1);
if (linked && token()) {
  $("ticket-id").value = linked;
  void guarded(async () => start(await api(`/api/v1/support/tickets/${encodeURIComponent(linked)}`)));
}

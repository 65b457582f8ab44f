// Analytics dashboard: plain modules and hand-written SVG, no CDN and no build step.
// Every number drawn is also present as text (labels, cells or <title> tooltips).
import { bySourcePath, onModelChange, renderBySource, selectedModel } from "./attribution.js";

const API = "/api/v1/analytics";
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]; // rows; API weekday 0 = Sunday

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function fractionDigits(currency) {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** Minor units to "1,234.50 USD" (exact enough for display; the API keeps integers). */
export function money(minor, currency) {
  const digits = fractionDigits(currency);
  const value = (minor / 10 ** digits).toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return `${value} ${currency.toUpperCase()}`;
}

const pct = (v) => (v === null || v === undefined ? "–" : `${v}%`);
function duration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

async function getJson(path, token) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok)
    throw new Error(body?.error?.message ? `${res.status}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

function renderKpis(behavior, revenue, currency) {
  const set = (id, text) => {
    document.querySelector(`[data-testid="${id}"]`).textContent = text;
  };
  set("kpi-sessions", behavior.sessions.count.toLocaleString("en-US"));
  set("kpi-bounce", pct(behavior.sessions.bounce_rate));
  set("kpi-duration", duration(behavior.sessions.avg_duration_ms));
  const mrr = revenue.mrr.find((m) => m.currency === currency) ?? revenue.mrr[0];
  set("kpi-mrr", mrr ? money(mrr.mrr, mrr.currency) : "–");
  set("kpi-arr", mrr ? money(mrr.arr, mrr.currency) : "–");
  const net = revenue.periods.filter((p) => p.currency === currency).reduce((s, p) => s + p.net, 0);
  set("kpi-net", currency ? money(net, currency) : "–");
  renderBotShare(behavior.bot_traffic);
}

/** The share of client events classified as bots, which every other figure leaves out. */
function renderBotShare(bots) {
  const node = document.querySelector('[data-testid="kpi-bots"]');
  node.textContent = pct(bots.bot_share);
  node.title = `${bots.bot_events} of ${bots.events} events, ${bots.bot_sessions} of ${bots.sessions} sessions`;
  node.dataset.botEvents = String(bots.bot_events);
  node.dataset.events = String(bots.events);
}

function renderFunnel(funnel) {
  const box = $("funnel");
  box.replaceChildren();
  const steps = funnel.steps;
  const first = steps[0]?.entered ?? 0;
  if (first === 0) {
    box.append(el("p", { class: "empty" }, "Nobody entered the first step in this range."));
    return;
  }
  // Drawn at the box's real width so labels keep their size on a phone.
  const W = Math.max(300, box.clientWidth);
  const barMax = Math.round(W * 0.62);
  const rowH = 70;
  const svg = el("svg:svg", {
    viewBox: `0 0 ${W} ${steps.length * rowH + 10}`,
    role: "img",
    "aria-label": "Funnel",
  });
  steps.forEach((s, i) => {
    const y = i * rowH + 4;
    const w = Math.max(2, (s.entered / first) * barMax);
    const g = el("svg:g", { "data-testid": `funnel-step-${i + 1}`, "data-entered": s.entered });
    const name = s.page ? `${s.event_type} ${s.page}` : s.event_type;
    g.append(el("svg:text", { x: 0, y: y + 14, "font-size": 13, fill: "#1a1a1a" }, `${i + 1}. ${name}`));
    g.append(el("svg:rect", { x: 0, y: y + 20, width: barMax, height: 22, rx: 4, fill: "#eef2f7" }));
    const bar = el("svg:rect", { x: 0, y: y + 20, width: w, height: 22, rx: 4, fill: "#2563eb" });
    bar.append(el("svg:title", {}, `${s.entered} entered, ${pct(s.conversion_from_first)} of step 1`));
    g.append(bar);
    g.append(
      el(
        "svg:text",
        { x: barMax + 8, y: y + 36, "font-size": 13, class: "funnel-value" },
        `${s.entered} · ${pct(s.conversion_from_first)}`,
      ),
    );
    if (i > 0) {
      const drop = `drop-off −${s.drop_off} (${pct(s.drop_off_rate)})`;
      const med =
        s.median_time_to_convert_ms === null ? "" : ` · median ${duration(s.median_time_to_convert_ms)}`;
      g.append(
        el(
          "svg:text",
          { x: 0, y: y + 60, "font-size": 12, fill: "#dc2626", class: "funnel-drop" },
          `${drop}${med}`,
        ),
      );
    }
    svg.append(g);
  });
  box.append(svg);
}

function renderRevenue(revenue, currency) {
  const box = $("revenue");
  box.replaceChildren();
  const net = revenue.periods.filter((p) => p.currency === currency).map((p) => ({ x: p.period, y: p.net }));
  const mrr = revenue.mrr_series
    .filter((p) => p.currency === currency)
    .map((p) => ({ x: p.period, y: p.mrr }));
  if (!currency || (net.length === 0 && mrr.length === 0)) {
    box.append(el("p", { class: "empty" }, "No revenue in this range."));
    return;
  }
  const periods = [...new Set([...net, ...mrr].map((p) => p.x))].sort();
  const max = Math.max(1, ...net.map((p) => p.y), ...mrr.map((p) => p.y));
  const [W, H, L, B] = [Math.max(300, box.clientWidth), 220, 8, 24];
  const xOf = (period) =>
    L +
    (periods.length === 1 ? (W - 2 * L) / 2 : (periods.indexOf(period) / (periods.length - 1)) * (W - 2 * L));
  const yOf = (v) => H - B - (Math.max(0, v) / max) * (H - B - 16);
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Revenue and MRR" });
  svg.append(el("svg:line", { x1: L, x2: W - L, y1: H - B, y2: H - B, stroke: "#e4e7ec" }));
  svg.append(
    el("svg:text", { x: L, y: 12, "font-size": 11, fill: "#667085" }, `max ${money(max, currency)}`),
  );
  for (const [series, color, key] of [
    [net, "#059669", "net"],
    [mrr, "#2563eb", "mrr"],
  ]) {
    if (series.length === 0) continue;
    const pts = series.map((p) => `${xOf(p.x).toFixed(1)},${yOf(p.y).toFixed(1)}`).join(" ");
    svg.append(el("svg:polyline", { points: pts, fill: "none", stroke: color, "stroke-width": 2 }));
    for (const p of series) {
      const dot = el("svg:circle", {
        cx: xOf(p.x).toFixed(1),
        cy: yOf(p.y).toFixed(1),
        r: 4,
        fill: color,
        "data-testid": `${key}-point`,
        "data-period": p.x,
        "data-value": p.y,
      });
      dot.append(
        el("svg:title", {}, `${key === "net" ? "Net revenue" : "MRR"} ${p.x}: ${money(p.y, currency)}`),
      );
      svg.append(dot);
    }
  }
  const first = periods[0];
  const last = periods.at(-1);
  svg.append(el("svg:text", { x: L, y: H - 6, "font-size": 11, fill: "#667085" }, first));
  if (last !== first)
    svg.append(
      el("svg:text", { x: W - L, y: H - 6, "font-size": 11, fill: "#667085", "text-anchor": "end" }, last),
    );
  box.append(svg);
  const legend = el("div", { class: "legend" });
  const item = (color, text) => {
    const span = el("span", {}, text);
    // Through the CSSOM: a style attribute would need 'unsafe-inline' in the page's CSP.
    const swatch = el("i");
    swatch.style.background = color;
    span.prepend(swatch);
    return span;
  };
  legend.append(
    item("#059669", `Net revenue per ${revenue.interval} (${currency.toUpperCase()})`),
    item("#2563eb", "MRR"),
  );
  box.append(legend);
}

function heatColor(ratio) {
  const a = Math.max(0.04, Math.min(1, ratio));
  return `rgba(37, 99, 235, ${a.toFixed(2)})`;
}

function renderRetention(retention) {
  const box = $("retention");
  box.replaceChildren();
  if (retention.cohorts.length === 0) {
    box.append(el("p", { class: "empty" }, "No cohorts in this range."));
    return;
  }
  const table = el("table", { class: "heat", "data-testid": "retention-table" });
  const head = el("tr");
  head.append(el("th", {}, "Cohort"), el("th", {}, "Users"));
  for (let k = 0; k < retention.periods; k++) head.append(el("th", {}, `${retention.cohort[0]}${k}`));
  table.append(head);
  for (const c of retention.cohorts) {
    const tr = el("tr", { "data-cohort": c.cohort });
    tr.append(el("th", {}, c.cohort), el("th", {}, c.size));
    c.percentages.forEach((p, k) => {
      if (p === null) {
        tr.append(el("td", { title: "not reached yet" }, ""));
        return;
      }
      const td = el("td", { "data-count": c.counts[k], title: `${c.counts[k]} of ${c.size} users` }, `${p}%`);
      td.style.background = heatColor(p / 100);
      if (p > 55) td.style.color = "#fff";
      tr.append(td);
    });
    table.append(tr);
  }
  box.append(table);
  const churn = retention.subscription_churn;
  box.append(
    el(
      "p",
      { class: "legend", "data-testid": "churn" },
      `Subscription churn: ${churn.churned} of ${churn.active_at_start} (${pct(churn.churn_rate)})`,
    ),
  );
}

function renderActivity(heatmap) {
  $("tz").textContent = heatmap.tz;
  const box = $("activity");
  box.replaceChildren();
  const counts = new Map(heatmap.cells.map((c) => [`${c.weekday}:${c.hour}`, c.count]));
  const max = Math.max(1, ...heatmap.cells.map((c) => c.count));
  const table = el("table", { class: "heat activity", "data-testid": "activity-table" });
  const head = el("tr");
  head.append(el("th"));
  for (let h = 0; h < 24; h++) head.append(el("th", {}, h));
  table.append(head);
  WEEKDAYS.forEach((name, row) => {
    const weekday = (row + 1) % 7;
    const tr = el("tr");
    tr.append(el("th", {}, name));
    for (let h = 0; h < 24; h++) {
      const n = counts.get(`${weekday}:${h}`) ?? 0;
      const td = el(
        "td",
        { "data-weekday": weekday, "data-hour": h, "data-count": n, title: `${name} ${h}:00 – ${n} events` },
        n || "",
      );
      if (n) td.style.background = heatColor(n / max);
      if (n / max > 0.55) td.style.color = "#fff";
      tr.append(td);
    }
    table.append(tr);
  });
  box.append(table);
}

/** The currency with the most gross revenue in range, else the first with MRR. */
function mainCurrency(revenue) {
  const gross = new Map();
  for (const p of revenue.periods) gross.set(p.currency, (gross.get(p.currency) ?? 0) + p.gross);
  const best = [...gross.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  return best ?? revenue.mrr[0]?.currency ?? revenue.mrr_series[0]?.currency ?? null;
}

async function load(event) {
  event?.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  sessionStorage.setItem("analytics-token", token);
  const from = `${$("from").value}T00:00:00Z`;
  const to = new Date(Date.parse(`${$("to").value}T00:00:00Z`) + 86_400_000).toISOString();
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const range = new URLSearchParams({ from, to });
  const q = (extra) => `${range}&${new URLSearchParams(extra)}`;
  const status = $("status");
  status.className = "";
  status.textContent = "Loading…";
  try {
    const [behavior, funnel, revenue, retention, bySource] = await Promise.all([
      getJson(`${API}/user-behavior?${q({ tz })}`, token),
      getJson(`${API}/conversion-funnel?${q({ steps: $("steps").value, window: $("window").value })}`, token),
      getJson(`${API}/revenue?${q({ interval: $("interval").value })}`, token),
      getJson(`${API}/retention?${q({ cohort: $("cohort").value, periods: 8 })}`, token),
      // Its own failure (e.g. a range past its documented payment limit) stays in its box.
      getJson(bySourcePath(range), token).catch((err) => ({ failed: err.message })),
    ]);
    const currency = mainCurrency(revenue);
    loaded = { token, range, currency };
    // Visible before drawing: the charts size themselves from their box's width.
    $("report").hidden = false;
    renderKpis(behavior, revenue, currency);
    renderFunnel(funnel);
    renderRevenue(revenue, currency);
    renderBySource(bySource, currency, { el, money });
    // The model was switched while this load was in flight: fetch the one now selected.
    if (!bySource.failed && bySource.model !== selectedModel()) reloadBySource();
    renderRetention(retention);
    renderActivity(behavior.activity_heatmap);
    status.textContent = `Loaded ${behavior.range.from.slice(0, 10)} – ${$("to").value}`;
    document.body.dataset.loaded = "true";
  } catch (err) {
    status.className = "error";
    status.textContent = `Could not load: ${err.message}`;
  }
}

/** The last successful load: a model switch redraws revenue by source for the same range. */
let loaded = null;

/** Bumped per switch: a slower earlier response must not overwrite the model now selected. */
let bySourceSeq = 0;

async function reloadBySource() {
  if (!loaded) return;
  const status = $("status");
  const seq = ++bySourceSeq;
  try {
    const report = await getJson(bySourcePath(loaded.range), loaded.token);
    if (seq !== bySourceSeq) return;
    renderBySource(report, loaded.currency, { el, money });
    status.className = "";
  } catch (err) {
    status.className = "error";
    status.textContent = `Could not load: ${err.message}`;
  }
}

function init() {
  const today = new Date();
  $("to").value = today.toISOString().slice(0, 10);
  $("from").value = new Date(today.getTime() - 29 * 86_400_000).toISOString().slice(0, 10);
  const saved = sessionStorage.getItem("analytics-token");
  if (saved) $("token").value = saved;
  $("controls").addEventListener("submit", load);
  onModelChange(reloadBySource);
  if (saved) load();
}

init();

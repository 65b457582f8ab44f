// Revenue by UTM source (docs/analytics.md, "Attribution"): one table per model, the model
// switch re-fetches only this report. Helpers come from dashboard.js, which imports this file.
const REPORT = "/api/v1/analytics/revenue/by-source";

/** The checked model radio's value ("first_touch" or "last_touch"). */
export function selectedModel() {
  return document.querySelector('input[name="model"]:checked')?.value ?? "last_touch";
}

export function bySourcePath(range) {
  return `${REPORT}?${range}&${new URLSearchParams({ model: selectedModel() })}`;
}

export function renderBySource(report, currency, { el, money }) {
  const box = document.getElementById("by-source");
  box.replaceChildren();
  if (report.failed) {
    box.append(
      el("p", { class: "empty", "data-testid": "by-source-error" }, `Could not load: ${report.failed}`),
    );
    return;
  }
  const rows = report.by_source.filter((r) => r.currency === currency);
  if (rows.length === 0) {
    box.append(el("p", { class: "empty" }, "No captured payments in this range."));
    return;
  }
  const max = Math.max(1, ...rows.map((r) => r.amount));
  const total = rows.reduce((s, r) => s + r.amount, 0);
  const table = el("table", {
    class: "sources",
    "data-testid": "by-source-table",
    "data-model": report.model,
  });
  const head = el("tr");
  head.append(
    el("th", {}, "Source"),
    el("th", {}, "Revenue"),
    el("th", {}, "Payments"),
    el("th", {}, "Share"),
  );
  table.append(head);
  for (const r of rows) {
    const tr = el("tr", { "data-source": r.source, "data-amount": r.amount });
    const bar = el("i", { title: `${Math.round((r.amount / total) * 100)}% of ${money(total, currency)}` });
    // Through the CSSOM: a style attribute would need 'unsafe-inline' in the page's CSP.
    bar.style.width = `${Math.max(2, (r.amount / max) * 100)}%`;
    const share = el("td", { class: "bar" });
    share.append(bar);
    tr.append(
      el("th", {}, r.source),
      el("td", {}, money(r.amount, currency)),
      el("td", {}, r.payments),
      share,
    );
    table.append(tr);
  }
  box.append(table);
}

/** Re-fetches and redraws on a model switch, with the range and currency of the last load. */
export function onModelChange(reload) {
  for (const input of document.querySelectorAll('input[name="model"]')) {
    input.addEventListener("change", reload);
  }
}

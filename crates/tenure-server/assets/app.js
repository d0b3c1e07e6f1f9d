// Tenure dashboard: the REST API of `tenure serve`, read with the token the user pastes.
// Every value is put into the page as text (never as HTML), so data cannot inject markup.
"use strict";

const KEY = "tenure-token";
const main = document.getElementById("view");

function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick" || k === "onchange" || k === "onsubmit") e[k] = v;
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// GET by default; `opts.method` and a JSON `opts.body` for writes.
async function api(path, opts) {
  opts = opts || {};
  const token = sessionStorage.getItem(KEY);
  if (!token) throw { status: 401 };
  const headers = { Authorization: "Bearer " + token };
  const init = { method: opts.method || "GET", headers };
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  const r = await fetch(path, init);
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    throw { status: r.status, code: body && body.error ? body.error.code : null,
      message: body && body.error ? body.error.message : r.status + " " + r.statusText };
  }
  return body;
}

// Report responses by path, for a minute: switching a toggle redraws without refetching.
const cache = new Map();
function cachedApi(path) {
  const now = Date.now();
  for (const [k, v] of cache) if (now - v.at > 60000) cache.delete(k);
  const key = sessionStorage.getItem(KEY) + " " + path; // a new token starts afresh
  let hit = cache.get(key);
  if (!hit) {
    hit = { at: now, p: api(path) };
    hit.p.catch(() => cache.delete(key));
    cache.set(key, hit);
  }
  return hit.p;
}

function showLogin(message) {
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  main.replaceChildren();
}

document.getElementById("login-form").onsubmit = (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(KEY, document.getElementById("token").value.trim());
  route();
};

const fmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
function money(s, cur) {
  if (s === null || s === undefined) return "—";
  return fmt.format(Number(s)) + " " + cur;
}
const fmt2 = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
// Exact to the cent, for tooltips and tables where the amount is the point.
function money2(s, cur) {
  if (s === null || s === undefined) return "—";
  return fmt2.format(Number(s)) + " " + cur;
}
function pct(v) {
  return v === null || v === undefined ? "—" : (100 * v).toFixed(1) + "%";
}
function num(v, digits) {
  return v === null || v === undefined ? "—" : Number(v).toFixed(digits);
}
function card(label, value, id) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label),
    h("div", { class: "value", "data-kpi": id }, value));
}
function bar(value, max, cls) {
  const w = max > 0 ? Math.max(0, Math.min(100, (100 * value) / max)) : 0;
  const e = h("div", { class: "bar " + (cls || "") });
  e.style.width = w.toFixed(1) + "%"; // CSSOM, which the Content-Security-Policy allows
  return e;
}
function table(headers, rows, opts) {
  opts = opts || {};
  return h("table", { class: opts.cls || "", id: opts.id || null },
    h("thead", {}, h("tr", {}, headers.map((x) =>
      h("th", { class: x.num ? "num" : "" }, x.label || x)))),
    h("tbody", {}, rows));
}
function row(cells, onclick) {
  return h("tr", onclick ? { class: "link", onclick } : {}, cells.map((c) =>
    c && c.num !== undefined ? h("td", { class: "num" }, c.num) : h("td", {}, c)));
}
const N = (v) => ({ num: v });

async function overview() {
  const o = await api("/api/overview");
  const c = o.currency;
  const r = o.retention;
  const maxSeg = Math.max(...o.segments.map((s) => s.customers), 1);
  const maxStage = Math.max(...o.funnel.map((s) => s.customers), 1);
  main.replaceChildren(
    h("p", { class: "muted" }, "As of " + (o.as_of || "—") + " · " + c + " · configuration: " + o.config),
    h("div", { class: "cards" },
      card("Customers", fmt.format(o.customers), "customers"),
      card("MRR", money(o.mrr, c), "mrr"),
      card("ARR", money(o.arr, c), "arr"),
      card("Paying customers", fmt.format(o.paying_customers), "paying"),
      card("At risk", fmt.format(o.at_risk), "at_risk"),
      card("Healthy", fmt.format(o.healthy), "healthy"),
      card("Realised profit", money(o.realised_profit, c), "realised"),
      card("Predicted future profit", money(o.predicted_future_profit, c), "future"),
      card("Total lifetime profit", money(o.total_lifetime_profit, c), "total_ltv"),
      card("Average lifetime profit", money(o.average_lifetime_profit, c), "avg_ltv"),
      card("Advocates", fmt.format(o.advocates), "advocates")),
    h("h2", {}, "Retention · trailing " + r.window_months + " months"),
    h("p", { class: "muted", id: "retention-basis" }, r.customers_start === 0
      ? "No customer paid " + r.window_months + " months ago."
      : fmt.format(r.customers_start) + " customers paid " + r.window_months + " months ago; " +
        fmt.format(r.customers_retained) + " still pay (customers new since are left out)."),
    h("div", { class: "cards" },
      card("Net revenue retention", pct(r.nrr), "nrr"),
      card("Gross revenue retention", pct(r.grr), "grr"),
      card("Logo retention", pct(r.logo), "logo")),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "CLV segments"),
        table(["segment", { label: "customers", num: true }, ""],
          o.segments.map((s) => row([s.name, N(fmt.format(s.customers)), bar(s.customers, maxSeg)],
            () => { location.hash = "#/customers?segment=" + s.name; })),
          { cls: "bars", id: "segments" })),
      h("div", {}, h("h2", {}, "Lifecycle funnel"),
        table(["stage", { label: "customers", num: true }, { label: "median days in stage", num: true }, ""],
          o.funnel.map((s) => row([s.stage, N(fmt.format(s.customers)), N(num(s.median_days_in_stage, 0)),
            bar(s.customers, maxStage, "ok")],
            () => { location.hash = "#/customers?stage=" + s.stage; })),
          { cls: "bars", id: "funnel" }))),
    h("h2", {}, "By status"),
    table(["status", { label: "customers", num: true }],
      o.by_status.map((s) => row([s.name, N(fmt.format(s.customers))]))));
}

function params() {
  const q = location.hash.split("?")[1] || "";
  return new URLSearchParams(q);
}

async function customers() {
  const p = params();
  const limit = 50;
  const offset = Number(p.get("offset") || 0);
  const q = new URLSearchParams();
  for (const k of ["q", "segment", "stage", "band", "sort", "desc"]) if (p.get(k)) q.set(k, p.get(k));
  q.set("limit", limit);
  q.set("offset", offset);
  const page = await api("/api/customers?" + q.toString());
  const c = page.currency;
  const go = (changes) => {
    const n = new URLSearchParams(p);
    for (const [k, v] of Object.entries(changes)) { if (v === "" || v === null) n.delete(k); else n.set(k, v); }
    if (!("offset" in changes)) n.delete("offset");
    location.hash = "#/customers?" + n.toString();
  };
  const select = (name, options) => h("select", { onchange: (e) => go({ [name]: e.target.value }), name },
    options.map((o) => h("option", { value: o, selected: p.get(name) === o || (!p.get(name) && o === "") }, o || "any " + name)));
  const search = h("input", { type: "search", placeholder: "customer id", value: p.get("q") || "", name: "q" });
  search.onchange = (e) => go({ q: e.target.value });
  main.replaceChildren(
    h("div", { class: "toolbar" }, search,
      select("segment", ["", "key", "potential_key", "general", "never_profitable"]),
      select("stage", ["", "deliver", "develop", "retain", "grow"]),
      select("band", ["", "at_risk", "neutral", "healthy"]),
      select("sort", ["", "health", "realised_profit", "lifetime_profit", "p_alive", "tenure"]),
      h("label", {}, h("input", { type: "checkbox", checked: p.get("desc") === "true",
        onchange: (e) => go({ desc: e.target.checked ? "true" : "" }) }), " descending"),
      h("span", { class: "muted", id: "count" }, page.total === 0 ? "no customers" :
        (offset + 1) + "–" + Math.min(offset + limit, page.total) + " of " + fmt.format(page.total)),
      h("button", { onclick: () => go({ offset: Math.max(0, offset - limit) }), disabled: offset === 0 }, "‹ previous"),
      h("button", { onclick: () => go({ offset: offset + limit }), disabled: offset + limit >= page.total }, "next ›")),
    table(["customer", "segment", "stage", { label: "health", num: true }, "band", "status",
      { label: "P(alive)", num: true }, { label: "realised profit", num: true }, { label: "lifetime profit", num: true }],
      page.items.map((x) => row([x.id, x.segment, x.stage, N(num(x.health, 1)),
        h("span", { class: "band-" + x.band }, x.band || "—"), x.status, N(num(x.p_alive, 2)),
        N(money(x.realised_profit, c)), N(money(x.lifetime_profit, c))],
        () => { location.hash = "#/customer/" + encodeURIComponent(x.id); })),
      { id: "customers" }));
}

async function customer(id) {
  forgetReviews();
  const x = await api("/api/customers/" + encodeURIComponent(id));
  const k = x.customer;
  const c = x.currency;
  const moves = (list) => table(["day", "from", "to", "reason"],
    list.map((m) => row([m.day, m.from || "(first)", m.to, m.reason])));
  main.replaceChildren(
    h("h2", { id: "customer-id" }, k.id),
    h("p", { class: "muted" }, "Acquired " + k.acquired + " · " + k.tenure_days + " days · " +
      [k.plan, k.channel, k.region].filter(Boolean).join(" · ") + " · as of " + x.as_of),
    h("div", { class: "cards" },
      card("Segment", k.segment, "segment"),
      card("Stage", k.stage + " since " + k.stage_since, "stage"),
      card("Health", num(k.health, 1) + (k.band ? " (" + k.band + ")" : ""), "health"),
      card("P(alive) / renewal", num(k.p_alive, 2), "p_alive"),
      card("Realised profit", money(k.realised_profit, c), "realised"),
      card("Lifetime profit", money(k.lifetime_profit, c), "lifetime")),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Health, explained"),
        table(["component", "input", { label: "points", num: true }, ""],
          x.health_components.map((p) => row([p.name, p.input,
            N(p.points === null ? "left out" : num(p.points, 1) + " / " + num(p.max_points, 1)),
            p.points === null ? "" : bar(p.points, p.max_points, p.points < p.max_points / 2 ? "risk" : "ok")])),
          { cls: "bars", id: "health" })),
      h("div", {}, h("h2", {}, "Why this segment and stage"),
        h("p", {}, h("b", {}, k.segment + ": "), x.segment_reason),
        h("p", {}, "Retention plan: " + x.retention_plan.channels.join(", ") + ", every " +
          x.retention_plan.cadence_days + " days, " + x.retention_plan.budget_per_year + " " + c + " a year"),
        h("p", {}, h("b", {}, k.stage + ": "), x.stage_reason + " (" + x.days_in_stage + " days)"),
        h("p", { class: "muted" }, "Forecast method: " + x.method))),
    h("h2", {}, "Value review"),
    reviewTools(k.id, k.acquired, x.as_of),
    h("h2", {}, "Account plan"),
    x.goals.length === 0 ? h("p", { class: "muted" }, "No goals.") :
      table(["goal", "owner", "target day", "status", "metric"],
        x.goals.map((g) => row([g.title, g.owner, g.target_day, g.status,
          (g.metric || "") + (g.target ? " → " + g.target : "")]))),
    h("h2", {}, "Playbook actions"),
    x.actions.length === 0 ? h("p", { class: "muted" }, "None.") :
      table(["day", "rule", "channel", "target", "status", { label: "attempts", num: true }],
        x.actions.map((a) => row([a.day, a.rule, a.channel, a.target, a.status, N(a.attempts)])),
        { id: "actions" }),
    h("h2", {}, "Value ledger"),
    h("p", { class: "muted", id: "breakeven" }, x.ledger.breakeven_month
      ? "Profitable since " + x.ledger.breakeven_month + " (month " + x.ledger.breakeven_after_months + ")" +
        (x.ledger.cac_payback_months ? "; acquisition cost paid back in month " + x.ledger.cac_payback_months : "")
      : "Not yet profitable"),
    h("div", { class: "grid2" },
      h("div", {}, cumulative(x.ledger.months, c)),
      h("div", {}, ledgerTable(x.ledger.totals, c))),
    h("h2", {}, "Timeline"),
    h("p", { class: "muted" }, x.timeline.length < x.timeline_total
      ? "The newest " + x.timeline.length + " of " + x.timeline_total + " events." : x.timeline_total + " events."),
    table(["day", "what", "detail", { label: "amount", num: true }],
      x.timeline.map((e) => row([e.day, e.kind, e.text, N(e.amount === null ? "" : e.amount + " " + e.currency)])),
      { id: "timeline" }),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Segment history"), moves(x.segment_history)),
      h("div", {}, h("h2", {}, "Stage history"), moves(x.stage_history))));
}

// `YYYY-Qn` of each quarter from `first` to `last` (YYYY-MM-DD), newest first.
function quarters(first, last) {
  const q = (d) => [Number(d.slice(0, 4)), Math.floor((Number(d.slice(5, 7)) - 1) / 3) + 1];
  let [y, n] = q(last);
  const [y0, n0] = q(first);
  const out = [];
  while (y > y0 || (y === y0 && n >= n0)) {
    out.push(y + "-Q" + n);
    if (--n === 0) { n = 4; y--; }
  }
  return out;
}

// The printable value review (`GET /api/customers/{id}/review?format=html`) of a quarter,
// fetched with the token (a tab cannot send it) and shown from a Blob URL. The blob's page
// inherits the dashboard's Content-Security-Policy, which allows its one style block by hash.
let reviewUrls = new Map(); // period → Blob URL, for the customer on screen
async function reviewUrl(id, period) {
  const key = id + " " + period;
  if (!reviewUrls.has(key)) {
    const p = (async () => {
      const token = sessionStorage.getItem(KEY);
      if (!token) throw { status: 401 };
      const r = await fetch("/api/customers/" + encodeURIComponent(id) + "/review?format=html&period=" +
        encodeURIComponent(period), { headers: { Authorization: "Bearer " + token } });
      if (!r.ok) {
        const body = await r.json().catch(() => null);
        throw { status: r.status, message: body && body.error ? body.error.message : r.status + " " + r.statusText };
      }
      return URL.createObjectURL(new Blob([await r.text()], { type: "text/html" }));
    })();
    p.catch(() => reviewUrls.delete(key));
    reviewUrls.set(key, p);
  }
  return reviewUrls.get(key);
}
function forgetReviews() {
  for (const p of reviewUrls.values()) p.then((u) => URL.revokeObjectURL(u), () => {});
  reviewUrls = new Map();
}

function reviewTools(id, acquired, asOf) {
  const list = asOf ? quarters(acquired, asOf) : [];
  if (list.length === 0) return h("p", { class: "muted" }, "No quarter to review.");
  const sel = h("select", { id: "review-period", name: "period" }, list.map((q) => h("option", { value: q }, q)));
  const status = h("span", { id: "review-status", class: "muted", role: "status" });
  const fail = (e) => {
    if (e && e.status === 401) { showLogin("The token was refused."); return; }
    status.className = "error";
    status.textContent = (e && e.message) || String(e);
  };
  const dl = h("a", { id: "review-download", href: "#", download: "" }, "Download");
  const name = (period) => "review-" + id + "-" + period + ".html";
  dl.onclick = async (ev) => {
    if (dl.dataset.period === sel.value) return; // the Blob URL of this quarter is set
    ev.preventDefault();
    const period = sel.value;
    try {
      const url = await reviewUrl(id, period);
      if (period !== sel.value) return;
      dl.href = url;
      dl.download = name(period);
      dl.dataset.period = period;
      dl.click();
    } catch (e) { fail(e); }
  };
  sel.onchange = () => {
    dl.href = "#";
    dl.removeAttribute("data-period");
    status.textContent = "";
  };
  const open = async () => {
    const period = sel.value;
    // The tab opens on the click (a popup blocker allows that), its page once fetched.
    const tab = window.open("", "_blank");
    status.className = "muted";
    status.textContent = "Preparing the " + period + " review…";
    try {
      const url = await reviewUrl(id, period);
      if (tab) {
        tab.location.replace(url);
        status.textContent = "";
      } else {
        status.textContent = "The browser blocked the new tab: use Download.";
      }
    } catch (e) {
      if (tab) tab.close();
      fail(e);
    }
  };
  return h("div", { class: "toolbar", id: "review-tools" },
    h("label", {}, "quarter ", sel),
    h("button", { class: "primary", id: "open-review", onclick: open }, "Open printable review"),
    dl, status,
    h("span", { class: "muted" }, "goals, value received, support, what was paid, the stage and what comes next"));
}

// Cumulative profit month by month, with the zero line: where it crosses is break-even.
function cumulative(months, cur) {
  const W = 580, H = 220, left = 64, right = 12, top = 12, bottom = 34;
  if (months.length === 0) return h("p", { class: "muted" }, "No months yet.");
  const v = months.map((m) => Number(m.cumulative_profit));
  const lo = Math.min(0, ...v), hi = Math.max(0, ...v);
  const tv = ticks(lo, hi === lo ? lo + 1 : hi, 4);
  const y0 = tv[0], y1 = tv[tv.length - 1];
  const x = (i) => left + (W - left - right) * (months.length === 1 ? 0.5 : i / (months.length - 1));
  const y = (t) => top + (H - top - bottom) * (1 - (t - y0) / (y1 - y0 || 1));
  const d = v.map((t, i) => (i ? "L" : "M") + f1(x(i)) + "," + f1(y(t))).join("");
  const every = Math.max(1, Math.ceil(months.length / 8));
  return chart(W, H, "ledger-chart", "cumulative profit by month",
    yAxis(tv, y, left, W - right, (t) => compact.format(t)),
    s("g", { class: "axis" }, months.map((m, i) => i % every ? null :
      s("text", { x: f1(x(i)), y: H - bottom + 16, "text-anchor": "middle" }, m.month))),
    s("path", { class: "step", d }),
    months.map((m, i) => s("circle", { class: "dot", cx: f1(x(i)), cy: f1(y(v[i])), r: 2.5,
      "data-month": m.month, "data-cumulative": m.cumulative_profit },
      s("title", {}, m.month + ": cumulative " + m.cumulative_profit + " " + cur + " (month " + m.profit + ")"))));
}

async function advocates() {
  const a = await api("/api/advocates");
  main.replaceChildren(h("h2", {}, "Advocacy candidates (" + a.advocates.length + ")"),
    table([{ label: "rank", num: true }, "customer", { label: "NPS", num: true }, { label: "health", num: true },
      "segment", { label: "lifetime profit", num: true }],
      a.advocates.map((x) => row([N(x.advocate_rank), x.id, N(x.nps), N(num(x.health, 1)), x.segment,
        N(money(x.lifetime_profit, a.currency))],
        () => { location.hash = "#/customer/" + encodeURIComponent(x.id); })),
      { id: "advocates" }));
}

async function outbox() {
  const o = await api("/api/outbox?limit=200");
  main.replaceChildren(h("h2", {}, "Playbook activity"),
    h("div", { class: "cards" }, o.counts.map((k) => card(k.name, fmt.format(k.customers), "outbox-" + k.name))),
    h("h2", {}, "Newest actions"),
    table(["created", "rule", "customer", "channel", "target", "status", { label: "attempts", num: true }, "last error"],
      o.items.map((a) => row([new Date(a.created_at * 1000).toISOString().slice(0, 16).replace("T", " "),
        a.rule, a.customer, a.channel, a.target, a.status, N(a.attempts), a.last_error || ""],
        () => { location.hash = "#/customer/" + encodeURIComponent(a.customer); })),
      { id: "outbox" }));
}

// ---------------------------------------------------------------------------------------
// Charts: inline SVG built element by element (no library, no markup strings).
// ---------------------------------------------------------------------------------------

const SVGNS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
function chart(w, hgt, id, label, ...children) {
  return s("svg", { class: "chart", id, viewBox: "0 0 " + w + " " + hgt, width: w, height: hgt,
    role: "img", "aria-label": label }, children);
}
// Round numbers from at most lo to at least hi, about n steps.
function ticks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const e = raw / mag;
  const step = (e >= 7.5 ? 10 : e >= 3.5 ? 5 : e >= 1.5 ? 2 : 1) * mag;
  const out = [];
  const last = Math.ceil(hi / step - 1e-9);
  for (let k = Math.floor(lo / step + 1e-9); k <= last; k++) out.push(k * step + 0);
  return out;
}
const f1 = (v) => (Math.round(v * 10) / 10).toString();
// Horizontal grid lines with labels left of the plot.
function yAxis(tv, y, x0, x1, label) {
  return s("g", { class: "axis" }, tv.map((t) => [
    s("line", { class: t === 0 ? "zero" : "grid", x1: x0, x2: x1, y1: f1(y(t)), y2: f1(y(t)) }),
    s("text", { x: x0 - 6, y: f1(y(t) + 4), "text-anchor": "end" }, label(t))]));
}
function legend(items) {
  return h("div", { class: "legend" }, items.map(([name, cls]) =>
    h("span", {}, h("i", { class: "swatch " + cls }), name)));
}

// Cohort heatmap. `metric` is the cell field (logo, nrr, seats).
function heatmap(data, metric, cur) {
  const cohorts = data.cohorts;
  const cols = Math.max(0, ...cohorts.map((c) => c.cells.length));
  const labelW = 62, sizeW = metric === "logo" ? 58 : 150, left = labelW + sizeW + 8;
  const cw = Math.max(24, Math.min(56, Math.floor((1110 - left) / Math.max(cols, 1))));
  const sign = cw >= 36 ? "%" : ""; // narrow cells: the number alone (the legend says %)
  const rh = 22, top = 22;
  const W = left + cols * cw + 2, H = top + cohorts.length * rh + 2;
  const base = (c) => metric === "nrr" ? money(c.starting_mrr, cur)
    : metric === "seats" ? fmt.format(c.starting_seats) : null;
  const head = s("g", { class: "axis" },
    s("text", { x: 0, y: 14 }, "cohort"),
    s("text", { x: labelW + 56, y: 14, "text-anchor": "end" }, "customers"),
    metric === "logo" ? null : s("text", { x: left - 8, y: 14, "text-anchor": "end" },
      metric === "nrr" ? "starting MRR" : "starting seats"),
    Array.from({ length: cols }, (_, k) =>
      s("text", { x: left + k * cw + cw / 2, y: 14, "text-anchor": "middle" }, k)));
  const rows = cohorts.map((c, i) => {
    const y = top + i * rh;
    return s("g", { class: "row", "data-cohort": c.cohort },
      s("text", { class: "rowlabel", x: 0, y: y + 15 }, c.cohort),
      s("text", { class: "rowlabel num", x: labelW + 56, y: y + 15, "text-anchor": "end" }, fmt.format(c.customers)),
      metric === "logo" ? null : s("text", { class: "rowlabel num", x: left - 8, y: y + 15, "text-anchor": "end" }, base(c)),
      c.cells.map((cell, k) => {
        const v = cell[metric];
        const [fill, dark] = heat(v);
        const x = left + k * cw;
        return s("g", { class: "cell", "data-value": v === null || v === undefined ? "" : String(v),
          "data-period": cell.period },
          s("title", {}, c.cohort + " · period " + cell.period + ": " + pct(v) + " · " +
            fmt.format(cell.retained) + " of " + fmt.format(c.customers) + " customers retained · MRR " +
            money2(cell.mrr, cur)),
          s("rect", { x: x + 1, y: y + 1, width: cw - 2, height: rh - 2, rx: 2, fill }),
          s("text", { class: dark ? "celltext dark" : "celltext", x: x + cw / 2, y: y + 15,
            "text-anchor": "middle" }, v === null || v === undefined ? "—" : Math.round(100 * v) + sign));
      }));
  });
  return h("div", { class: "scroll" }, s("svg", { class: "chart fixed", id: "heatmap", width: W, height: H,
    viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "cohort retention heatmap" }, head, rows));
}
// A fraction's cell colour: blue from light (0) to dark (100%); green above 100% (expansion).
function heat(v) {
  if (v === null || v === undefined) return ["#eef0f3", false];
  if (v > 1.0005) {
    const t = Math.min(1, (v - 1) / 0.5);
    const l = 52 - 22 * t;
    return ["hsl(145, 55%, " + l.toFixed(0) + "%)", true];
  }
  const t = Math.max(0, Math.min(1, v));
  const l = 96 - 58 * t;
  return ["hsl(225, 80%, " + l.toFixed(0) + "%)", l < 62];
}
function heatLegend() {
  const stops = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5];
  return h("div", { class: "legend" }, h("span", {}, "cells: % retained"), stops.map((v) => {
    const i = h("i", { class: "swatch" });
    i.style.background = heat(v)[0];
    return h("span", {}, i, v > 1 ? (v === 1.5 ? "≥150%" : Math.round(v * 100) + "%") : Math.round(v * 100) + "%");
  }), h("span", {}, h("i", { class: "swatch none" }), "no base"));
}

const STEPS = [
  ["opening", "total"], ["new", "up"], ["expansion", "up"], ["reactivation", "up"],
  ["contraction", "down"], ["churn", "down"], ["closing", "total"]];

// The latest period's opening → movements → closing.
function waterfall(p, cur) {
  const W = 580, H = 290, left = 56, right = 10, top = 24, bottom = 34;
  let run = 0;
  const bars = STEPS.map(([step, kind]) => {
    const amount = Number(p[step]);
    let from, to;
    if (kind === "total") { from = 0; to = amount; run = amount; }
    else if (kind === "up") { from = run; to = run + amount; run = to; }
    else { from = run; to = run - amount; run = to; }
    return { step, kind, amount, from, to };
  });
  const ends = bars.flatMap((b) => b.kind === "total" ? [b.to] : [b.from, b.to]);
  const hi = Math.max(...ends, 1);
  let lo = Math.min(...ends, 0);
  // When the movements are small against MRR, start the axis near the smallest level so they
  // stay visible (and say so).
  const minLevel = Math.min(...bars.map((b) => b.kind === "total" ? b.to : Math.min(b.from, b.to)));
  let truncated = false;
  if (lo >= 0 && minLevel > 0 && hi - minLevel < 0.6 * hi) {
    const span = hi - minLevel;
    const tv = ticks(Math.max(0, minLevel - span * 0.6), minLevel, 2);
    lo = tv[0];
    truncated = lo > 0;
  }
  const tv = ticks(lo, hi, 5);
  lo = tv[0];
  const yHi = tv[tv.length - 1];
  const y = (v) => top + (H - top - bottom) * (1 - (v - lo) / (yHi - lo || 1));
  const slot = (W - left - right) / bars.length, bw = slot * 0.62;
  const cls = { opening: "c-total", closing: "c-total", new: "c-new", expansion: "c-expansion",
    reactivation: "c-reactivation", contraction: "c-contraction", churn: "c-churn" };
  const g = bars.map((b, i) => {
    const x = left + i * slot + (slot - bw) / 2;
    const y0 = y(Math.min(Math.max(b.from, b.to), yHi)), y1 = y(Math.max(Math.min(b.from, b.to), lo));
    const sign = b.kind === "up" ? "+" : b.kind === "down" ? "−" : "";
    const label = b.kind === "total" || b.amount === 0 ? compact.format(b.amount) : sign + compact.format(b.amount);
    return s("g", {},
      s("rect", { class: cls[b.step], "data-step": b.step, "data-amount": p[b.step], x: f1(x), y: f1(y0), width: f1(bw),
        height: f1(Math.max(1, y1 - y0)) },
        s("title", {}, b.step + ": " + (b.kind === "down" ? "−" : b.kind === "up" ? "+" : "") + money2(p[b.step], cur))),
      i + 1 < bars.length ? s("line", { class: "connector", x1: f1(x + bw), x2: f1(x + slot), y1: f1(y(b.to)),
        y2: f1(y(b.to)) }) : null,
      s("text", { class: "value", x: f1(x + bw / 2), y: f1(y0 - 5), "text-anchor": "middle" }, label),
      s("text", { class: "axis", x: f1(x + bw / 2), y: H - bottom + 16, "text-anchor": "middle" }, b.step));
  });
  return chart(W, H, "waterfall", "MRR waterfall " + p.period,
    yAxis(tv, y, left, W - right, (t) => compact.format(t)),
    g,
    truncated ? s("text", { class: "note", x: 4, y: 12 }, "axis starts at " + compact.format(lo) + " " + cur) : null);
}

const MOVES = [["new", 1, "c-new"], ["expansion", 1, "c-expansion"], ["reactivation", 1, "c-reactivation"],
  ["contraction", -1, "c-contraction"], ["churn", -1, "c-churn"]];

// Movements per period, stacked up (new, expansion, reactivation) and down (contraction,
// churn), with the net change as a tick.
function mrrChart(periods, cur) {
  const W = 580, H = 290, left = 56, right = 10, top = 14, bottom = 34;
  const up = periods.map((p) => Number(p.new) + Number(p.expansion) + Number(p.reactivation));
  const down = periods.map((p) => Number(p.contraction) + Number(p.churn));
  const tv = ticks(-Math.max(...down, 0), Math.max(...up, 1), 6);
  const lo = tv[0], hi = tv[tv.length - 1];
  const y = (v) => top + (H - top - bottom) * (1 - (v - lo) / (hi - lo || 1));
  const slot = (W - left - right) / Math.max(periods.length, 1), bw = Math.max(2, slot * 0.7);
  const every = Math.ceil(periods.length / 6);
  const cols = periods.map((p, i) => {
    const x = left + i * slot + (slot - bw) / 2;
    let pos = 0, neg = 0;
    const net = up[i] - down[i];
    const rects = MOVES.map(([k, sign, cls]) => {
      const v = Number(p[k]);
      if (!(v > 0)) return null;
      let a, b;
      if (sign > 0) { a = pos; b = pos + v; pos = b; } else { a = -neg; b = -neg - v; neg += v; }
      return s("rect", { class: cls, x: f1(x), y: f1(y(Math.max(a, b))), width: f1(bw),
        height: f1(Math.max(0.5, Math.abs(y(a) - y(b)))) });
    });
    return s("g", { class: "period", "data-period": p.period },
      s("title", {}, p.period + " (" + p.first_day + " – " + p.last_day + ")\n" +
        MOVES.map(([k, sign]) => k + ": " + (sign > 0 ? "+" : "−") + money2(p[k], cur)).join("\n") +
        "\nnet: " + (net >= 0 ? "+" : "−") + money2(Math.abs(net), cur) + "\nclosing MRR: " + money2(p.closing, cur)),
      s("rect", { class: "hover", x: f1(left + i * slot), y: top, width: f1(slot), height: H - top - bottom }),
      rects,
      s("line", { class: "net", x1: f1(x - 1), x2: f1(x + bw + 1), y1: f1(y(net)), y2: f1(y(net)) }),
      (periods.length - 1 - i) % every === 0
        ? s("text", { class: "axis", x: f1(x + bw / 2), y: H - bottom + 16, "text-anchor": "middle" }, p.period) : null);
  });
  return chart(W, H, "mrr-chart", "MRR movements per period",
    yAxis(tv, y, left, W - right, (t) => compact.format(t)), cols);
}

// Customers per profit bin.
function histogram(bins, cur) {
  const W = 580, H = 270, left = 48, right = 10, top = 14, bottom = 40;
  const max = Math.max(...bins.map((b) => b.customers), 1);
  const tv = ticks(0, max, 5);
  const hi = Math.max(max, tv[tv.length - 1]);
  const y = (v) => top + (H - top - bottom) * (1 - v / hi);
  const slot = (W - left - right) / Math.max(bins.length, 1);
  const every = Math.ceil(bins.length / 6);
  const range = (b) => b.lower === null ? "below " + money(b.upper, cur)
    : b.upper === null ? money(b.lower, cur) + " and above" : money(b.lower, cur) + " to " + money(b.upper, cur);
  const edgeLabel = (i) => {
    if (i === 0) return bins[0].lower === null ? "< " + compact.format(Number(bins[0].upper)) : compact.format(Number(bins[0].lower));
    if (i === bins.length) {
      const b = bins[bins.length - 1];
      return b.upper === null ? "≥ " + compact.format(Number(b.lower)) : compact.format(Number(b.upper));
    }
    return compact.format(Number(bins[i].lower));
  };
  const bars = bins.map((b, i) => {
    const x = left + i * slot + 1;
    const loss = b.upper !== null && Number(b.upper) <= 0;
    return [s("rect", { class: "bar" + (loss ? " loss" : ""), "data-customers": b.customers, x: f1(x), y: f1(y(b.customers)),
      width: f1(Math.max(1, slot - 2)), height: f1(Math.max(b.customers > 0 ? 1 : 0, y(0) - y(b.customers))) },
      s("title", {}, range(b) + ": " + fmt.format(b.customers) + " customers")),
    // counts over the bars, so the short ones stay readable next to a tall one
    b.customers > 0 && slot >= 16 ? s("text", { class: "count", x: f1(x + (slot - 2) / 2), y: f1(y(b.customers) - 3),
      "text-anchor": "middle" }, compact.format(b.customers)) : null];
  });
  const edges = [];
  for (let i = 0; i <= bins.length; i++) {
    if (i % every !== 0 && i !== bins.length) continue;
    if (i !== bins.length && bins.length - i < every / 2 && i !== 0) continue;
    edges.push(s("text", { class: "axis", x: f1(left + i * slot), y: H - bottom + 16,
      "text-anchor": i === 0 ? "start" : i === bins.length ? "end" : "middle" }, edgeLabel(i)));
  }
  return chart(W, H, "value-hist", "profit per customer histogram",
    yAxis(tv, y, left, W - right, (t) => compact.format(t)), bars, edges,
    s("text", { class: "note", x: W - right, y: H - 4, "text-anchor": "end" }, "profit per customer, " + cur));
}

// Kaplan–Meier S(t) as a step line inside its confidence band.
function survival(r) {
  const W = 580, H = 270, left = 44, right = 12, top = 12, bottom = 40;
  const pts = r.points;
  const maxDays = Math.max(pts.length ? pts[pts.length - 1].days : 0, 1);
  const xv = ticks(0, maxDays, 6);
  const x = (d) => left + (W - left - right) * d / maxDays;
  const y = (v) => top + (H - top - bottom) * (1 - v);
  let line = "", band = [];
  if (pts.length) {
    line = "M" + f1(x(pts[0].days)) + "," + f1(y(pts[0].survival));
    const upper = [[pts[0].days, pts[0].upper]], lower = [];
    for (let i = 1; i < pts.length; i++) {
      line += "H" + f1(x(pts[i].days)) + "V" + f1(y(pts[i].survival));
      upper.push([pts[i].days, pts[i - 1].upper], [pts[i].days, pts[i].upper]);
    }
    for (let i = pts.length - 1; i >= 1; i--) lower.push([pts[i].days, pts[i].lower], [pts[i].days, pts[i - 1].lower]);
    lower.push([pts[0].days, pts[0].lower]);
    band = upper.concat(lower).map(([d, v]) => f1(x(d)) + "," + f1(y(v)));
  }
  const med = r.median_days;
  return chart(W, H, "survival", "subscription survival curve",
    yAxis([0, 0.25, 0.5, 0.75, 1], y, left, W - right, (t) => Math.round(t * 100) + "%"),
    s("g", { class: "axis" }, xv.filter((d) => d <= maxDays).map((d) =>
      s("text", { x: f1(x(d)), y: H - bottom + 16, "text-anchor": "middle" }, fmt.format(d)))),
    s("text", { class: "note", x: W - right, y: H - 4, "text-anchor": "end" }, "days since the subscription started"),
    band.length ? s("polygon", { class: "band", points: band.join(" ") },
      s("title", {}, Math.round(r.level * 100) + "% confidence band")) : null,
    line ? s("path", { class: "step", d: line }) : null,
    med !== null && med !== undefined ? s("g", { class: "median" },
      s("line", { x1: left, x2: f1(x(med)), y1: f1(y(0.5)), y2: f1(y(0.5)) }),
      s("line", { x1: f1(x(med)), x2: f1(x(med)), y1: f1(y(0.5)), y2: f1(y(0)) }),
      s("text", { x: f1(x(med) + 6), y: f1(y(0.5) - 6) }, "median " + fmt.format(med) + " days")) : null);
}

// ---------------------------------------------------------------------------------------
// Reports view
// ---------------------------------------------------------------------------------------

const FILTERS = ["channel", "plan", "region", "segment", "stage", "end"];
let attrOptions = null; // channel / plan / region values seen, for the filter selects

async function filterOptions() {
  if (!attrOptions) {
    attrOptions = cachedApi("/api/customers?limit=1000").then((page) => {
      const o = { channel: new Set(), plan: new Set(), region: new Set() };
      for (const x of page.items) for (const k of Object.keys(o)) if (x[k]) o[k].add(x[k]);
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, [...v].sort()]));
    }).catch((e) => { attrOptions = null; throw e; });
  }
  return attrOptions;
}

// Each section fetches on its own: one failing report does not hide the others.
function section(title, id, promise, draw, tools) {
  const body = h("div", { class: "panel-body" }, h("p", { class: "muted" }, "Loading…"));
  const box = h("section", { class: "panel", id: id + "-panel" },
    h("div", { class: "panel-head" }, h("h2", {}, title), tools || null), body);
  return { box, done: promise.then((d) => body.replaceChildren(...[draw(d)].flat(Infinity).filter((x) => x !== null && x !== undefined)),
    (e) => { if (e && e.status === 401) throw e; body.replaceChildren(h("p", { class: "error" }, (e && e.message) || String(e))); }) };
}

async function reports() {
  const p = params();
  const q = new URLSearchParams();
  for (const k of FILTERS) if (p.get(k)) q.set(k, p.get(k));
  const qs = (extra) => {
    const n = new URLSearchParams(q);
    for (const [k, v] of Object.entries(extra || {})) n.set(k, v);
    const t = n.toString();
    return t ? "?" + t : "";
  };
  const interval = p.get("interval") === "quarter" ? "quarter" : "month";
  const metric = ["logo", "nrr", "seats"].includes(p.get("metric")) ? p.get("metric") : "logo";
  const dist = p.get("dist") === "realised" ? "realised" : "lifetime";
  const go = (changes) => {
    const n = new URLSearchParams(p);
    for (const [k, v] of Object.entries(changes)) { if (v === "" || v === null) n.delete(k); else n.set(k, v); }
    const t = n.toString();
    location.hash = "#/reports" + (t ? "?" + t : "");
  };
  const gen = routeGen;
  const [opts, ov] = await Promise.all([filterOptions().catch(() => ({ channel: [], plan: [], region: [] })),
    cachedApi("/api/overview")]);
  if (gen !== routeGen) return;
  const cur = ov.currency;
  const select = (name, options) => {
    const sel = p.get(name) || "";
    const list = sel && !options.includes(sel) ? options.concat([sel]) : options;
    return h("select", { name, "data-filter": name, onchange: (e) => go({ [name]: e.target.value }) },
      h("option", { value: "" }, "any " + name),
      list.map((o) => h("option", { value: o, selected: sel === o }, o.replace(/_/g, " "))));
  };
  const toggle = (name, value, current, label) => h("button", {
    class: "toggle" + (value === current ? " on" : ""), "aria-pressed": value === current ? "true" : "false",
    "data-toggle": name, "data-value": value, onclick: () => go({ [name]: value }) }, label);
  const end = h("input", { type: "date", name: "end", value: p.get("end") || "", max: ov.as_of || null,
    title: "last day observed (default: the snapshot's day)" });
  end.onchange = (e) => go({ end: e.target.value });
  const filtered = FILTERS.some((k) => p.get(k));

  const cohorts = cachedApi("/api/reports/cohorts" + qs({ interval }));
  const mrr = cachedApi("/api/reports/mrr" + qs({ interval }));
  const value = cachedApi("/api/reports/value" + qs({ bins: 20 }));
  const surv = cachedApi("/api/reports/survival" + qs());
  const ret = cachedApi("/api/reports/retention" + qs());
  const segs = cachedApi("/api/segments");
  const by = ["plan", "channel", "region", "quarter", "cohort"].includes(p.get("by")) ? p.get("by") : "plan";
  const camps = cachedApi("/api/reports/campaigns" + qs({ by }));

  const head = section("In scope", "scope", Promise.all([ret, surv, value]), ([r, sv, v]) => [
    h("p", { class: "muted" }, "Through " + r.end +
      (p.get("end") && p.get("end") !== r.end ? " (the server's latest day; " + p.get("end") + " was asked)" : "") +
      (filtered ? "" : " · all customers") + " · retention over the " + r.months + " months from " + r.start),
    h("div", { class: "cards" },
      card("Customers", fmt.format(r.customers), "scope-customers"),
      card("Net revenue retention", pct(r.nrr), "scope-nrr"),
      card("Gross revenue retention", pct(r.grr), "scope-grr"),
      card("Logo retention", pct(r.logo), "scope-logo"),
      card("Median subscription tenure", sv.median_days === null ? "not reached" : fmt.format(sv.median_days) + " days", "scope-median"),
      card("Broken even", fmt.format(v.broken_even) + " of " + fmt.format(v.customers), "scope-broken-even"))]);
  head.box.classList.add("bare");

  const heat = section("Cohort retention", "heatmap", cohorts, (d) => {
    const cells = d.cohorts.reduce((a, c) => a + c.cells.length, 0);
    if (d.cohorts.length === 0) return h("p", { class: "muted" }, "No cohort matches these filters.");
    return [h("p", { class: "muted" }, fmt.format(d.cohorts.length) + " cohorts by " + d.interval + " of acquisition · " +
      fmt.format(cells) + " cells · column k: the cohort's k-th " + d.interval + " after it (0: when acquired) · " +
      (metric === "logo" ? "customers retained / cohort customers" : metric === "nrr"
        ? "MRR / the cohort subscribers' starting MRR (net of expansion)" : "seats / starting seats")),
    heatmap(d, metric, cur), heatLegend()];
  }, h("div", { class: "toolbar" }, h("span", { class: "muted" }, "retained:"),
    toggle("metric", "logo", metric, "customers"), toggle("metric", "nrr", metric, "revenue"),
    toggle("metric", "seats", metric, "seats")));
  const water = section("MRR movements, latest period", "waterfall", mrr, (d) => {
    const last = d.periods[d.periods.length - 1];
    if (!last) return h("p", { class: "muted" }, "No MRR in scope.");
    const partial = last.last_day < lastDayOf(last, d.interval);
    return [h("p", { class: "muted" }, last.period + " (" + last.first_day + " – " + last.last_day + (partial ? ", to date" : "") +
      ") · closing MRR " + money2(last.closing, cur) + " · ARR " + money(last.arr, cur) + " · " +
      fmt.format(last.customers_closing) + " paying (" + "+" + fmt.format(last.new_customers) + " new, +" +
      fmt.format(last.reactivated_customers) + " back, −" + fmt.format(last.churned_customers) + " churned)"),
    waterfall(last, cur)];
  });
  const moves = section("MRR movements per " + interval, "mrr-chart", mrr, (d) => {
    const ps = d.periods.slice(-24);
    if (ps.length === 0) return h("p", { class: "muted" }, "No MRR in scope.");
    return [h("p", { class: "muted" }, "The last " + ps.length + " " + d.interval + "s, " + cur + " of MRR; the black tick is the net change"),
      mrrChart(ps, cur), legend([["new", "c-new"], ["expansion", "c-expansion"], ["reactivation", "c-reactivation"],
        ["contraction", "c-contraction"], ["churn", "c-churn"]])];
  });
  const hist = section("Profit per customer", "value-hist", value, (d) => {
    let which = dist, note = null;
    if (which === "lifetime" && d.lifetime.length === 0 && d.realised.length > 0) {
      which = "realised";
      note = h("p", { class: "muted" }, "Lifetime profit is predicted for the snapshot's day only; this is realised profit to " + d.end + ".");
    }
    const bins = d[which];
    const total = bins.reduce((a, b) => a + b.customers, 0);
    const life = toggle("dist", "lifetime", which, "lifetime (realised + predicted)");
    if (d.lifetime.length === 0) life.disabled = true;
    return [h("div", { class: "toolbar" }, life, toggle("dist", "realised", which, "realised to date"),
      h("span", { class: "muted" }, fmt.format(total) + " customers" +
        (bins.some((b) => b.upper !== null && Number(b.upper) <= 0) ? " · red: losses" : ""))),
    note,
    bins.length === 0 ? h("p", { class: "muted" }, "No customer in scope.") : histogram(bins, cur),
    h("p", { class: "muted" }, fmt.format(d.broken_even) + " customers have broken even, " + fmt.format(d.paid_back) +
      " paid back their acquisition cost" + (d.median_payback_months === null ? "" : " (median " + d.median_payback_months + " months)") + ".")];
  });
  const surv2 = section("Subscription survival", "survival", surv, (d) => [
    h("p", { class: "muted" }, fmt.format(d.observations) + " first subscriptions, " + fmt.format(d.events) + " ended · " +
      (d.median_days === null ? "median not reached" : "median " + fmt.format(d.median_days) + " days" +
        (d.median_lower_days !== null && d.median_upper_days !== null
          ? " (" + fmt.format(d.median_lower_days) + "–" + fmt.format(d.median_upper_days) + ")" : "")) +
      " · shaded: " + Math.round(d.level * 100) + "% band"),
    d.points.length === 0 ? h("p", { class: "muted" }, "No subscription in scope.") : survival(d)]);
  const led = section("Value ledger", "ledger", value, (d) => ledgerTable(d.ledger, cur));
  const seg = section("CLV segments (whole book)", "segments-report", segs, (d) => [
    h("p", { class: "muted" }, "High realised profit from " + money(d.high_realised, cur) + ", high predicted from " +
      money(d.high_predicted, cur) + " · not narrowed by the filters"),
    table(["segment", { label: "customers", num: true }, { label: "realised profit, " + cur, num: true },
      { label: "predicted future, " + cur, num: true }, "retention plan"],
    d.segments.map((x) => row([x.segment.replace(/_/g, " "), N(fmt.format(x.customers)), N(fmt.format(Number(x.realised_profit))),
      N(fmt.format(Number(x.predicted_future_profit))),
      x.plan.channels.join(", ").replace(/_/g, " ") + " · every " + x.plan.cadence_days + " days · " +
        fmt.format(Number(x.plan.budget_per_year)) + " a year"],
    () => go({ segment: x.segment }))), { id: "segment-table" })]);

  const camp = section("Campaign effect on retention", "campaigns", camps, (d) => campaignEffect(d),
    h("div", { class: "toolbar" }, h("span", { class: "muted" }, "segments:"),
      toggle("by", "plan", by, "plan"), toggle("by", "channel", by, "channel"),
      toggle("by", "region", by, "region"), toggle("by", "quarter", by, "quarter"),
      toggle("by", "cohort", by, "month")));

  // The model check fits three models, so it runs when asked.
  const drawCheck = (d) => {
    const svg = (name, text) => {
      const doc = new DOMParser().parseFromString(text, "image/svg+xml");
      const el = document.importNode(doc.documentElement, true);
      el.setAttribute("data-chart", name);
      el.setAttribute("width", "100%");
      el.removeAttribute("height");
      return h("div", { class: "validation-chart" }, el);
    };
    const f2 = (v, digits) => v === null ? "—" : num(v, digits);
    if (d.recommended === null) return h("p", { class: "muted", id: "validation-recommended" }, "Nothing to check: " + d.reason);
    return [h("p", { class: "muted" }, "BG/NBD, Pareto/NBD and MBG/NBD fitted to purchase days (weeks) through " +
      d.calibration_end + ", predicting the " + num(d.holdout_weeks, 1) + " weeks to " + d.end + " · " +
      fmt.format(d.customers_checked) + " customers · " + fmt.format(d.holdout_actual_repeat_purchases) +
      " repeat purchases actually made (the check of tenure validate)"),
    table(["model", { label: "predicted", num: true }, { label: "error", num: true }, { label: "MAE/customer", num: true },
      { label: "RMSE/customer", num: true }, { label: "tracking MAPE", num: true }, { label: "BIC", num: true }],
    d.models.map((m) => row([m.model, N(f2(m.predicted_repeat_purchases, 1)),
      N(m.error_percent === null ? "—" : num(m.error_percent, 1) + "%"), N(f2(m.mae_per_customer, 4)),
      N(f2(m.rmse_per_customer, 4)), N(m.tracking_mape_percent === null ? "—" : num(m.tracking_mape_percent, 1) + "%"),
      N(f2(m.bic, 1))])), { id: "validation-table" }),
    h("p", { id: "validation-recommended" }, "Recommended: " + d.reason),
    h("div", { class: "validation-charts" }, svg("tracking", d.charts.tracking),
      svg("conditional_expectations", d.charts.conditional_expectations), svg("p_alive", d.charts.p_alive))];
  };
  const checkBody = h("div", { class: "panel-body" });
  const runCheck = async () => {
    checkBody.replaceChildren(h("p", { class: "muted" }, "Fitting…"));
    try {
      const d = await cachedApi("/api/reports/validation" + qs());
      checkBody.replaceChildren(...drawCheck(d));
    } catch (e) {
      if (e && e.status === 401) throw e;
      checkBody.replaceChildren(h("p", { class: "error" }, (e && e.message) || String(e)));
    }
  };
  checkBody.replaceChildren(h("p", { class: "muted" }, "Fits BG/NBD, Pareto/NBD and MBG/NBD to the purchases of the 26 weeks before the holdout's last day (the filters' day) and checks their predictions against what happened."),
    h("button", { id: "run-validation", onclick: runCheck }, "Run the model check"));
  const check = { box: h("section", { class: "panel", id: "validation-panel" },
    h("div", { class: "panel-head" }, h("h2", {}, "Model check: holdout")), checkBody), done: Promise.resolve() };


  const all = [head, heat, water, moves, hist, surv2, led, seg, camp, check];
  main.replaceChildren(
    h("div", { class: "toolbar", id: "report-filters" },
      select("channel", opts.channel), select("plan", opts.plan), select("region", opts.region),
      select("segment", ["key", "potential_key", "general", "never_profitable"]),
      select("stage", ["deliver", "develop", "retain", "grow"]),
      h("label", {}, "through ", end),
      filtered ? h("button", { onclick: () => go(Object.fromEntries(FILTERS.map((k) => [k, ""]))) }, "clear filters") : null,
      h("span", { class: "spacer" }),
      toggle("interval", "month", interval, "monthly"), toggle("interval", "quarter", interval, "quarterly")),
    head.box,
    heat.box,
    h("div", { class: "grid2" }, water.box, moves.box),
    h("div", { class: "grid2" }, hist.box, surv2.box),
    h("div", { class: "grid2" }, led.box, seg.box),
    camp.box,
    check.box);
  await Promise.all(all.map((x) => x.done));
}

// Touched against comparable untouched customers, per campaign and segment, then every
// observed campaign pooled (`/api/reports/campaigns`); the association note above the table.
function campaignEffect(d) {
  const signed = (v) => v === null ? "—" : (v >= 0 ? "+" : "−") + Math.abs(100 * v).toFixed(1) + " pts";
  // One row; the campaign's name and day on its first row only.
  const line = (key, label, day, c, cls) => h("tr", { class: cls || null, "data-campaign": key, "data-segment": c.segment },
    h("td", {}, label), h("td", {}, day), h("td", {}, c.segment === "all" ? "all segments" : c.segment),
    h("td", { class: "num" }, fmt.format(c.touched)), h("td", { class: "num" }, pct(c.touched_retention)),
    h("td", { class: "num" }, fmt.format(c.untouched)), h("td", { class: "num" }, pct(c.untouched_retention)),
    h("td", { class: "num" }, signed(c.difference)),
    h("td", { class: "num" }, c.relative_churn === null ? "—" : c.relative_churn.toFixed(3)));
  const group = (key, label, day, segments, overall, cls) => segments.concat([overall]).map((c, i) =>
    line(key, i === 0 ? label : "", i === 0 ? day : "", c, (cls || "") + (c === overall ? " total" : "")));
  const rows = [];
  for (const m of d.campaigns) {
    const label = m.name && m.name !== m.id ? m.id + " · " + m.name : m.id;
    if (m.observed) rows.push(...group(m.id, label, m.day, m.segments, m.overall, "first"));
    else rows.push(h("tr", { class: "first", "data-campaign": m.id, "data-segment": "" },
      h("td", {}, label), h("td", {}, m.day),
      h("td", { colspan: 7, class: "muted" }, "not observed yet: " + d.window_days + " days have not passed by " + d.end)));
  }
  if (d.campaigns.some((m) => m.observed)) rows.push(...group("all", "all campaigns", "", d.segments, d.overall, "first pooled"));
  return [
    h("p", { class: "note", id: "campaign-note" }, d.note),
    h("p", { class: "muted" }, "Retained: still active " + d.window_days + " days after the campaign's day · " +
      "untouched: the other customers of the same " + d.grouping + ", acquired and active on that day · " +
      "relative churn: touched churn ÷ untouched churn (below 1: touched customers left less) · " +
      "pooled rows: untouched retention weighted to the touched customers' segments · through " + d.end),
    d.reason === null ? null : h("p", { class: "muted", id: "campaign-reason" }, "Nothing to compare: " + d.reason + "."),
    rows.length === 0 ? null : h("div", { class: "scroll" }, table(["campaign", "day", d.grouping,
      { label: "touched", num: true }, { label: "retained", num: true },
      { label: "comparable untouched", num: true }, { label: "retained", num: true },
      { label: "difference", num: true }, { label: "relative churn", num: true }], rows,
    { id: "campaign-table", cls: "campaigns" }))];
}

// The calendar last day of a period (to tell a period still running).
function lastDayOf(p, interval) {
  const d = new Date(p.first_day + "T00:00:00Z");
  d.setUTCMonth(d.getUTCMonth() + (interval === "quarter" ? 3 : 1), 0);
  return d.toISOString().slice(0, 10);
}

function ledgerTable(l, cur) {
  const rev = [["new", "new business"], ["upsell", "upsell"], ["expansion", "expansion"], ["renewal", "renewal"],
    ["change_order", "change orders"], ["one_off", "one-off"], ["refund", "refunds"]];
  const costs = [["cogs", "cost of goods sold"], ["acquisition", "acquisition"], ["retention", "retention"], ["service", "service"]];
  const max = Math.max(...Object.values(l).map((v) => Math.abs(Number(v))), 1);
  const line = (label, v, cls, sign) => h("tr", { class: cls || "" }, h("td", {}, label),
    h("td", { class: "num" }, (sign || "") + fmt2.format(Number(v))), // the currency heads the column
    h("td", {}, bar(Math.abs(Number(v)), max, sign === "−" || Number(v) < 0 ? "risk" : cls === "total" ? "ok" : "")));
  return table(["", { label: cur, num: true }, ""], [
    rev.map(([k, label]) => line(label, l[k])),
    line("net revenue", l.net_revenue, "total"),
    line("referral credit", l.referral_credit, "", "+"),
    costs.map(([k, label]) => line(label, l[k], "", "−")),
    line("profit", l.profit, "total")], { cls: "bars ledger", id: "ledger" });
}

// The view's content (null and undefined left out).
function show(...nodes) {
  main.replaceChildren(...nodes.flat(Infinity).filter((x) => x !== null && x !== undefined));
}

// ---------------------------------------------------------------------------------------
// Playbooks view
// ---------------------------------------------------------------------------------------

async function playbooks() {
  let d;
  const me = await cachedApi("/api/me");
  try {
    d = await api("/api/playbooks");
  } catch (e) {
    if (e && e.status === 404) {
      show(h("h2", {}, "Playbooks"),
        h("p", { class: "error", id: "playbooks-unavailable" },
          "This server has no playbooks API (GET /api/playbooks answered 404): it is older than this dashboard. " +
          "Edit the rules in its configuration file and run them with tenure run-playbooks."),
        h("p", {}, "What they did so far: ", h("a", { href: "#/outbox" }, "Playbook activity →")));
      return;
    }
    throw e;
  }
  const errorBox = h("p", { class: "error", id: "playbook-error", role: "alert" });
  const result = h("div", { id: "run-result", "aria-live": "polite" });
  const canEdit = d.editable;
  const rows = d.playbooks.map((pb) => playbookRow(pb, canEdit, errorBox));
  const run = async (dry, btn) => {
    const buttons = [runBtn, dryBtn];
    buttons.forEach((b) => { b.disabled = true; });
    result.replaceChildren(h("p", { class: "muted" }, dry ? "Dry run…" : "Running…"));
    try {
      const r = await api("/api/playbooks/run", { method: "POST", body: { dry_run: dry } });
      result.replaceChildren(runSummary(r));
      if (!dry) refreshFires();
    } catch (e) {
      if (e && e.status === 401) { showLogin("That token was refused."); return; }
      result.replaceChildren(h("p", { class: "error" }, writeError(e, dry ? "A dry run" : "Running playbooks")));
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      btn.focus();
    }
  };
  const runBtn = h("button", { id: "run-playbooks", class: "primary", onclick: () => run(false, runBtn) }, "Run now");
  const dryBtn = h("button", { id: "dry-run", onclick: () => run(true, dryBtn) }, "Dry run");
  const refreshFires = async () => {
    try {
      const n = await api("/api/playbooks");
      for (const pb of n.playbooks) {
        const cell = main.querySelector('tr[data-name="' + CSS.escape(pb.name) + '"] .fires');
        if (cell) cell.textContent = fmt.format(pb.fires);
      }
    } catch (_) { /* the counts stay as they were */ }
  };
  show(
    h("h2", {}, "Playbooks"),
    h("p", { class: "muted" }, "Rules from " + d.config + " · as of " + (d.as_of || "—") +
      " · a rule fires for each customer its trigger matches, then waits its cooldown."),
    canEdit ? null : h("p", { class: "note", id: "playbooks-readonly" },
      "Editing is off: this server runs on the " + d.config + " configuration, so there is no file to save rules to. " +
      "Start it with --config tenure.toml (the file may be empty) to edit playbooks here. You can still run them."),
    h("div", { class: "toolbar" }, runBtn, dryBtn,
      me.role === "admin" ? null : h("span", { class: "error", id: "playbooks-role" },
        "Signed in as " + me.role + ": running and saving need an admin token."),
      h("span", { class: "spacer" }), h("a", { href: "#/outbox" }, "Playbook activity (outbox) →")),
    result,
    d.playbooks.length === 0 ? h("p", { class: "muted" }, "No playbooks configured.") :
      table(["rule", { label: "fires", num: true }, "definition (TOML)"], rows, { id: "playbooks", cls: "playbooks" }),
    canEdit ? newRule(errorBox) : null,
    errorBox);
}

// A rule saved under a new name is added to the file (PUT creates it).
function newRule(errorBox) {
  const name = h("input", { name: "new-playbook", placeholder: "name: a-z, 0-9, _ and -", size: 30, pattern: "[a-z0-9_-]{1,64}" });
  const editor = h("textarea", { class: "playbook-new", rows: 6, spellcheck: "false", "aria-label": "TOML of the new rule" },
    'when = { health_below = { score = 40 } }\ncooldown = "30d"\nthen = [{ task = "cs-queue", title = "Call {customer_id}" }]\n');
  const status = h("span", { class: "muted" });
  const add = h("button", { id: "add-playbook" }, "Add rule");
  add.onclick = async () => {
    const n = name.value.trim();
    if (!n) { status.textContent = "give the rule a name"; return; }
    add.disabled = true;
    try {
      await api("/api/playbooks/" + encodeURIComponent(n), { method: "PUT", body: { toml: editor.value } });
      await route(); // the list, now with the rule
    } catch (e) {
      if (e && e.status === 401) { showLogin("That token was refused."); return; }
      errorBox.textContent = n + ": " + writeError(e, "Adding a playbook");
      errorBox.dataset.name = n;
      add.parentNode.after(errorBox);
    } finally {
      add.disabled = false;
    }
  };
  return h("details", { class: "panel", id: "new-playbook" }, h("summary", {}, "Add a rule"),
    h("p", { class: "muted" }, "The rule's keys as TOML (see docs/tenure.toml); it is validated with the whole file before it is written."),
    h("div", { class: "toolbar" }, name), editor, h("div", { class: "toolbar" }, add, status));
}

function writeError(e, what) {
  const m = (e && e.message) || String(e);
  if (e && e.status === 403) return what + " needs an admin token: this one may only read (" + m + ").";
  if (e && e.status === 404) return what + ": the server has no such route (404: " + m + ").";
  return m + (e && e.status ? " (" + e.status + ")" : "");
}

function playbookRow(pb, canEdit, errorBox) {
  const status = h("span", { class: "muted status" });
  const editor = h("textarea", { class: "playbook-toml", "data-name": pb.name, rows: Math.min(14, Math.max(4, pb.toml.split("\n").length + 1)),
    spellcheck: "false", readonly: canEdit ? null : "readonly", "aria-label": "TOML of " + pb.name }, pb.toml);
  const save = h("button", { class: "save", "data-name": pb.name, disabled: !canEdit }, "Save");
  const fires = h("td", { class: "num fires" }, fmt.format(pb.fires));
  const about = (x) => [x.trigger.replace(/_/g, " "),
    x.cooldown_days === null || x.cooldown_days === undefined ? null : "cooldown " + x.cooldown_days + " days",
    x.actions && x.actions.length ? "→ " + x.actions.join(", ") : null].filter(Boolean).join(" · ");
  const trigger = h("div", { class: "muted" }, about(pb));
  const name = h("b", {}, pb.name);
  if (!pb.toml) editor.placeholder = "(built in: no configuration file holds this rule)";
  editor.oninput = () => { status.textContent = editor.value === editor.defaultValue ? "" : "unsaved"; };
  save.onclick = async () => {
    save.disabled = true;
    status.textContent = "saving…";
    try {
      const r = await api("/api/playbooks/" + encodeURIComponent(pb.name), { method: "PUT", body: { toml: editor.value } });
      const n = r.playbook;
      editor.value = n.toml;
      editor.defaultValue = n.toml;
      fires.textContent = fmt.format(n.fires);
      trigger.textContent = about(n);
      status.textContent = "saved";
      if (errorBox.dataset.name === pb.name) { errorBox.textContent = ""; delete errorBox.dataset.name; }
    } catch (e) {
      if (e && e.status === 401) { showLogin("That token was refused."); return; }
      status.textContent = "not saved";
      errorBox.textContent = pb.name + ": " + writeError(e, "Saving a playbook");
      errorBox.dataset.name = pb.name;
      save.parentNode.after(errorBox); // under the editor that failed
    } finally {
      save.disabled = false;
    }
  };
  return h("tr", { "data-name": pb.name }, h("td", {}, name, trigger), fires,
    h("td", { class: "editor" }, editor, h("div", { class: "toolbar" }, save, status)));
}

function runSummary(r) {
  const fired = r.rules.filter((x) => x.fires > 0);
  const total = r.rules.reduce((a, x) => a + x.fires, 0);
  const list = r.fires || [];
  const shown = list.slice(0, 100);
  return h("div", { class: "panel" + (r.dry_run ? " dry" : "") },
    h("p", {}, h("b", {}, (r.dry_run ? "Dry run" : "Run") + " for " + r.day + ": "),
      r.dry_run
        ? fmt.format(total) + " fires would be due; nothing was stored (new_outbox_items: " +
          fmt.format(r.new_outbox_items) + ")."
        : fmt.format(r.new_fires) + " new fires, " + fmt.format(r.new_outbox_items) + " new outbox items, " +
          fmt.format(r.segment_moves) + " segment moves, " + fmt.format(r.stage_moves) + " stage moves" +
          (r.already_recorded_fires ? " (" + fmt.format(r.already_recorded_fires) + " fires were already recorded)" : "") + "."),
    fired.length === 0 ? h("p", { class: "muted" }, "No rule fired.") :
      h("p", { class: "muted" }, "By rule: " + fired.map((x) => x.rule + " " + fmt.format(x.fires)).join(" · ")),
    shown.length === 0 ? null : h("details", {}, h("summary", {}, "The day's fires" +
      (list.length > shown.length ? " (first " + shown.length + " of " + fmt.format(list.length) + ")" : " (" + list.length + ")")),
    table(["rule", "customer", "reason", "actions"], shown.map((f) => row([f.rule, f.customer, f.reason,
      f.actions.map((a) => a.channel + " " + a.target).join(", ")],
    () => { location.hash = "#/customer/" + encodeURIComponent(f.customer); })), { id: "run-fires" })),
    h("p", {}, h("a", { href: "#/outbox" }, r.dry_run ? "Playbook activity (outbox) →" : "See the new actions in the outbox →")));
}

let routeGen = 0; // a view drawn after a newer route started is dropped
async function route() {
  routeGen++;
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/";
  try {
    const me = await api("/api/me");
    document.getElementById("login").hidden = true;
    document.getElementById("who").textContent = me.name + " (" + me.role + ")";
    for (const a of document.querySelectorAll("nav a")) {
      const target = a.getAttribute("href").slice(1);
      const on = target === "/" ? path === "/" : path === target || (target === "/customers" && path.startsWith("/customer/"));
      if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    if (path.startsWith("/customer/")) await customer(decodeURIComponent(path.slice(10)));
    else if (path === "/customers") await customers();
    else if (path === "/advocates") await advocates();
    else if (path === "/outbox") await outbox();
    else if (path === "/reports") await reports();
    else if (path === "/playbooks") await playbooks();
    else await overview();
  } catch (e) {
    if (e && e.status === 401) { showLogin(sessionStorage.getItem(KEY) ? "That token was refused." : ""); return; }
    main.replaceChildren(h("p", { class: "error" }, (e && e.message) || String(e)));
  }
}

// `tenure demo` prints a URL with `#token=…`: sign in with it, then drop it from the address
// bar and the history (a fragment never reaches the server or its logs).
if (location.hash.startsWith("#token=")) {
  sessionStorage.setItem(KEY, decodeURIComponent(location.hash.slice(7)));
  history.replaceState(null, "", location.pathname + "#/");
}
window.addEventListener("hashchange", route);
route();

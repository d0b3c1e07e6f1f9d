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
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(path) {
  const token = sessionStorage.getItem(KEY);
  if (!token) throw { status: 401 };
  const r = await fetch(path, { headers: { Authorization: "Bearer " + token } });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw { status: r.status, message: body && body.error ? body.error.message : r.statusText };
  return body;
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
      card("Average lifetime profit", money(o.average_lifetime_profit, c), "average"),
      card("Advocates", fmt.format(o.advocates), "advocates")),
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
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Segment history"), moves(x.segment_history)),
      h("div", {}, h("h2", {}, "Stage history"), moves(x.stage_history))));
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

async function route() {
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/";
  try {
    const me = await api("/api/me");
    document.getElementById("login").hidden = true;
    document.getElementById("who").textContent = me.name + " (" + me.role + ")";
    if (path.startsWith("/customer/")) await customer(decodeURIComponent(path.slice(10)));
    else if (path === "/customers") await customers();
    else if (path === "/advocates") await advocates();
    else if (path === "/outbox") await outbox();
    else await overview();
  } catch (e) {
    if (e && e.status === 401) { showLogin(sessionStorage.getItem(KEY) ? "That token was refused." : ""); return; }
    main.replaceChildren(h("p", { class: "error" }, (e && e.message) || String(e)));
  }
}

window.addEventListener("hashchange", route);
route();

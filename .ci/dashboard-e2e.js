// The dashboard in headless Chromium (Debian's, driven by playwright-core) against `tenure
// demo`: open the URL it prints (signed in by its token), the overview's numbers equal the
// API's, the at-risk list counts what the API counts, a customer 360 opens with her ledger, the
// reports' charts draw the API's figures, the campaign-effect table is the API's (and, given
// CAMPAIGNS_JSON, the CLI's `tenure report campaigns --format json`), a customer's value review
// opens from her page in a styled tab with the JSON review's figures, a playbook changed in the
// page makes a run enqueue actions that appear in the outbox, the sign-in form works, no page
// errors. Screenshots go to OUTDIR.
// usage: node dashboard-e2e.js BASE_URL ADMIN_TOKEN OUTDIR [CAMPAIGNS_JSON]
"use strict";
const { chromium } = require("playwright-core");
const assert = require("assert");

const { reviewFigures } = require("./review-figures.js");

(async () => {
  const [base, token, out, cliCampaigns] = process.argv.slice(2);
  const api = async (path) => {
    const r = await fetch(base + path, { headers: { Authorization: "Bearer " + token } });
    assert.strictEqual(r.status, 200, path);
    return r.json();
  };
  const openTasks = async () => (await api("/api/outbox?status=open&limit=1000")).counts.find((c) => c.name === "open").customers;
  const digits = (s) => s.replace(/[^0-9]/g, "");
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  // The demo's URL signs in and leaves no token in the address bar.
  await page.goto(base + "/#token=" + encodeURIComponent(token));
  await page.waitForSelector('[data-kpi="customers"]');
  assert.strictEqual(new URL(page.url()).hash, "#/", "the token is dropped from the URL");
  const o = await api("/api/overview");
  const kpi = async (id) => digits(await page.textContent(`[data-kpi="${id}"]`));
  assert.strictEqual(await kpi("customers"), String(o.customers));
  assert.strictEqual(await kpi("at_risk"), String(o.at_risk));
  assert.strictEqual(await kpi("healthy"), String(o.healthy));
  assert.strictEqual(await kpi("advocates"), String(o.advocates));
  assert.strictEqual(await kpi("paying"), String(o.paying_customers));
  assert.strictEqual(await kpi("mrr"), String(Math.round(Number(o.mrr))));
  const pct = (v) => v === null ? "—" : (100 * v).toFixed(1) + "%";
  for (const k of ["nrr", "grr", "logo"]) assert.strictEqual(await page.textContent(`[data-kpi="${k}"]`), pct(o.retention[k]), k);
  assert.strictEqual(await kpi("total_ltv"), String(Math.round(Number(o.total_lifetime_profit))));
  const segRows = await page.$$eval("#segments tbody tr", (rs) => rs.map((r) => r.cells[1].textContent));
  assert.deepStrictEqual(segRows.map(digits), o.segments.map((s) => String(s.customers)));
  const stageRows = await page.$$eval("#funnel tbody tr", (rs) => rs.map((r) => r.cells[1].textContent));
  assert.deepStrictEqual(stageRows.map(digits), o.funnel.map((s) => String(s.customers)));
  await page.screenshot({ path: out + "/overview.png", fullPage: true });

  await page.goto(base + "/#/customers?band=at_risk&sort=health");
  await page.waitForSelector("#customers tbody tr");
  const list = await api("/api/customers?band=at_risk&sort=health&limit=50");
  assert.ok((await page.textContent("#count")).replace(/[^0-9–]/g, "").endsWith(String(list.total)));
  const firstId = await page.$eval("#customers tbody tr", (r) => r.cells[0].textContent);
  assert.strictEqual(firstId, list.items[0].id);
  await page.screenshot({ path: out + "/customers.png", fullPage: true });

  await page.click("#customers tbody tr");
  await page.waitForSelector("#customer-id");
  assert.strictEqual(await page.textContent("#customer-id"), firstId);
  const c = await api("/api/customers/" + encodeURIComponent(firstId));
  const comps = await page.$$eval("#health tbody tr", (rs) => rs.length);
  assert.strictEqual(comps, c.health_components.length);
  const dots = await page.$$eval("#ledger-chart circle.dot", (cs) => cs.map((d) => d.dataset.cumulative));
  assert.deepStrictEqual(dots, c.ledger.months.map((m) => m.cumulative_profit), "the ledger chart plots her months");
  assert.strictEqual(digits(await page.textContent("#ledger tr.total:last-child td.num")), digits(c.ledger.totals.profit));
  assert.strictEqual(await page.$$eval("#timeline tbody tr", (rs) => rs.length), c.timeline.length);
  await page.screenshot({ path: out + "/customer.png", fullPage: true });

  // Her value review from the page: quarters from her acquisition to the snapshot's day, newest
  // first; the printable page opens in a new tab from a Blob URL, styled (the policy allows its
  // style block by hash), every figure the JSON review's; the download is the same page.
  const quarterOf = (d) => d.slice(0, 4) + "-Q" + (Math.floor((Number(d.slice(5, 7)) - 1) / 3) + 1);
  const periods = await page.$$eval("#review-period option", (os) => os.map((o) => o.value));
  assert.strictEqual(periods[0], quarterOf(c.as_of), "newest quarter first");
  assert.strictEqual(periods[periods.length - 1], quarterOf(c.customer.acquired), "back to her acquisition");
  const year = (q) => Number(q.slice(0, 4)) * 4 + Number(q.slice(6)) - 1;
  periods.forEach((q, i) => { if (i) assert.strictEqual(year(periods[i - 1]) - year(q), 1, "consecutive quarters: " + periods); });
  const period = periods[Math.min(1, periods.length - 1)];
  await page.selectOption("#review-period", period);
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#open-review")]);
  popup.on("pageerror", (e) => errors.push("review tab: " + String(e)));
  popup.on("console", (m) => { if (m.type() === "error") errors.push("review tab: " + m.text()); });
  await popup.waitForURL(/^blob:/);
  await popup.waitForSelector('[data-figure="paid_total"]');
  assert.ok(popup.url().startsWith("blob:" + base + "/"), popup.url());
  const font = await popup.evaluate(() => getComputedStyle(document.body).fontFamily);
  assert.ok(font.includes("Helvetica"), "the review's style applies: body font " + font);
  const rv = await api("/api/customers/" + encodeURIComponent(firstId) + "/review?period=" + period);
  assert.strictEqual(rv.period, period);
  const want = reviewFigures(rv);
  const figs = await popup.$$eval("[data-figure]", (es) => es.map((e) => [e.getAttribute("data-figure"), e.textContent]));
  assert.deepStrictEqual(figs.map(([k]) => k).sort(), Object.keys(want).sort(), "every figure is shown once");
  for (const [k, v] of figs) assert.strictEqual(v, want[k], "review figure " + k);
  await popup.screenshot({ path: out + "/review-from-dashboard.png", fullPage: true });
  await popup.close();
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#review-download")]);
  assert.strictEqual(download.suggestedFilename(), "review-" + firstId + "-" + period + ".html");
  const html = await (await fetch(base + "/api/customers/" + encodeURIComponent(firstId) + "/review?format=html&period=" + period,
    { headers: { Authorization: "Bearer " + token } })).text();
  assert.strictEqual(require("fs").readFileSync(await download.path(), "utf8"), html, "the download is the review's page");

  await page.goto(base + "/#/outbox");
  await page.waitForSelector('[data-kpi="outbox-pending"]');
  await page.screenshot({ path: out + "/outbox.png", fullPage: true });

  // Reports: the charts draw what the API computes (default filters, monthly, end = as_of).
  await page.goto(base + "/#/reports");
  await page.waitForSelector("#heatmap .cell");
  await page.waitForSelector("#waterfall rect[data-step=closing]");
  await page.waitForSelector("#value-hist rect.bar");
  await page.waitForSelector("#survival path");
  await page.waitForSelector("#mrr-chart rect");
  const cohorts = await api("/api/reports/cohorts?interval=month");
  assert.ok(cohorts.cohorts.length > 0, "the generated company has cohorts");
  const heatRows = await page.$$eval("#heatmap .row", (rs) => rs.map((r) => [r.dataset.cohort, r.querySelectorAll(".cell").length]));
  assert.deepStrictEqual(heatRows, cohorts.cohorts.map((c) => [c.cohort, c.cells.length]), "one heatmap row per cohort");
  const cellCount = await page.$$eval("#heatmap .cell", (cs) => cs.length);
  assert.strictEqual(cellCount, cohorts.cohorts.reduce((a, c) => a + c.cells.length, 0), "heatmap cells");
  const firstCells = await page.$eval("#heatmap .row", (r) => [...r.querySelectorAll(".cell")].map((c) => c.dataset.value));
  assert.deepStrictEqual(firstCells, cohorts.cohorts[0].cells.map((c) => c.logo === null ? "" : String(c.logo)));
  const mrr = await api("/api/reports/mrr?interval=month");
  const last = mrr.periods[mrr.periods.length - 1];
  const closing = await page.$eval("#waterfall rect[data-step=closing]", (r) => [r.dataset.amount, r.querySelector("title").textContent]);
  assert.strictEqual(closing[0], last.closing);
  assert.strictEqual(digits(closing[1]), digits(last.closing), "closing bar title: " + closing[1]);
  const steps = await page.$$eval("#waterfall rect[data-step]", (rs) => rs.map((r) => r.dataset.step));
  assert.deepStrictEqual(steps, ["opening", "new", "expansion", "reactivation", "contraction", "churn", "closing"]);
  const value = await api("/api/reports/value?bins=20");
  const binSum = await page.$$eval("#value-hist rect.bar", (rs) => rs.reduce((a, r) => a + Number(r.dataset.customers), 0));
  assert.strictEqual(binSum, value.lifetime.reduce((a, b) => a + b.customers, 0), "histogram customers");
  assert.strictEqual(digits(await page.textContent("#ledger tr.total:last-child td.num")), digits(value.ledger.profit));
  await page.screenshot({ path: out + "/reports.png", fullPage: true });

  // Campaign effect: the table's cells are the API's figures (segments by plan), the association
  // note is shown, and the figures are the CLI's (`tenure report campaigns --format json` on the
  // demo's store, when given).
  await page.waitForSelector("#campaign-table tbody tr");
  const camp = await api("/api/reports/campaigns");
  assert.ok(camp.reason === null && camp.campaigns.some((m) => m.observed) && camp.overall.touched > 0,
    "the demo's company has observed campaigns with touches: " + JSON.stringify(camp).slice(0, 400));
  assert.strictEqual(await page.textContent("#campaign-note"), camp.note);
  assert.match(camp.note, /association, not a measured cause/);
  const signed = (v) => v === null ? "—" : (v >= 0 ? "+" : "−") + Math.abs(100 * v).toFixed(1) + " pts";
  const cells = (c) => [digits(String(c.touched)), pct(c.touched_retention), digits(String(c.untouched)),
    pct(c.untouched_retention), signed(c.difference), c.relative_churn === null ? "—" : c.relative_churn.toFixed(3)];
  const wantRows = [];
  for (const m of camp.campaigns) {
    if (!m.observed) { wantRows.push([m.id, ""]); continue; }
    for (const c of m.segments.concat([m.overall])) wantRows.push([m.id, c.segment, ...cells(c)]);
  }
  for (const c of camp.segments.concat([camp.overall])) wantRows.push(["all", c.segment, ...cells(c)]);
  const shownRows = await page.$$eval("#campaign-table tbody tr", (rs) => rs.map((r) => [r.dataset.campaign, r.dataset.segment,
    ...[...r.cells].slice(3).map((td) => td.textContent)]));
  assert.deepStrictEqual(shownRows.map((r) => r.length > 2 ? [r[0], r[1], digits(r[2]), r[3], digits(r[4]), ...r.slice(5)] : r),
    wantRows, "campaign table cells");
  if (cliCampaigns) {
    const cli = JSON.parse(require("fs").readFileSync(cliCampaigns, "utf8"));
    assert.strictEqual(cli.as_of, camp.end, "the CLI's as_of is the API's end");
    for (const k of ["window_days", "grouping", "note", "campaigns", "segments", "overall"]) {
      assert.deepStrictEqual(camp[k], cli[k], "tenure report campaigns: " + k);
    }
  }
  await (await page.$("#campaigns-panel")).screenshot({ path: out + "/campaigns.png" });

  // The model check (as `tenure validate`): run from the page, its table, recommendation and
  // three charts are the API's.
  await page.click("#run-validation");
  await page.waitForSelector("#validation-panel svg[data-chart=p_alive]");
  const check = await api("/api/reports/validation");
  assert.strictEqual(await page.textContent("#validation-recommended"), "Recommended: " + check.reason);
  assert.deepStrictEqual(await page.$$eval("#validation-table tbody tr", (rs) => rs.map((r) => r.cells[0].textContent)),
    check.models.map((m) => m.model));
  assert.deepStrictEqual(await page.$$eval("#validation-panel svg[data-chart]", (ss) => ss.map((x) => x.dataset.chart)),
    ["tracking", "conditional_expectations", "p_alive"]);
  await page.$eval("#validation-panel", (p) => p.scrollIntoView());
  await page.screenshot({ path: out + "/model-check.png", fullPage: true });

  // A filter goes into the hash and narrows every report.
  const region = await page.$$eval("select[name=region] option", (os) => os.map((o) => o.value).filter(Boolean)[0]);
  await page.selectOption("select[name=region]", region);
  await page.waitForFunction((r) => location.hash.includes("region=" + r), region);
  const regional = await api("/api/reports/cohorts?interval=month&region=" + encodeURIComponent(region));
  await page.waitForFunction((n) => document.querySelectorAll("#heatmap .cell").length === n,
    regional.cohorts.reduce((a, c) => a + c.cells.length, 0));
  await page.click("button[data-toggle=metric][data-value=nrr]");
  await page.waitForSelector("button[data-toggle=metric][data-value=nrr].on");
  await page.screenshot({ path: out + "/reports-filtered.png", fullPage: true });

  // Change a playbook in the page, run the day, see the actions appear in the outbox.
  await page.goto(base + "/#/playbooks");
  const editor = 'textarea.playbook-toml[data-name="low-health"]';
  await page.waitForSelector(editor);
  const before = await openTasks();
  const dry = await (await fetch(base + "/api/playbooks/run", { method: "POST",
    headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
    body: JSON.stringify({ dry_run: true }) })).json();
  const lowBefore = dry.rules.find((r) => r.rule === "low-health").fires;
  const text = await page.inputValue(editor);
  assert.ok(text.includes("score = 40"), text);
  await page.fill(editor, text.replace("score = 40", "score = 90"));
  await page.click('tr[data-name="low-health"] button.save');
  await page.waitForFunction(() => document.querySelector('tr[data-name="low-health"] .status').textContent === "saved");
  await page.screenshot({ path: out + "/playbooks.png", fullPage: true });
  await page.click("#run-playbooks");
  await page.waitForSelector("#run-result .panel");
  const after = await openTasks();
  assert.ok(after > before, `open tasks ${before} → ${after}`);
  const shown = digits((await page.textContent("#run-result")).match(/([0-9,.\s]+) new outbox items/)[1]);
  assert.strictEqual(Number(shown), after - before, "the run's summary counts the new actions");
  const pb = await api("/api/playbooks");
  const low = pb.playbooks.find((p) => p.name === "low-health");
  assert.ok(low.toml.includes("score = 90") && low.fires > lowBefore, JSON.stringify(low));
  await page.screenshot({ path: out + "/playbooks-run.png", fullPage: true });
  await page.goto(base + "/#/outbox");
  await page.waitForSelector('[data-kpi="outbox-pending"]');
  const rules = await page.$$eval("table tbody tr", (rs) => rs.map((r) => r.textContent));
  assert.ok(rules.some((t) => t.includes("low-health")), "the outbox lists the new actions");
  await page.screenshot({ path: out + "/outbox-after-run.png", fullPage: true });

  // The sign-in form, in a fresh tab with no token.
  const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  tab.on("pageerror", (e) => errors.push(String(e)));
  await tab.goto(base + "/");
  await tab.waitForSelector("#token");
  await tab.fill("#token", token);
  await tab.click("#login-form button");
  await tab.waitForSelector('[data-kpi="customers"]');

  assert.deepStrictEqual(errors, [], "errors in the page");
  await browser.close();
  console.log("dashboard e2e: the demo's URL signs in; overview, at-risk list, customer 360, reports, campaign effect and the model check agree with the API" +
    (cliCampaigns ? " (campaign effect also with the CLI)" : "") + "; the value review opens from the customer page, styled, with the API's figures; a playbook changed in the page enqueues actions that the outbox shows; screenshots in " + out);
})().catch((e) => { console.error(e); process.exit(1); });

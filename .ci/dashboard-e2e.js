// The dashboard in headless Chromium (Debian's, driven by playwright-core) against a live
// `tenure serve`: sign in, the overview's numbers equal the API's, the at-risk list counts what
// the API counts, a customer 360 opens, no page errors. Screenshots go to OUTDIR.
// usage: node dashboard-e2e.js BASE_URL TOKEN OUTDIR
"use strict";
const { chromium } = require("playwright-core");
const assert = require("assert");

(async () => {
  const [base, token, out] = process.argv.slice(2);
  const api = async (path) => {
    const r = await fetch(base + path, { headers: { Authorization: "Bearer " + token } });
    assert.strictEqual(r.status, 200, path);
    return r.json();
  };
  const digits = (s) => s.replace(/[^0-9]/g, "");
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  await page.goto(base + "/");
  await page.waitForSelector("#token");
  await page.fill("#token", token);
  await page.click("#login-form button");
  await page.waitForSelector('[data-kpi="customers"]');
  const o = await api("/api/overview");
  const kpi = async (id) => digits(await page.textContent(`[data-kpi="${id}"]`));
  assert.strictEqual(await kpi("customers"), String(o.customers));
  assert.strictEqual(await kpi("at_risk"), String(o.at_risk));
  assert.strictEqual(await kpi("healthy"), String(o.healthy));
  assert.strictEqual(await kpi("advocates"), String(o.advocates));
  assert.strictEqual(await kpi("paying"), String(o.paying_customers));
  assert.strictEqual(await kpi("mrr"), String(Math.round(Number(o.mrr))));
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
  await page.screenshot({ path: out + "/customer.png", fullPage: true });

  await page.goto(base + "/#/outbox");
  await page.waitForSelector('[data-kpi="outbox-pending"]');
  await page.screenshot({ path: out + "/outbox.png", fullPage: true });

  assert.deepStrictEqual(errors, [], "errors in the page");
  await browser.close();
  console.log("dashboard e2e: overview, at-risk list and customer 360 agree with the API; screenshots in " + out);
})().catch((e) => { console.error(e); process.exit(1); });

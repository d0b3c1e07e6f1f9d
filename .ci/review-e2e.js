// The one-account value review (`GET /api/customers/{id}/review`) in headless Chromium against
// `tenure demo`: give a customer a goal through the API, fetch her review's figures (JSON),
// open the printable page (`?format=html`) in Chromium, require that it loads nothing but
// itself, that every `data-figure` on it equals the JSON's figure, and print it to
// OUTDIR/review.pdf and OUTDIR/review.png.
// usage: node review-e2e.js BASE_URL ADMIN_TOKEN OUTDIR
"use strict";
const { chromium } = require("playwright-core");
const assert = require("assert");
const fs = require("fs");
const { reviewFigures } = require("./review-figures.js");

(async () => {
  const [base, token, out] = process.argv.slice(2);
  const auth = { Authorization: "Bearer " + token };
  const who = process.env.TENURE_REVIEW_CUSTOMER || "C000027";

  const added = await fetch(base + "/api/plans", {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ customer: who, title: "Adopt the API in every team", owner: "csm.ana", target_day: "2026-03-31", status: "on_track", metric: "usage:api", target: "40" }),
  });
  assert.ok(added.status === 200 || added.status === 201, "goal added: " + added.status + " " + (await added.text()));
  const seats = await fetch(base + "/api/plans", {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ customer: who, title: "Grow to 40 seats", owner: "csm.ana", target_day: "2026-06-30", status: "on_track", metric: "seats", target: "40" }),
  });
  assert.ok(seats.status === 200 || seats.status === 201, "goal added: " + seats.status + " " + (await seats.text()));

  const get = async (q) => fetch(base + "/api/customers/" + encodeURIComponent(who) + "/review" + q, { headers: auth });
  const first = await get("");
  assert.strictEqual(first.status, 200, "review JSON");
  const r0 = await first.json();
  assert.deepStrictEqual(await (await get("?period=" + r0.period)).json(), r0, "the default period is the snapshot's quarter");
  // The quarter of her annual renewal, so the page shows a payment.
  const q = "?period=" + encodeURIComponent(process.env.TENURE_REVIEW_PERIOD || "2025-Q2");
  const r = await (await get(q)).json();
  assert.ok(r.goals.some((g) => g.title === "Adopt the API in every team"), "the goal is on the review");
  const api = r.goals.find((g) => g.metric === "usage:api");
  assert.ok(api.value !== null && api.target_value === "40" && api.start_value === null && typeof api.progress === "number", "the usage:api goal is measured: " + JSON.stringify(api));
  const st = r.goals.find((g) => g.metric === "seats");
  assert.ok(st.value !== null && st.start_value !== null && st.met === (Number(st.value) >= 40), "the seats goal is measured: " + JSON.stringify(st));
  assert.ok(Number(r.paid.total) > 0 && r.support.opened > 0, "a quarter with payments and cases: " + JSON.stringify(r.paid));
  assert.strictEqual((await get("?period=2025-Q7")).status, 400, "a bad period is 400");
  assert.strictEqual((await fetch(base + "/api/customers/nobody/review", { headers: auth })).status, 404, "an unknown customer is 404");
  assert.strictEqual((await fetch(base + "/api/customers/" + who + "/review")).status, 401, "no token is 401");

  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 1400 }, extraHTTPHeaders: auth });
  const page = await ctx.newPage();
  const errors = [];
  const requests = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("request", (req) => requests.push(req.url()));
  const url = base + "/api/customers/" + encodeURIComponent(who) + "/review" + q + "&format=html";
  const resp = await page.goto(url);
  assert.strictEqual(resp.status(), 200);
  assert.match(resp.headers()["content-type"], /^text\/html/);
  await page.waitForSelector('[data-figure="paid_total"]');
  assert.deepStrictEqual(requests, [url], "the page loads nothing but itself");
  assert.strictEqual(await page.$$eval(".chart svg", (s) => s.length), 2, "two inline charts");
  assert.strictEqual(await page.$$eval("svg.bar", (s) => s.length), r.goals.filter((g) => g.progress !== null).length, "a progress bar per measured goal");

  const want = reviewFigures(r);
  const e = r.engagement;
  const shown = await page.$$eval("[data-figure]", (es) => es.map((e) => [e.getAttribute("data-figure"), e.textContent]));
  assert.deepStrictEqual(shown.map(([k]) => k).sort(), Object.keys(want).sort(), "every figure is shown once");
  for (const [k, v] of shown) assert.strictEqual(v, want[k], k);

  await page.pdf({ path: out + "/review.pdf", format: "A4", printBackground: true, preferCSSPageSize: true });
  await page.screenshot({ path: out + "/review.png", fullPage: true });
  const pdf = fs.readFileSync(out + "/review.pdf");
  assert.strictEqual(pdf.subarray(0, 5).toString(), "%PDF-", "a PDF");
  const pages = (pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.ok(pages >= 1 && pages <= 4, "prints on 1–4 pages, not " + pages);
  const png = fs.readFileSync(out + "/review.png");
  assert.strictEqual(png.subarray(1, 4).toString(), "PNG", "a PNG");
  assert.deepStrictEqual(errors, [], "no page errors");
  await browser.close();
  console.log(`review e2e: ${who} ${r.period} — ${shown.length} figures on the page equal the API's (paid ${r.paid.total} ${r.currency}, ${r.support.opened} cases opened, ${e.interactions} interactions, ${r.goals.length} goals, stage ${r.lifecycle.stage}); ${pages}-page PDF and PNG in ${out}`);
})().catch((e) => { console.error(e); process.exit(1); });

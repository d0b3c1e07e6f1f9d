// Times each dashboard view in headless Chromium: navigation to the selector that appears last.
// Prints one markdown row per view. usage: node dashboard_load.js BASE TOKEN REPEAT
"use strict";
const { chromium } = require("playwright-core");

(async () => {
  const [base, token, repeat] = process.argv.slice(2);
  const n = Number(repeat) || 5;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const r = await fetch(base + "/api/customers?sort=lifetime_profit&desc=true&limit=1", { headers: { Authorization: "Bearer " + token } });
  const top = (await r.json()).items[0].id;
  const views = [
    ["overview", "/#/", ['[data-kpi="nrr"]', "#funnel tbody tr"]],
    ["customer list, at risk, by lifetime profit", "/#/customers?band=at_risk&sort=lifetime_profit&desc=true", ["#customers tbody tr"]],
    ["customer 360 (top customer)", "/#/customer/" + encodeURIComponent(top), ["#ledger-chart circle", "#timeline tbody tr"]],
    ["reports (heatmap, waterfall, MRR, value, survival, ledger)", "/#/reports", ["#heatmap .cell", "#waterfall rect", "#mrr-chart rect", "#value-hist rect.bar", "#survival path", "#ledger tr"]],
    ["reports, filtered by segment", "/#/reports?segment=key", ["#heatmap .cell", "#waterfall rect", "#value-hist rect.bar", "#survival path"]],
  ];
  for (const [name, path, selectors] of views) {
    const times = [];
    let nodes = 0;
    for (let k = 0; k <= n; k++) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await ctx.addInitScript((t) => sessionStorage.setItem("tenure-token", t), token);
      const page = await ctx.newPage();
      const t0 = Date.now();
      await page.goto(base + path);
      for (const s of selectors) await page.waitForSelector(s, { timeout: 120000 });
      const ms = Date.now() - t0;
      nodes = await page.evaluate(() => document.getElementsByTagName("*").length);
      if (k > 0) times.push(ms); // the first is a warm-up
      await ctx.close();
    }
    times.sort((a, b) => a - b);
    console.log(`| ${name} | ${times[Math.floor(times.length / 2)]} | ${times[times.length - 1]} | ${nodes} |`);
  }
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });

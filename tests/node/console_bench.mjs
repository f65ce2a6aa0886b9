// Console speed figures (a bench, not a test): the bytes the first page transfers (target
// under 150 KB) and the time from the export list's API answer to its rows on screen
// (target under 300 ms), in Debian's chromium driven by playwright-core, over `runs` loads.
//
// Usage: node console_bench.mjs BASE TOKEN [runs]

import { chromium } from "playwright-core";

const [base, token, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const browser = await chromium.launch({
  executablePath: process.env.EC_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function firstPageBytes() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  let bytes = 0;
  cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; });
  await page.goto(`${base}/`, { waitUntil: "networkidle" });
  await page.getByLabel("Token", { exact: true }).waitFor();
  await context.close();
  return bytes;
}

async function listDelay() {
  const context = await browser.newContext();
  await context.addInitScript(([t]) => {
    sessionStorage.setItem("exportcenter.session", JSON.stringify({ token: t, tenant: "" }));
  }, [token]);
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__firstRow = null;
    new MutationObserver(() => {
      if (window.__firstRow === null && document.querySelector("tbody tr")) window.__firstRow = performance.now();
    }).observe(document, { subtree: true, childList: true });
  });
  await page.goto(`${base}/#/exports`);
  await page.locator("tbody tr").first().waitFor();
  const t = await page.evaluate(() => {
    const list = performance.getEntriesByType("resource").find((e) => /\/api\/v1\/exports\?/.test(e.name));
    return { answered: list?.responseEnd, shown: window.__firstRow, rows: document.querySelectorAll("tbody tr").length };
  });
  await context.close();
  return t;
}

const bytes = [];
const delays = [];
let rows = 0;
for (let i = 0; i < runs; i++) {
  bytes.push(await firstPageBytes());
  const d = await listDelay();
  delays.push(d.shown - d.answered);
  rows = d.rows;
}
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = median(bytes) / 1024;
const ms = median(delays);
console.log(`first page transferred   ${kb.toFixed(1)} KB (target 150 KB, ratio ${(kb / 150).toFixed(2)})`);
console.log(`list shown after answer  ${ms.toFixed(1)} ms for ${rows} rows (target 300 ms, ratio ${(ms / 300).toFixed(2)})`);
console.log(JSON.stringify({ first_page_kb: kb, list_ms: ms, rows, runs }));

// The Console in a real browser (Debian's chromium, driven by playwright-core; no browser
// download), against two embedded stacks the Rust test started: sign in by keyboard,
// upload a real scan, a 422 shown beside its field, request a PDF with the
// compliance-detailed template and watch it go from queued through its stages to ready on
// the export list without reloading, download the report and the sealed bundle (the Rust
// test compares and verifies them), cancel a queued export (on the second stack, which
// has no workers), create a schedule with its preview, see a template syntax error at its
// line and column, and run axe-core on every page (no serious or critical violation). The
// cancel flow is done with the keyboard alone (Tab, Enter, Space; the file chooser too).
// Prints one JSON line with what the Rust test checks next; exits non-zero on failure.
//
// Usage: node console_test.mjs BASE TOKEN IDLE_BASE IDLE_TOKEN SCAN_FILE OUT_DIR [SHOTS_DIR]

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

import { chromium } from "playwright-core";

const [base, token, idleBase, idleToken, scanFile, outDir, shotsDir] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const result = { axe: {}, statuses: [], problems: [] };

function fail(message) {
  result.problems.push(message);
}

const browser = await chromium.launch({
  executablePath: process.env.EC_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function newPage() {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => fail(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) fail(`CSP: ${m.text()}`);
  });
  return page;
}

/** axe-core on the page as it is now; serious and critical violations fail the test. */
async function axe(page, name) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  result.axe[name] = found;
  for (const v of found) {
    if (v.impact === "serious" || v.impact === "critical") fail(`axe on ${name}: ${v.id} (${v.impact}): ${v.help}`);
  }
}

async function shot(page, name) {
  if (shotsDir) await page.screenshot({ path: join(shotsDir, `${name}.png`), fullPage: true });
}

/** Presses Tab until the focused element is a `tag` whose text, label or id is `name`
 * (at most 60 presses): the keyboard's way to a control. */
async function tabTo(page, tag, name) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    const hit = await page.evaluate(([t, n]) => {
      const el = document.activeElement;
      if (!el || el.tagName !== t) return false;
      const label = el.labels?.[0]?.textContent.trim();
      return el.textContent.trim() === n || label === n || el.id === n;
    }, [tag, name]);
    if (hit) return;
  }
  throw new Error(`Tab never reached ${tag} ${name}`);
}

async function signIn(page, at, tok) {
  await page.goto(`${at}/`);
  await axe(page, "sign-in");
  // Keyboard only: to the Token field, type, Enter submits.
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement?.id);
  if (focused !== "token") fail(`Tab did not reach the Token field (${focused})`);
  await page.keyboard.type(tok);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Exports", exact: true }).waitFor();
}

try {
  const page = await newPage();
  await signIn(page, base, token);
  await axe(page, "exports");

  // Scans: upload a real scanner document.
  await page.getByRole("link", { name: "Scans", exact: true }).click();
  await page.getByRole("heading", { name: "Scans", exact: true }).waitFor();
  await page.getByLabel("Upload scans", { exact: true }).setInputFiles(scanFile);
  const receipt = page.locator("li.notice code").first();
  await receipt.waitFor();
  const scanId = (await receipt.textContent()).trim();
  result.scan_id = scanId;
  await page.getByRole("cell", { name: scanId, exact: true }).waitFor();
  await axe(page, "scans");
  // Open it.
  await page.getByRole("link", { name: scanId, exact: true }).click();
  await page.getByRole("heading", { name: `Scan ${scanId}`, exact: true }).waitFor();
  result.scan_findings = (await page.locator("dt:text('Findings') + dd").textContent()).trim();
  await axe(page, "scan");

  // New export: a 422 beside its field, then a PDF with compliance-detailed.
  await page.getByRole("link", { name: "New export", exact: true }).click();
  await page.getByLabel("Type", { exact: true }).waitFor();
  await axe(page, "new-export");
  await page.getByRole("button", { name: "Request export" }).click();
  const beside = page.locator("#scope-error");
  await beside.waitFor();
  result.field_error = (await beside.textContent()).trim();
  const describedBy = await page.getByRole("group", { name: "Scans", exact: true }).getAttribute("aria-describedby");
  if (describedBy !== "scope-error") fail(`the scan choices are not described by their error (${describedBy})`);
  await axe(page, "new-export-422");
  await page.getByLabel("Type", { exact: true }).selectOption("scan_report");
  await page.getByLabel("Format", { exact: true }).selectOption("pdf");
  await page.getByLabel("Template", { exact: true }).selectOption("compliance-detailed");
  await page.getByLabel(scanId, { exact: true }).check();
  await page.getByLabel("Minimum severity", { exact: true }).selectOption("medium");
  await shot(page, "new-export");
  // A double click makes one export (one Idempotency-Key per form).
  await page.getByRole("button", { name: "Request export" }).dblclick();
  await page.waitForURL(/#\/exports\/exp-/);
  const exportId = decodeURIComponent(page.url().split("#/exports/")[1]);
  result.export_id = exportId;
  await page.getByRole("link", { name: "Exports", exact: true }).click();
  const row = page.locator(`tr[data-export-id="${exportId}"]`);
  await row.waitFor();
  // Record the row's status text from now on, without reloading.
  await page.evaluate((id) => {
    window.__seen = [];
    const note = () => {
      const cell = document.querySelector(`tr[data-export-id="${id}"] .status`);
      const text = cell?.textContent.trim();
      if (text && window.__seen[window.__seen.length - 1] !== text) window.__seen.push(text);
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, exportId);
  const navigations = [];
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
  await row.getByRole("link", { name: "Download report", exact: true }).waitFor({ timeout: 120000 });
  result.statuses = await page.evaluate(() => window.__seen);
  result.reloads = navigations.filter((u) => !u.includes("#")).length;
  const rows = await page.locator("tbody tr").count();
  result.rows = rows;
  await shot(page, "exports");
  await axe(page, "exports-live");

  const save = async (name, link) => {
    const [dl] = await Promise.all([page.waitForEvent("download"), row.getByRole("link", { name: link }).click()]);
    const path = join(outDir, name);
    await dl.saveAs(path);
    return path;
  };
  result.report_path = await save("report.pdf", "Download report");
  result.bundle_path = await save("bundle.tar.gz", "Download sealed bundle");

  // The export's page: manifest and artifacts.
  await row.getByRole("link", { name: exportId }).click();
  await page.getByRole("heading", { name: "Manifest", exact: true }).waitFor();
  result.merkle_root = (await page.locator("dt:text('Merkle root') + dd").textContent()).trim();
  await shot(page, "export");
  await axe(page, "export");

  // Schedules: the preview, then create.
  await page.getByRole("link", { name: "Schedules", exact: true }).click();
  await page.getByLabel("Cron", { exact: true }).fill("30 8 * * 1-5");
  await page.getByLabel("Time zone", { exact: true }).fill("Europe/Berlin");
  await page.locator("#cron-preview li").nth(4).waitFor();
  result.preview = await page.locator("#cron-preview time").evaluateAll((ts) => ts.map((t) => t.getAttribute("datetime")));
  await page.getByLabel("Export format", { exact: true }).selectOption("pdf");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await page.getByRole("cell", { name: "30 8 * * 1-5", exact: true }).waitFor();
  await axe(page, "schedules");

  // Templates: a syntax error at its line and column.
  await page.getByRole("link", { name: "Templates", exact: true }).click();
  await page.getByLabel("Template format", { exact: true }).selectOption("csv");
  await page.getByLabel("Template source", { exact: true }).fill("id\n{% for f in findings %}{{ f.id }\n");
  await page.getByRole("button", { name: "Upload template format" }).click();
  const at = page.locator("#t-result strong");
  await at.waitFor();
  result.template_error_at = (await at.textContent()).trim();
  await axe(page, "templates");

  // Sign out clears the session.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Token", { exact: true }).waitFor();
  result.storage_after_sign_out = await page.evaluate(() => sessionStorage.length + localStorage.length);

  // Cancel, by keyboard alone: a queued export on the stack without workers.
  const idle = await newPage();
  await signIn(idle, idleBase, idleToken);
  await tabTo(idle, "A", "Scans");
  await idle.keyboard.press("Enter");
  await tabTo(idle, "INPUT", "upload");
  const [chooser] = await Promise.all([idle.waitForEvent("filechooser"), idle.keyboard.press("Space")]);
  await chooser.setFiles(scanFile);
  await idle.locator("li.notice code").first().waitFor();
  await tabTo(idle, "A", "New export");
  await idle.keyboard.press("Enter");
  await idle.getByLabel(scanId, { exact: true }).waitFor();
  await tabTo(idle, "INPUT", scanId);
  await idle.keyboard.press("Space");
  await tabTo(idle, "BUTTON", "Request export");
  await idle.keyboard.press("Enter");
  await idle.waitForURL(/#\/exports\/exp-/);
  result.cancelled_id = decodeURIComponent(idle.url().split("#/exports/")[1]);
  await idle.getByRole("button", { name: "Cancel export", exact: true }).waitFor();
  await tabTo(idle, "BUTTON", "Cancel export");
  await idle.keyboard.press("Enter");
  await idle.locator(".status", { hasText: "cancelled" }).first().waitFor();
} catch (e) {
  fail(`${e.name}: ${e.message}`);
}
await browser.close();
console.log(JSON.stringify(result));
process.exit(result.problems.length ? 1 : 0);

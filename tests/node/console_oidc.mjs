// The Console's sign-in through an OpenID Connect provider (tests/python/oidc_provider.py
// on loopback): "Sign in with the identity provider" leaves for its authorization endpoint
// with a PKCE challenge, comes back with a code, trades it (with the verifier) for a token,
// and the Console then works with that token: a real scan uploaded, its receipt shown.
// Prints one JSON line; exits non-zero on failure.
//
// Usage: node console_oidc.mjs BASE SCAN_FILE

import { chromium } from "playwright-core";

const [base, scanFile] = process.argv.slice(2);
const result = { problems: [] };
const browser = await chromium.launch({
  executablePath: process.env.EC_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (e) => result.problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) result.problems.push(`CSP: ${m.text()}`);
  });
  await page.goto(`${base}/`);
  await page.getByRole("button", { name: "Sign in with the identity provider" }).click();
  await page.getByRole("heading", { name: "Exports", exact: true }).waitFor();
  result.url_after = page.url();
  result.tenant = (await page.locator(".who strong").textContent()).trim();
  await page.getByRole("link", { name: "Scans", exact: true }).click();
  await page.getByLabel("Upload scans", { exact: true }).setInputFiles(scanFile);
  const receipt = page.locator("li.notice code").first();
  await receipt.waitFor();
  result.scan_id = (await receipt.textContent()).trim();
  result.stored = await page.evaluate(() => Object.keys(sessionStorage));
} catch (e) {
  result.problems.push(`${e.name}: ${e.message}`);
}
await browser.close();
console.log(JSON.stringify(result));
process.exit(result.problems.length ? 1 : 0);

// Loads the server's Swagger UI in headless Chromium (Debian's, driven by playwright-core) and prints what
// it rendered, as JSON: the title, the tags, and every operation (method, path, summary) by tag.
//
//   node swagger-ui.mjs URL SCREENSHOT.png
//
// With TRY_OPERATIONS (a comma-separated list of operationIds, e.g. handlers.calls.list_json) and
// API_USER/API_PASSWORD, it then does what a new user does first with each: expand it, "Try it out",
// "Execute" with what the form holds, and reports the HTTP status the page shows ("tried": {id: status}).
//
// Run by tests/live_contract/test_swagger_ui.py. Only loopback addresses are let through: anything else
// the page or the browser asks for is aborted and reported in "blocked" (this machine has no internet,
// and a test must not reach beyond it).

import { chromium } from "playwright-core";

const [url, screenshot] = process.argv.slice(2);
if (!url) {
  console.error("usage: node swagger-ui.mjs URL [SCREENSHOT.png]");
  process.exit(2);
}

const LOOPBACK = /^(https?|wss?):\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//;
const blocked = [];
const consoleErrors = [];

// playwright gives the browser a fresh profile (--user-data-dir) of its own for every launch.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  timeout: 30000,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  // The API answers 401 with a Basic challenge; the browser answers it with these, as a user typing them would.
  const httpCredentials = process.env.API_USER
    ? { username: process.env.API_USER, password: process.env.API_PASSWORD ?? "" }
    : undefined;
  const context = await browser.newContext({ viewport: { width: 1280, height: 2000 }, httpCredentials });
  const page = await context.newPage();
  await page.route("**/*", (route) => {
    const requested = route.request().url();
    if (LOOPBACK.test(requested) || requested.startsWith("data:")) return route.continue();
    blocked.push(requested);
    return route.abort();
  });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  await page.goto(url, { waitUntil: "load", timeout: 20000 });
  // Swagger UI fetches openapi.json, then renders one section per tag, operations listed (collapsed).
  await page.waitForSelector(".opblock-tag-section .opblock", { timeout: 20000 });
  const rendered = await page.evaluate(() => ({
    title: document.querySelector(".info .title")?.textContent?.trim() ?? null,
    tags: Array.from(document.querySelectorAll(".opblock-tag-section"), (section) => ({
      name: section.querySelector(".opblock-tag")?.getAttribute("data-tag") ?? null,
      operations: Array.from(section.querySelectorAll(".opblock"), (block) => ({
        method: block.querySelector(".opblock-summary-method")?.textContent?.trim() ?? null,
        path: block.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? null,
        summary: block.querySelector(".opblock-summary-description")?.textContent?.trim() ?? null,
      })),
    })),
  }));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: false });
  const tried = {};
  for (const operationId of (process.env.TRY_OPERATIONS ?? "").split(",").filter(Boolean)) {
    // Swagger UI's id of an operation's block: operations-<tag>-<operationId>, with its dots backslashed.
    const selector = await page.evaluate((suffix) => {
      const found = Array.from(document.querySelectorAll(".opblock")).find((b) => b.id.endsWith(suffix));
      return found ? "#" + CSS.escape(found.id) : null;
    }, "-" + operationId.replaceAll(".", "\\."));
    if (!selector) throw new Error(`no operation ${operationId} on the page`);
    const block = page.locator(selector);
    await block.locator(".opblock-summary").first().click();
    await block.locator(".try-out__btn").click();
    await block.locator(".execute").click();
    const status = block.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor({ timeout: 15000 });
    tried[operationId] = (await status.textContent()).trim();
  }
  console.log(JSON.stringify({ ...rendered, tried, blocked, consoleErrors }));
} finally {
  await browser.close();
}

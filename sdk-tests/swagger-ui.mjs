// Loads the server's Swagger UI in headless Chromium (Debian's, driven by playwright-core) and prints what
// it rendered, as JSON: the title, the tags, and every operation (method, path, summary) by tag.
//
//   node swagger-ui.mjs URL SCREENSHOT.png
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
  const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
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
  console.log(JSON.stringify({ ...rendered, blocked, consoleErrors }));
} finally {
  await browser.close();
}

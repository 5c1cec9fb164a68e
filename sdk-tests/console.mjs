// Drives the server's console (/restcomm/console/) in headless Chromium (Debian's, through playwright-core) as a
// person watching calls would: log in, wait for a live call to appear without reloading, open it, hang it up,
// see it end. Talks to its test over stdin/stdout:
//
//   node console.mjs CONSOLE_URL SCREENSHOT.png      (API_USER and API_PASSWORD in the environment)
//
// prints "READY" once logged in with the live-calls page showing, then waits for the test to create a call;
// at the end prints one JSON line: what it saw. Run by tests/calls/test_console.py. Only loopback addresses are
// let through; anything else is aborted and reported in "blocked".

import { chromium } from "playwright-core";

const [url, screenshot] = process.argv.slice(2);
const LOOPBACK = /^(https?|wss?):\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//;
const blocked = [];
const consoleErrors = [];
const result = { blocked, consoleErrors };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  timeout: 30000,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await page.route("**/*", (route) => {
    const requested = route.request().url();
    if (LOOPBACK.test(requested) || requested.startsWith("data:") || requested.startsWith("blob:")) {
      return route.continue();
    }
    blocked.push(requested);
    return route.abort();
  });
  page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  await page.goto(url, { waitUntil: "load", timeout: 20000 });

  // A wrong password first: the page says so and stays on the form.
  await page.fill("input[name=user]", process.env.API_USER);
  await page.fill("input[name=secret]", "not-the-password");
  await page.click("form#login button[type=submit]");
  await page.waitForFunction(() => document.getElementById("login-error").textContent.length > 0, null,
                             { timeout: 10000 });
  result.loginError = await page.textContent("#login-error");

  await page.fill("input[name=secret]", process.env.API_PASSWORD);
  await page.click("form#login button[type=submit]");
  await page.waitForSelector("section#live", { timeout: 15000 });
  result.before = await page.locator("section#live tbody tr").count();
  console.log("READY");

  // The test creates a call now; it must appear by itself (the page polls the API), no reload.
  const row = page.locator("section#live tbody tr").first();
  await row.waitFor({ timeout: 30000 });
  await page.locator("section#live tbody tr .status[data-status=in-progress]").first().waitFor({ timeout: 30000 });
  result.seen = await row.getAttribute("data-sid");
  result.reloads = await page.evaluate(() => performance.getEntriesByType("navigation").length);
  if (screenshot) await page.screenshot({ path: screenshot, clip: { x: 0, y: 0, width: 1280, height: 300 } });

  // Open it: its page shows the call and, in its timeline, the RCML request the server made (Call Events).
  await row.locator("a").first().click();
  await page.waitForSelector(`section#call[data-sid="${result.seen}"]`, { timeout: 15000 });
  await page.waitForFunction(() => [...document.querySelectorAll(".timeline li")]
    .some((item) => item.textContent.includes("rcml")), null, { timeout: 15000 });
  result.liveStatus = await page.getAttribute("section#call .status", "data-status");

  await page.click("section#call button[data-action=hangup]");
  await page.waitForSelector("section#call .status[data-status=completed]", { timeout: 15000 });
  result.ended = await page.getAttribute("section#call .status", "data-status");
  // Its SIP story is in the timeline too (Calls/{CallSid}/SipMessages), with the status changes it made. Wait for
  // the answer to the BYE, the story's last message: the server stores SIP messages in batches (every 0.25 s),
  // so the BYE can be on the page a refresh before its 200 OK.
  await page.waitForFunction(() => [...document.querySelectorAll(".timeline li[data-kind=sip] .what")]
    .some((item) => item.textContent.startsWith("SIP ← 200 OK (BYE)")), null, { timeout: 15000 });
  result.timeline = await page.locator(".timeline li").allTextContents();
  result.timelineLines = await page.locator(".timeline li .what").allTextContents();
  result.timelineKinds = await page.locator(".timeline li").evaluateAll((items) => items.map((i) => i.dataset.kind));
  result.hangupButtons = await page.locator("section#call button[data-action=hangup]").count();

  // The call log has it, and its filters are the API's: busy calls (none), then completed ones (this one).
  await page.click("nav a[href='#/calls']");
  const logged = page.locator(`table.calls tr[data-sid="${result.seen}"]`);
  await logged.waitFor({ timeout: 15000 });
  result.logStatus = await logged.locator(".status").getAttribute("data-status");
  await page.selectOption("form.filters select[name=Status]", "busy");
  await page.click("form.filters button[type=submit]");
  await page.waitForSelector("section .empty", { timeout: 15000 });
  result.busyRows = await page.locator("table.calls tbody tr").count();
  await page.selectOption("form.filters select[name=Status]", "completed");
  await page.click("form.filters button[type=submit]");
  await logged.waitFor({ timeout: 15000 });
  result.completedRows = await page.locator("table.calls tbody tr").count();

  await page.click("nav a[href='#/errors']");
  await page.waitForSelector("text=Recent errors and warnings", { timeout: 15000 });
  await page.click("nav a[href='#/conferences']");
  await page.waitForSelector("text=Conference rooms (0)", { timeout: 15000 });
  result.otherPages = "ok";

  // The test puts two participants (sipp) in a room now: it appears by itself; mute one, remove the other.
  console.log("ROOMS");
  const participants = page.locator("div.room tbody tr");
  await page.waitForFunction(() => document.querySelectorAll("div.room tbody tr").length === 2, null,
                             { timeout: 30000 });
  const [muted, removed] = await participants.evaluateAll((rows) => rows.map((row) => row.dataset.callSid));
  const rowOf = (sid) => `div.room tr[data-call-sid="${sid}"]`;
  await page.click(`${rowOf(muted)} button[data-action=mute]`);
  await page.waitForSelector(`${rowOf(muted)} td.muted:has-text("muted")`, { timeout: 15000 });
  result.muteButtonAfter = await page.textContent(`${rowOf(muted)} button[data-action=mute]`);
  await page.click(`${rowOf(removed)} button[data-action=remove]`);
  await page.waitForFunction((sid) => !document.querySelector(`div.room tr[data-call-sid="${sid}"]`), removed,
                             { timeout: 15000 });
  Object.assign(result, { muted, removed, roomRowsAfter: await participants.count() });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

// The console: a few pages to watch and debug calls, made only of the public API's requests (openapi.yaml).
// No build step: a module the browser runs as it is. The credentials stay in this tab's sessionStorage and
// go with each request as HTTP Basic, as any API client sends them.

const API = "/restcomm/2012-04-24";
const LIVE = ["queued", "ringing", "in-progress"];
const REFRESH_MS = 1000;
const main = document.getElementById("main");
const loginForm = document.getElementById("login");
let session = JSON.parse(sessionStorage.getItem("console") || "null");
let timer = null;

// --- the API ------------------------------------------------------------------------------------------------

async function api(path, { method = "GET", form = null } = {}) {
  const url = path.startsWith("/restcomm/") ? path : API + path;
  const headers = { Authorization: "Basic " + btoa(`${session.user}:${session.secret}`) };
  let body;
  if (form) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  }
  // credentials "omit": a refused login shows our message, not the browser's own password dialog.
  const response = await fetch(url, { method, headers, body, credentials: "omit" });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.message || `HTTP ${response.status}`);
  return data;
}

async function accountsInScope() {
  // The account and every sub-account, at any depth (a bare array, as RestComm answers it).
  return api("/Accounts.json?PageSize=100");
}

// --- helpers --------------------------------------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
// A timeline's times to the millisecond: SIP messages follow each other within a few.
const whenPrecise = (iso) => (iso ? `${new Date(iso).toLocaleTimeString()}.${iso.slice(20, 23)}` : "");
const status = (value) => h("span", { class: `status ${value}`, "data-status": value }, value);
const callLink = (call) => h("a", { href: `#/call/${call.account_sid}/${call.sid}` }, call.sid);

function show(...content) {
  main.replaceChildren(...content);
}

function fail(error) {
  show(h("p", { class: "error", role: "alert" }, String(error.message || error)));
}

async function hangUp(call) {
  await api(`/Accounts/${call.account_sid}/Calls/${call.sid}.json`, { method: "POST", form: { Status: "completed" } });
}

async function redirect(call) {
  const url = prompt("Redirect the call to this RCML URL:");
  if (url) await api(`/Accounts/${call.account_sid}/Calls/${call.sid}.json`, { method: "POST", form: { Url: url } });
}

function callRow(call, { actions = true } = {}) {
  return h("tr", { "data-sid": call.sid },
    h("td", { class: "sid" }, callLink(call)),
    h("td", {}, status(call.status)),
    h("td", {}, call.direction),
    h("td", {}, call.from),
    h("td", {}, call.to),
    h("td", {}, when(call.start_time)),
    h("td", {}, call.duration ?? ""),
    actions ? h("td", {},
      h("button", { class: "danger", "data-action": "hangup", onclick: () => hangUp(call).catch(alert) }, "Hang up"),
      " ",
      h("button", { class: "secondary", "data-action": "redirect", onclick: () => redirect(call).catch(alert) },
        "Redirect")) : h("td"));
}

function callTable(calls, options) {
  return h("table", { class: "calls" },
    h("thead", {}, h("tr", {}, ["Call", "Status", "Direction", "From", "To", "Started", "Duration", ""]
      .map((name) => h("th", {}, name)))),
    h("tbody", {}, calls.map((call) => callRow(call, options))));
}

// --- pages ------------------------------------------------------------------------------------------------------

async function livePage() {
  const accounts = await accountsInScope();
  const lists = await Promise.all(accounts.flatMap((account) => LIVE.map((state) =>
    api(`/Accounts/${account.sid}/Calls.json?Status=${state}&PageSize=100`))));
  const calls = lists.flatMap((list) => list.calls)
    .sort((a, b) => (a.date_created < b.date_created ? 1 : -1));
  show(h("section", { class: "card", id: "live" },
    h("h2", {}, `Live calls (${calls.length})`),
    calls.length ? callTable(calls) : h("p", { class: "empty" }, "No live call."),
    h("p", { class: "empty" }, `${accounts.length} account(s); updated ${new Date().toLocaleTimeString()}`)));
}

async function callLogPage(query) {
  const params = new URLSearchParams(query);
  const account = params.get("account") || session.account;
  params.delete("account");
  for (const [name, value] of [...params]) if (!value) params.delete(name);
  if (!params.has("PageSize")) params.set("PageSize", "20");
  const page = query.startsWith("/restcomm/") ? await api(query)
    : await api(`/Accounts/${account}/Calls.json?${params}`);
  const filters = h("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    location.hash = "#/calls?" + new URLSearchParams(new FormData(event.target)).toString();
  } },
    h("label", {}, "To", h("input", { name: "To", value: params.get("To") || "" })),
    h("label", {}, "From", h("input", { name: "From", value: params.get("From") || "" })),
    h("label", {}, "Status", h("select", { name: "Status" }, ["", ...LIVE, "completed", "busy", "failed", "no-answer",
      "canceled"].map((value) => h("option", { value, selected: params.get("Status") === value }, value || "any")))),
    h("label", {}, "Started on or after", h("input", { name: "StartTime>", type: "date",
      value: params.get("StartTime>") || "" })),
    h("button", { type: "submit" }, "Filter"));
  const paging = h("p", {},
    page.previous_page_uri ? h("a", { href: "#/calls?" + page.previous_page_uri }, "← newer") : "",
    ` page ${page.page + 1} of ${Math.max(page.num_pages, 1)} (${page.total} calls) `,
    page.next_page_uri ? h("a", { href: "#/calls?" + page.next_page_uri }, "older →") : "");
  show(h("section", { class: "card" }, h("h2", {}, "Call log"), filters,
    page.calls.length ? callTable(page.calls, { actions: false }) : h("p", { class: "empty" }, "No call."), paging));
}

async function recordingPlayer(recording) {
  // An <audio> element cannot send credentials: the WAV is fetched with them and played from memory.
  const response = await fetch(`${API}/Accounts/${recording.account_sid}/Recordings/${recording.sid}.wav`,
    { headers: { Authorization: "Basic " + btoa(`${session.user}:${session.secret}`) }, credentials: "omit" });
  const source = URL.createObjectURL(await response.blob());
  return h("audio", { controls: true, src: source, "data-recording": recording.sid });
}

// A SIP message as a timeline line: "→ INVITE to 127.0.0.1:5070" or "← 180 Ringing (INVITE) from ...".
function sipItem(message) {
  const arrow = message.direction === "sent" ? "→" : "←";
  const where = message.direction === "sent" ? `to ${message.peer}` : `from ${message.peer}`;
  const what = message.status_code === null ? message.method
    : `${message.status_code} ${message.reason ?? ""} (${message.method})`;
  // A challenge (401/407) is part of a digest exchange; other 4xx-6xx say why something failed.
  const failed = message.status_code >= 400 && ![401, 407].includes(message.status_code);
  return { at: message.date_created, kind: "sip", sid: message.sid, error: failed,
    text: `SIP ${arrow} ${what} ${where}`, detail: message.summary };
}

// The call's status changes, as its record and its SIP messages tell them: created (queued, or ringing for an
// inbound call), ringing at the first 180/183 to an outbound call's INVITE, in-progress at the 2xx answering
// the INVITE (received for an outbound call, sent for an inbound one), the final status at its end.
function createdItem(call) {
  const first = call.direction === "inbound" ? "ringing" : "queued";
  return { at: call.date_created, kind: "status",
    text: `status: ${first} (created, ${call.direction}, from ${call.from} to ${call.to})` };
}

function laterStatusItems(call, messages) {
  const inbound = call.direction === "inbound";
  const items = [];
  const answers = messages.filter((m) => m.method === "INVITE" && m.status_code !== null
    && m.direction === (inbound ? "sent" : "received"));
  const ringing = answers.find((m) => m.status_code === 180 || m.status_code === 183);
  if (ringing && !inbound) {
    items.push({ at: ringing.date_created, seq: messages.indexOf(ringing) + 1.5, kind: "status", text: "status: ringing" });
  }
  const answered = answers.find((m) => m.status_code >= 200 && m.status_code < 300);
  if (answered) {
    items.push({ at: answered.date_created, seq: messages.indexOf(answered) + 1.5, kind: "status",
      text: "status: in-progress (answered)" });
  }
  if (call.end_time) {
    items.push({ at: call.end_time, seq: messages.length + 1, kind: "status", text: `ended: ${call.status} after ${call.duration ?? 0} s` });
  }
  return items;
}

// The messages a reader opened stay open when the page of a live call refreshes.
const opened = new Set();

function sipDetails(item) {
  return h("details", { open: opened.has(item.sid), ontoggle: (event) => {
    if (event.target.open) opened.add(item.sid); else opened.delete(item.sid);
  } }, h("summary", {}, "message"), h("pre", {}, item.detail));
}

async function callPage(accountSid, callSid) {
  const base = `/Accounts/${accountSid}/Calls/${callSid}`;
  const [call, events, notifications, recordings, legs, sip] = await Promise.all([
    api(`${base}.json`), api(`${base}/Events.json?PageSize=100`), api(`${base}/Notifications.json?PageSize=100`),
    api(`${base}/Recordings.json?PageSize=100`), api(`/Accounts/${accountSid}/Calls.json?ParentCallSid=${callSid}`),
    api(`${base}/SipMessages.json?PageSize=500`)]);
  // The lists are newest first; the timeline reads oldest first (ties keep the wire order).
  const messages = [...sip.sip_messages].reverse();
  // `seq` orders items of the same millisecond: a status change right after the SIP message it came from (a
  // 180 and a 200 OK can share one), webhooks and notifications after the SIP story.
  const items = [{ ...createdItem(call), seq: 0 }, ...messages.map((m, i) => ({ ...sipItem(m), seq: i + 1 })),
    ...laterStatusItems(call, messages)];
  const later = messages.length + 2;
  for (const event of events.events) {
    const { request, response } = event;
    const answer = response.error ? `failed: ${response.error}`
      : `${response.response_code} in ${response.request_duration} ms`;
    items.push({ at: event.date_created, seq: later, kind: "webhook",
      error: Boolean(response.error) || response.response_code >= 400,
      text: `${event.kind}: ${request.method} ${request.url} → ${answer}`, detail: response.response_body });
  }
  for (const notification of notifications.notifications) {
    items.push({ at: notification.date_created, seq: later, kind: "notification", error: notification.log === 0,
      text: `notification ${notification.error_code}: ${notification.message_text}` });
  }
  // Stable for equal `seq`: webhooks and notifications of one millisecond keep the order above.
  items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.seq - b.seq));
  const players = await Promise.all(recordings.recordings.map(recordingPlayer));
  const live = LIVE.includes(call.status);
  show(h("section", { class: "card", id: "call", "data-sid": call.sid },
    h("h2", {}, "Call ", h("span", { class: "sid" }, call.sid), " ", status(call.status)),
    live ? h("p", {},
      h("button", { class: "danger", "data-action": "hangup", onclick: () => hangUp(call).then(route).catch(alert) },
        "Hang up"), " ",
      h("button", { class: "secondary", "data-action": "redirect", onclick: () => redirect(call).catch(alert) },
        "Redirect")) : "",
    h("p", {}, `${call.direction}, from ${call.from} to ${call.to}, started ${when(call.start_time)}`,
      call.parent_call_sid ? h("span", {}, "; parent ",
        h("a", { href: `#/call/${accountSid}/${call.parent_call_sid}` }, call.parent_call_sid)) : ""),
    h("h3", {}, "Timeline"),
    h("ol", { class: "timeline" }, items.map((item) => h("li",
      { class: [item.kind, item.error ? "error" : ""].join(" ").trim(), "data-kind": item.kind },
      h("time", { datetime: item.at }, whenPrecise(item.at)), h("span", { class: "what" }, item.text),
      item.detail ? (item.kind === "sip" ? sipDetails(item) : h("pre", {}, item.detail)) : null))),
    legs.calls.length ? [h("h3", {}, "Legs"), callTable(legs.calls, { actions: false })] : "",
    players.length ? [h("h3", {}, "Recordings"), ...players] : ""));
  return live;
}

function participantRow(room, path, participant) {
  const item = `${path}/${participant.call_sid}.json`;
  const mute = () => api(item, { method: "POST", form: { Mute: String(!participant.muted) } }).then(route);
  const remove = () => api(item, { method: "DELETE" }).then(route);
  return h("tr", { "data-call-sid": participant.call_sid },
    h("td", { class: "sid" }, h("a", { href: `#/call/${room.account_sid}/${participant.call_sid}` },
      participant.call_sid)),
    h("td", { class: "muted" }, participant.muted ? "muted" : ""),
    h("td", {},
      h("button", { class: "secondary", "data-action": "mute", onclick: () => mute().catch(alert) },
        participant.muted ? "Unmute" : "Mute"), " ",
      h("button", { class: "danger", "data-action": "remove", onclick: () => remove().catch(alert) }, "Remove")));
}

async function conferencesPage() {
  const accounts = await accountsInScope();
  const lists = await Promise.all(accounts.map((account) =>
    api(`/Accounts/${account.sid}/Conferences.json?Status=in-progress&PageSize=100`)));
  const rooms = lists.flatMap((list) => list.conferences);
  const sections = await Promise.all(rooms.map(async (room) => {
    const path = `/Accounts/${room.account_sid}/Conferences/${room.sid}/Participants`;
    const { participants } = await api(`${path}.json`);
    return h("div", { class: "room", "data-sid": room.sid }, h("h3", {}, room.friendly_name),
      h("table", {}, h("tbody", {}, participants.map((participant) => participantRow(room, path, participant)))));
  }));
  show(h("section", { class: "card" }, h("h2", {}, `Conference rooms (${rooms.length})`),
    sections.length ? sections : h("p", { class: "empty" }, "No room in progress.")));
}

async function errorsPage() {
  const { notifications } = await api(`/Accounts/${session.account}/Notifications.json?PageSize=50`);
  show(h("section", { class: "card" }, h("h2", {}, "Recent errors and warnings"),
    notifications.length ? h("table", {}, h("tbody", {}, notifications.map((n) => h("tr", {},
      h("td", {}, when(n.date_created)), h("td", {}, n.log === 0 ? "error" : "warning"), h("td", {}, n.error_code),
      h("td", {}, n.message_text),
      h("td", { class: "sid" }, n.call_sid ? h("a", { href: `#/call/${n.account_sid}/${n.call_sid}` }, n.call_sid)
        : ""))))) : h("p", { class: "empty" }, "Nothing went wrong.")));
}

// --- routing: the page named by the URL's fragment, refreshed while it shows something live ----------------------

async function route() {
  clearTimeout(timer);
  if (!session) {
    document.getElementById("nav").hidden = true;
    show(loginForm);
    return;
  }
  const hash = location.hash.slice(1) || "/live";
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("current", hash.startsWith(link.getAttribute("href").slice(1)));
  }
  let again = false;
  try {
    if (hash.startsWith("/calls")) await callLogPage(hash.slice("/calls?".length));
    else if (hash.startsWith("/call/")) again = await callPage(...hash.slice("/call/".length).split("/"));
    else if (hash.startsWith("/conferences")) { await conferencesPage(); again = true; }
    else if (hash.startsWith("/errors")) await errorsPage();
    else { await livePage(); again = true; }
  } catch (error) {
    fail(error);
    again = true;
  }
  if (again) timer = setTimeout(route, REFRESH_MS);
}

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(loginForm);
  session = { user: data.get("user").trim(), secret: data.get("secret") };
  try {
    const accounts = await accountsInScope();
    // The first account of the list is the one logged in (the list is the account and its sub-accounts).
    const own = accounts.find((a) => a.sid === session.user || a.email_address === session.user.toLowerCase())
      ?? accounts[0];
    session.account = own.sid;
    sessionStorage.setItem("console", JSON.stringify(session));
    document.getElementById("who").textContent = own.email_address;
    document.getElementById("nav").hidden = false;
    location.hash = "#/live";
    route();
  } catch (error) {
    session = null;
    document.getElementById("login-error").textContent = "Log in failed: " + error.message;
  }
});

document.getElementById("logout").addEventListener("click", () => {
  sessionStorage.removeItem("console");
  session = null;
  route();
});

window.addEventListener("hashchange", route);
if (session) {
  document.getElementById("nav").hidden = false;
  document.getElementById("who").textContent = session.user;
}
route();

// The TypeScript SDK that @hey-api/openapi-ts generates from openapi.yaml, used against a running server.
//
// Run by tests/live_contract/test_typescript_sdk.py, which generates the SDK into sdk-tests/generated/
// (never committed, never edited), type-checks this file against it with tsc, then runs it with tsx.
// The scenario is that of tests/live_contract/sdk_scenario.py: as the administrator create a sub-account;
// as the sub-account create a client, make three calls (two to the unregistered client, one to a sipp
// UAS), list the calls from one number a page of one at a time following next_page_uri (AfterSid), get
// the answered call until it is in progress, and complete it. Settings come from the environment.

import assert from "node:assert/strict";

import {
  handlersAccountsCreateJson,
  handlersCallsCreateJson,
  handlersCallsFetchJson,
  handlersCallsListJson,
  handlersCallsModifyJson,
  handlersClientsCreateJson,
} from "../generated/restcomm-sdk";
import type { Call, CallStatus } from "../generated/restcomm-sdk";
import { createClient } from "../generated/restcomm-sdk/client";

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const base = setting("RESTCOMM_BASE"); // http://127.0.0.1:PORT
const adminSid = setting("RESTCOMM_ADMIN_SID");
const adminToken = setting("RESTCOMM_ADMIN_TOKEN");
const sipTarget = setting("RESTCOMM_SIP_TARGET"); // sip:uas@127.0.0.1:PORT, a sipp UAS that answers
const FROM = "+15550001";
const OTHER_FROM = "+15550002";
const demoUrl = `${base}/restcomm/demos/hello-play.xml`; // plays 6.7 s: time enough to complete the call

const api = `${base}/restcomm/2012-04-24`;
const admin = createClient({ baseUrl: api, auth: `${adminSid}:${adminToken}` });

async function main(): Promise<void> {
  const created = await handlersAccountsCreateJson({
    client: admin,
    body: { EmailAddress: "sdk-typescript@example.com", Password: "sdk-typescript-secret-1", FriendlyName: "SDK" },
  });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  const account = created.data!;
  assert.equal(account.parent_sid, adminSid);
  assert.ok(account.auth_token);

  // Everything else as the sub-account, with the credentials the SDK got back.
  const sub = createClient({ baseUrl: api, auth: `${account.sid}:${account.auth_token}` });
  const path = { AccountSid: account.sid };

  const made = await handlersClientsCreateJson({
    client: sub, path, body: { Login: "sdk-typescript-alice", Password: "sdk-secret-1234" },
  });
  assert.equal(made.response.status, 201, JSON.stringify(made.error));
  const login = made.data!.login;
  assert.equal(made.data!.account_sid, account.sid);

  async function call(from: string, to: string): Promise<Call> {
    const response = await handlersCallsCreateJson({ client: sub, path, body: { From: from, To: to, Url: demoUrl } });
    assert.equal(response.response.status, 200, JSON.stringify(response.error));
    assert.equal(response.data!.status, "queued");
    return response.data!;
  }
  const first = await call(FROM, `client:${login}`);
  await call(OTHER_FROM, `client:${login}`);
  const answered = await call(FROM, sipTarget);

  // Calls from FROM, one a page, newest first; the second page is the one next_page_uri names.
  const listed = await handlersCallsListJson({ client: sub, path, query: { From: FROM, PageSize: 1 } });
  assert.equal(listed.response.status, 200, JSON.stringify(listed.error));
  const page = listed.data!;
  assert.deepEqual([page.total, page.num_pages, page.calls.map((c) => c.sid)], [2, 2, [answered.sid]]);
  assert.ok(page.next_page_uri);
  const next = new URL(page.next_page_uri, base).searchParams;
  assert.equal(next.get("AfterSid"), answered.sid);
  assert.equal(next.get("From"), FROM);
  const second = await handlersCallsListJson({
    client: sub, path,
    query: { From: next.get("From")!, Page: Number(next.get("Page")), PageSize: Number(next.get("PageSize")),
             AfterSid: next.get("AfterSid")! },
  });
  assert.equal(second.response.status, 200, JSON.stringify(second.error));
  assert.deepEqual(second.data!.calls.map((c) => c.sid), [first.sid]);
  assert.equal(second.data!.next_page_uri, null);

  // The range filters, sent as RestComm's `StartTime>=`/`StartTime<=` keys (form-exploded objects in the spec).
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const ranged = await handlersCallsListJson({
    client: sub, path,
    query: { From: FROM, StartTimeOnOrAfter: { "StartTime>": day(-1) }, StartTimeOnOrBefore: { "StartTime<": day(1) } },
  });
  assert.equal(ranged.response.status, 200, JSON.stringify(ranged.error));
  assert.equal(ranged.data!.total, 2);
  const before = await handlersCallsListJson({
    client: sub, path, query: { From: FROM, StartTimeOnOrBefore: { "StartTime<": day(-1) } },
  });
  assert.equal(before.response.status, 200, JSON.stringify(before.error));
  assert.equal(before.data!.total, 0);

  // The answered call, once sipp has answered it, then completed.
  const live = await waitForStatus(account.sid, answered.sid, sub, "in-progress");
  assert.equal(live.to, "uas");
  assert.equal(live.from, FROM);
  const hungUp = await handlersCallsModifyJson({
    client: sub, path: { AccountSid: account.sid, CallSid: answered.sid }, body: { Status: "completed" },
  });
  assert.equal(hungUp.response.status, 200, JSON.stringify(hungUp.error));
  assert.equal(hungUp.data!.status, "completed");
  console.log(JSON.stringify({ account: account.sid, calls: [first.sid, answered.sid], completed: answered.sid }));
}

async function waitForStatus(accountSid: string, callSid: string, client: typeof admin,
                             wanted: CallStatus, deadlineMs = 15000): Promise<Call> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const got = await handlersCallsFetchJson({ client, path: { AccountSid: accountSid, CallSid: callSid } });
    assert.equal(got.response.status, 200, JSON.stringify(got.error));
    if (got.data!.status === wanted || Date.now() > deadline) {
      assert.equal(got.data!.status, wanted);
      return got.data!;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

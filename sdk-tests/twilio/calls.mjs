// twilio-node against this server: the one change a Twilio user makes is the API domain's base URL.
// Creates a call to TWILIO_TEST_TO running TWILIO_TEST_URL, fetches it until it is answered, lists calls one
// per page, redirects it to TWILIO_TEST_REDIRECT, hangs it up, and prints what it saw as one JSON line.
import twilio from "twilio";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const client = twilio(env("TWILIO_ACCOUNT_SID"), env("TWILIO_AUTH_TOKEN"));
client.api.baseUrl = env("TWILIO_TEST_BASE");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(sid, status) {
  for (let i = 0; i < 200; i++) {
    const call = await client.calls(sid).fetch();
    if (call.status === status) return call;
    await sleep(50);
  }
  throw new Error(`call ${sid} never reached ${status}`);
}

const created = await client.calls.create({ to: env("TWILIO_TEST_TO"), from: "+16175551212", url: env("TWILIO_TEST_URL") });
const answered = await until(created.sid, "in-progress");
const listed = await client.calls.list({ pageSize: 1, limit: 3 });
const redirected = await client.calls(created.sid).update({ url: env("TWILIO_TEST_REDIRECT"), method: "POST" });
await client.calls(created.sid).update({ status: "completed" });
const ended = await until(created.sid, "completed");
let notFound = null;
try {
  await client.calls("CA" + "0".repeat(32)).fetch();
} catch (error) {
  notFound = { status: error.status, code: error.code };
}
console.log(JSON.stringify({
  sid: created.sid,
  createdStatus: created.status,
  dateCreatedIsDate: created.dateCreated instanceof Date && !Number.isNaN(created.dateCreated.getTime()),
  answeredStatus: answered.status,
  listed: listed.map((call) => call.sid),
  redirectedStatus: redirected.status,
  endedStatus: ended.status,
  duration: ended.duration,
  notFound,
}));

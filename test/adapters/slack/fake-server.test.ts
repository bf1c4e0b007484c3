import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SlackServer, startSlackServer } from "../../fakes/slack-server.ts";

let slack: SlackServer;

beforeAll(async () => {
  slack = await startSlackServer();
});
afterAll(async () => {
  await slack?.close();
});

async function call(method: string, body: string, contentType: string, token: string | null = slack.token) {
  const headers: Record<string, string> = { "content-type": contentType };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${slack.apiUrl}${method}`, { method: "POST", headers, body });
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: (await res.json()) as Record<string, unknown>,
  };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = "application/x-www-form-urlencoded";

describe("fake Slack Web API", () => {
  it("reads form bodies with JSON-encoded blocks, and JSON bodies", async () => {
    const blocks = [{ type: "section", text: { type: "mrkdwn", text: "hi" } }];
    const a = await call(
      "chat.postMessage",
      form({ channel: "C1", text: "hi", blocks: JSON.stringify(blocks) }),
      FORM,
    );
    const b = await call(
      "chat.postMessage",
      JSON.stringify({ channel: "C1", text: "json", thread_ts: a.body.ts }),
      "application/json; charset=utf-8",
    );
    expect(a.body).toMatchObject({ ok: true, channel: "C1" });
    expect(b.body.ok).toBe(true);
    expect(slack.callsOf("chat.postMessage")[0]?.args.blocks).toEqual(blocks);
    expect(slack.thread("C1", a.body.ts as string).map((m) => m.text)).toEqual(["hi", "json"]);
    expect((b.body.ts as string) > (a.body.ts as string)).toBe(true);
  });

  it("answers like Slack for bad auth, unknown methods and invalid blocks", async () => {
    expect((await call("auth.test", "", FORM, null)).body).toEqual({ ok: false, error: "not_authed" });
    expect((await call("auth.test", "", FORM, "xoxb-wrong")).body).toEqual({
      ok: false,
      error: "invalid_auth",
    });
    expect((await call("auth.test", "", FORM)).body).toMatchObject({
      ok: true,
      user_id: slack.botUserId,
      bot_id: slack.botId,
    });
    expect((await call("chat.nope", "", FORM)).body).toEqual({ ok: false, error: "unknown_method" });
    const tooLong = JSON.stringify([{ type: "section", text: { type: "mrkdwn", text: "x".repeat(3001) } }]);
    expect((await call("chat.postMessage", form({ channel: "C1", blocks: tooLong }), FORM)).body.error).toBe(
      "invalid_blocks",
    );
    expect((await call("chat.delete", form({ channel: "C1", ts: "1.2" }), FORM)).body.error).toBe(
      "message_not_found",
    );
  });

  it("takes sections of fields and headers within Slack's limits, and refuses them past", async () => {
    const post = async (blocks: unknown[]) =>
      (await call("chat.postMessage", form({ channel: "C1", blocks: JSON.stringify(blocks) }), FORM)).body;
    const field = (text: string) => ({ type: "mrkdwn", text });
    const header = (text: string) => ({ type: "header", text: { type: "plain_text", text } });
    expect(
      await post([header("Digest"), { type: "section", fields: [field("*a*\n1"), field("*b*\n2")] }]),
    ).toMatchObject({
      ok: true,
    });
    for (const bad of [
      [{ type: "section", fields: Array.from({ length: 11 }, () => field("x")) }],
      [{ type: "section", fields: [field("x".repeat(2001))] }],
      [{ type: "section", fields: [] }],
      [{ type: "section" }],
      [header("x".repeat(151))],
      [{ type: "header", text: field("mrkdwn is not allowed") }],
    ])
      expect((await post(bad)).error).toBe("invalid_blocks");
  });

  it("limits chat.postMessage per channel with a burst, answering 429 with Retry-After", async () => {
    slack.setPostRate({ perSecond: 1, burst: 2 });
    const statuses: (number | string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await call("chat.postMessage", form({ channel: "C2", text: `m${i}` }), FORM);
      statuses.push(r.status, r.retryAfter);
    }
    // Another channel has its own allowance.
    const other = await call("chat.postMessage", form({ channel: "C3", text: "x" }), FORM);
    slack.setPostRate(undefined);
    expect(statuses).toEqual([200, null, 200, null, 429, "1"]);
    expect(other.status).toBe(200);
  });

  it("injects faults for the next calls", async () => {
    slack.failNext(2, { status: 500 });
    slack.failNext(1, { status: 429, retryAfter: 3, method: "users.info" });
    expect((await call("auth.test", "", FORM)).status).toBe(500);
    const limited = await call("users.info", form({ user: "U1" }), FORM);
    expect([limited.status, limited.retryAfter]).toEqual([429, "3"]);
    expect((await call("auth.test", "", FORM)).status).toBe(500);
    expect((await call("auth.test", "", FORM)).status).toBe(200);
  });

  it("serves files only with the bot token", async () => {
    slack.addFile({ id: "F1", name: "a.txt", mimetype: "text/plain", content: "hello" });
    const info = await call("files.info", form({ file: "F1" }), FORM);
    const url = (info.body.file as { url_private_download: string }).url_private_download;
    const anonymous = await fetch(url);
    expect(anonymous.headers.get("content-type")).toBe("text/html");
    await anonymous.body?.cancel();
    const authed = await fetch(url, { headers: { authorization: `Bearer ${slack.token}` } });
    expect(await authed.text()).toBe("hello");
  });
});

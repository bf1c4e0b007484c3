// The fake Slack's direct messages and external uploads, driven by the real WebClient: what
// files.uploadV2 sends must land, with its bytes, where it was shared.

import { WebAPIPlatformError, WebClient } from "@slack/web-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SlackServer, startSlackServer } from "./slack-server.ts";

let slack: SlackServer;
let client: WebClient;
const ANA = { id: "U0ANA", name: "ana" };
const BO = { id: "U0BO", name: "bo" };

beforeEach(async () => {
  slack = await startSlackServer({ users: [ANA, BO] });
  client = new WebClient(slack.token, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterEach(async () => {
  await slack.close();
});

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => (err instanceof WebAPIPlatformError ? err.data.error : String(err)),
  );

describe("conversations.open", () => {
  it("opens one DM per person and gives it again, with the bot as the other member", async () => {
    const first = await client.conversations.open({ users: ANA.id });
    const again = await client.conversations.open({ users: ANA.id });
    const other = await client.conversations.open({ users: BO.id });
    expect(first.channel?.id).toMatch(/^D/);
    expect(again).toMatchObject({ already_open: true, channel: { id: first.channel?.id } });
    expect(other.channel?.id).not.toBe(first.channel?.id);
    expect(slack.directMessage(first.channel?.id ?? "")).toEqual([ANA.id, slack.botUserId].sort());
  });

  it("refuses no user and an unknown user", async () => {
    expect(await errorOf(client.conversations.open({ users: "" }))).toBe("users_list_not_supplied");
    expect(await errorOf(client.conversations.open({ users: "U0NOBODY" }))).toBe("user_not_found");
  });
});

describe("files.uploadV2", () => {
  it("goes through the three steps and records the bytes, the DM and the comment", async () => {
    const dm = (await client.conversations.open({ users: ANA.id })).channel?.id as string;
    const content = JSON.stringify({ café: "crème" }, null, 2);
    await client.files.uploadV2({
      channel_id: dm,
      filename: "export.json",
      file: Buffer.from(content),
      initial_comment: "your export",
    });
    expect(slack.calls.map((c) => c.method)).toEqual([
      "conversations.open",
      "files.getUploadURLExternal",
      "files.completeUploadExternal",
    ]);
    expect(slack.uploads).toEqual([
      expect.objectContaining({
        name: "export.json",
        mimetype: "application/json",
        channel: dm,
        initialComment: "your export",
        declaredLength: Buffer.byteLength(content),
      }),
    ]);
    expect(slack.uploads[0]?.bytes.toString("utf8")).toBe(content);
    // Shared as a message of the DM, and known to files.info afterwards.
    const ts = slack.uploads[0]?.ts as string;
    expect(slack.message(dm, ts)).toMatchObject({ text: "your export", files: [{ name: "export.json" }] });
    const info = await client.files.info({ file: slack.uploads[0]?.id as string });
    expect(info.file).toMatchObject({ name: "export.json", size: Buffer.byteLength(content) });
  });

  it("takes raw bytes at the upload URL too, and shares nothing whose bytes never came", async () => {
    const step1 = await client.files.getUploadURLExternal({ filename: "a.txt", length: 3 });
    const lost = await client.files.getUploadURLExternal({ filename: "b.txt", length: 3 });
    const res = await fetch(step1.upload_url as string, { method: "POST", body: "abc" });
    expect([res.status, await res.text()]).toEqual([200, "OK - 3"]);
    const dm = (await client.conversations.open({ users: BO.id })).channel?.id as string;
    expect(
      await errorOf(
        client.files.completeUploadExternal({ files: [{ id: lost.file_id as string }], channel_id: dm }),
      ),
    ).toBe("file_not_found");
    await client.files.completeUploadExternal({ files: [{ id: step1.file_id as string }], channel_id: dm });
    expect(slack.uploads.map((u) => [u.name, u.bytes.toString(), u.channel])).toEqual([["a.txt", "abc", dm]]);
  });

  it("refuses a DM that was never opened, and calls without the scope", async () => {
    const upload = client.files.uploadV2({ channel_id: "D0NEVER", filename: "x.json", content: "{}" });
    expect(await errorOf(upload)).toBe("channel_not_found");
    slack.revokeScopes(["files:write"]);
    const refused = client.files.uploadV2({ channel_id: "C1", filename: "x.json", content: "{}" });
    expect(await errorOf(refused)).toBe("missing_scope");
    expect(slack.uploads).toEqual([]);
  });
});

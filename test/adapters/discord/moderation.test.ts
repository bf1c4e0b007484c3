// Comment moderation from `/ig` on Discord, in the channel of the comment's account or any of its
// threads (another account's channel is refused: test/security/discord-ig-scope.test.ts): hide,
// unhide, reply, delete (admins), comments off and on, by link or id, each reaching the fake Graph
// API, told in the thread and audited. A comment removed on Instagram turns its mirrored reply
// into a removed post here too.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCommandManifest } from "../../../adapters/discord/commands.ts";
import {
  ADMIN,
  AGENT,
  type DiscordHarness,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../../helpers/discord-bridge.ts";
import { changesSince, postLink } from "../../helpers/moderation.ts";
import { waitFor } from "../../helpers/service.ts";
import { commentWebhook, postWebhook } from "../../helpers/webhook.ts";

let h: DiscordHarness;

beforeAll(async () => {
  h = await startDiscordHarness();
});

afterAll(async () => {
  await h?.close();
});

type Option = { name: string; type: number; value: string };
const target = (value: string): Option => ({ name: "target", type: 3, value });

/** `/ig <sub>` in `channel`: the ephemeral answer (direct for a parse error, else the deferred edit). */
async function ig(channel: string, sub: string, options: Option[], user = AGENT.id): Promise<string> {
  const interaction = await h.discord.slashCommand(channel, "ig", [{ name: sub, type: 1, options }], user);
  const first = await interaction.waitForResponse();
  if (first.type === 4) return String(first.data.content ?? "");
  const [, edited] = await interaction.waitForResponses(2, 10_000);
  return String(edited?.data.content ?? "");
}

async function comment(id: string, media: string, parentId?: string): Promise<void> {
  const res = await postWebhook(
    h.url(),
    commentWebhook(TEXT_ACCOUNT, {
      id,
      text: `comment ${id}`,
      from: { id: "1234567890123401", username: "jane" },
      mediaId: media,
      ...(parentId ? { parentId } : {}),
    }),
  );
  expect(res.status).toBe(200);
}

const threadSays = (thread: string, text: string) =>
  waitFor(
    async () => (h.discord.messages(thread).some((m) => m.content.includes(text)) ? true : undefined),
    10_000,
    `“${text}” in ${thread}`,
  );

describe("/ig comment moderation on Discord", () => {
  it("hides, unhides, replies and (admins) deletes by link or id, from its channel or its thread", async () => {
    const media = "17900000000000401";
    const root = "17850000000000401";
    await comment(root, media);
    const thread = await h.commentThreadOf(root);
    const before = h.graph.requests.length;

    expect(await ig(TEXT_CHANNEL, "hide", [target(`${postLink(media)}c/${root}/`)])).toMatch(
      /hid the comment/,
    );
    expect(await ig(thread, "unhide", [target(root)])).toMatch(/unhid the comment/);
    expect(
      await ig(thread, "reply", [target(root), { name: "text", type: 3, value: "Thanks,\nsee you soon!" }]),
    ).toMatch(/replied publicly/);
    expect(await ig(TEXT_CHANNEL, "delete", [target(root)])).toMatch(/Only admins may delete comments/);
    expect(await ig(TEXT_CHANNEL, "delete", [target(root)], ADMIN.id)).toMatch(/deleted the comment/);

    expect(changesSince(h.graph, before)).toEqual([
      { method: "POST", path: `/v25.0/${root}`, query: { hide: "true" }, body: undefined },
      { method: "POST", path: `/v25.0/${root}`, query: { hide: "false" }, body: undefined },
      {
        method: "POST",
        path: `/v25.0/${root}/replies`,
        query: {},
        body: { message: "Thanks,\nsee you soon!" },
      },
      { method: "DELETE", path: `/v25.0/${root}`, query: {}, body: undefined },
    ]);
    for (const said of ["hid the comment", "unhid the comment", "replied publicly", "deleted the comment"])
      await threadSays(thread, said);
    const { rows } = await h.service.db.query<{ action: string; actor_id: string }>(
      "SELECT action, actor_id FROM audit_log WHERE target = $1 ORDER BY id",
      [`comment:${root}`],
    );
    expect(rows).toEqual([
      { action: "comment_hide", actor_id: `discord:${AGENT.id}` },
      { action: "comment_unhide", actor_id: `discord:${AGENT.id}` },
      { action: "comment_reply_public", actor_id: `discord:${AGENT.id}` },
      { action: "refused", actor_id: `discord:${AGENT.id}` },
      { action: "comment_delete", actor_id: `discord:${ADMIN.id}` },
    ]);
  });

  it("turns comments off by post link and on by media id, and says so in the post's thread", async () => {
    const media = "17900000000000402";
    const root = "17850000000000402";
    await comment(root, media);
    const thread = await h.commentThreadOf(root);
    const before = h.graph.requests.length;
    expect(await ig(TEXT_CHANNEL, "comments-off", [target(postLink(media))])).toMatch(/turned comments off/);
    expect(await ig(thread, "comments-on", [target(media)])).toMatch(/turned comments on/);
    expect(changesSince(h.graph, before)).toEqual([
      { method: "POST", path: `/v25.0/${media}`, query: { comment_enabled: "false" }, body: undefined },
      { method: "POST", path: `/v25.0/${media}`, query: { comment_enabled: "true" }, body: undefined },
    ]);
    await threadSays(thread, "turned comments off");
    await threadSays(thread, "turned comments on");
    const { rows } = await h.service.db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE target = $1 ORDER BY id",
      [`media:${media}`],
    );
    expect(rows.map((r) => r.action)).toEqual(["media_comments_disabled", "media_comments_enabled"]);
  });

  it("answers bad arguments and unknown targets clearly, without calling Instagram", async () => {
    const before = h.graph.requests.length;
    expect(await ig(TEXT_CHANNEL, "hide", [target("nonsense")])).toMatch(/is not a comment link or id/);
    expect(await ig(TEXT_CHANNEL, "hide", [])).toMatch(/needs a target: a comment link or id/);
    expect(await ig(TEXT_CHANNEL, "reply", [target("17850000000000401")])).toMatch(
      /needs the public reply's text/,
    );
    expect(await ig(TEXT_CHANNEL, "comments-off", [target("https://example.com/p/x/")])).toMatch(
      /is not a post link or media id/,
    );
    expect(await ig(TEXT_CHANNEL, "hide", [target("17850000000099999")])).toMatch(/No mirrored comment/);
    expect(await ig(TEXT_CHANNEL, "comments-on", [target("https://www.instagram.com/reel/Nope1/")])).toMatch(
      /No mirrored comment is on the post/,
    );
    expect(changesSince(h.graph, before)).toEqual([]);
  });

  it("registers each moderation subcommand with a required target (and text for reply)", async () => {
    const [command] = await readCommandManifest();
    const options = (
      command as { options: Array<{ name: string; options?: Array<{ name: string; required?: boolean }> }> }
    ).options;
    for (const name of ["hide", "unhide", "delete", "reply", "comments-off", "comments-on"]) {
      const sub = options.find((o) => o.name === name);
      const wanted = name === "reply" ? ["target", "text"] : ["target"];
      expect(
        sub?.options?.map((o) => [o.name, o.required]),
        name,
      ).toEqual(wanted.map((w) => [w, true]));
    }
  });

  it("lists the moderation commands in /ig help", async () => {
    const help = await ig(TEXT_CHANNEL, "help", []);
    for (const usage of [
      "/ig hide target",
      "/ig delete target",
      "/ig reply target text",
      "/ig comments-off target",
    ])
      expect(help).toContain(usage);
  });

  it("turns a reply removed on Instagram into a removed post", async () => {
    const media = "17900000000000403";
    const root = "17850000000000403";
    const reply = "17850000000000404";
    await comment(root, media);
    await comment(reply, media, root);
    const thread = await h.commentThreadOf(root);
    const [mirrored] = await h.posts(thread, 1);
    expect(mirrored?.content).toContain(`comment ${reply}`);
    await postWebhook(h.url(), {
      object: "instagram",
      entry: [
        {
          id: TEXT_ACCOUNT,
          time: Date.now(),
          changes: [{ field: "comments", value: { verb: "remove", id: reply, parent_id: root } }],
        },
      ],
    });
    const updated = await waitFor(async () => {
      const m = h.discord.message(thread, mirrored?.id ?? "");
      return m && !m.content.includes(`comment ${reply}`) ? m : undefined;
    });
    expect(updated.content).toContain("message removed");
    expect(updated.content).toContain("comment deleted on Instagram");
  });
});

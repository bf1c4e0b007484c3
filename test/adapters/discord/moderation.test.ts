// `/ig` comment moderation as Discord takes it (the rest runs on every platform:
// test/contract/moderation.test.ts): named options, so a reply keeps its line breaks; each
// subcommand registered with its required options; the help in Discord's words.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCommandManifest } from "../../../adapters/discord/commands.ts";
import {
  AGENT,
  type DiscordHarness,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../../helpers/discord-bridge.ts";
import { changesSince } from "../../helpers/moderation.ts";
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

async function comment(id: string, media: string): Promise<void> {
  const res = await postWebhook(
    h.url(),
    commentWebhook(TEXT_ACCOUNT, {
      id,
      text: `comment ${id}`,
      from: { id: "1234567890123401", username: "jane" },
      mediaId: media,
    }),
  );
  expect(res.status).toBe(200);
}

describe("/ig comment moderation on Discord", () => {
  it("keeps the line breaks of a reply's text, from a comment's thread", async () => {
    const media = "17900000000000401";
    const root = "17850000000000401";
    await comment(root, media);
    const thread = await h.commentThreadOf(root);
    const before = h.graph.requests.length;
    expect(
      await ig(thread, "reply", [target(root), { name: "text", type: 3, value: "Thanks,\nsee you soon!" }]),
    ).toMatch(/replied publicly/);
    expect(changesSince(h.graph, before)).toEqual([
      {
        method: "POST",
        path: `/v25.0/${root}/replies`,
        query: {},
        body: { message: "Thanks,\nsee you soon!" },
      },
    ]);
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
});

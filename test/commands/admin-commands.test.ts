// A command marked `admin` in the registry is refused to everyone else, and one not marked is not:
// the mark in the help and the check in the action say the same thing. Every command Slack's /ig
// offers is run with example arguments by an agent who is not an admin.

import { afterAll, beforeAll, expect, it } from "vitest";
import { SLASH } from "../../adapters/slack/ig-command.ts";
import { target } from "../../src/commands/args.ts";
import { COMMANDS } from "../../src/commands/catalog.ts";
import { ACCOUNT, AGENT, type BridgeHarness, startBridgeHarness } from "../helpers/bridge.ts";
import { commentWebhook, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

it("refuses exactly the admin commands to an agent who is not an admin", async () => {
  // The comment and post the examples name are mirrored here, so no command stops short of its
  // admin check for want of a target.
  const comment = target("comment").example;
  const from = { id: "1234567890123401", username: "jane" };
  await postWebhook(
    h.url(),
    commentWebhook(ACCOUNT, { id: comment, text: "hi", from, mediaId: target("post").example }),
  );
  await h.commentRootOf(comment);
  const refused: string[] = [];
  let n = 0;
  for (const command of COMMANDS.offered(SLASH)) {
    const text = [command.name, ...Object.values(command.args).map((a) => a.example)].join(" ");
    const answer = await h.command(text, AGENT, `admin-${n++}`);
    if (/^Only admins may /.test(answer)) refused.push(command.name);
  }
  expect(refused).toEqual(
    COMMANDS.offered(SLASH)
      .filter((c) => c.admin)
      .map((c) => c.name),
  );
  expect(refused).toEqual(expect.arrayContaining(["delete", "pause", "forget", "export", "rules enable"]));
});

// Moderation typed in a comment thread: !hide, !unhide, !reply, and !delete for admins only; each
// reaches the Graph API, shows in the thread and the root, and is audited (refusals too).

import { afterAll, beforeAll, expect, it } from "vitest";
import { ACCOUNT, ADMIN, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { waitFor } from "../helpers/service.ts";
import { postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

it("hides, unhides, replies and (as an admin) deletes a comment from text commands", async () => {
  const root = "17850000000000501";
  await postWebhook(h.url(), {
    object: "instagram",
    entry: [
      {
        id: ACCOUNT,
        time: Date.now(),
        changes: [
          {
            field: "comments",
            value: {
              id: root,
              text: "rude words",
              from: { id: "1234567890123401", username: "troll" },
              media: { id: "17900000000000001" },
            },
          },
        ],
      },
    ],
  });
  const thread = await h.commentRootOf(root);
  const said = (text: string) =>
    waitFor(async () =>
      h.slack.thread(CHANNEL, thread).some((m) => m.text?.includes(text)) ? true : undefined,
    );
  const graphSaw = (check: (r: { method: string; path: string; query: Record<string, string> }) => boolean) =>
    waitFor(async () => (h.graph.requests.some(check) ? true : undefined));

  await h.agentSays(thread, "!hide");
  await graphSaw((r) => r.path.endsWith(`/${root}`) && r.query.hide === "true");
  await said("hid the comment");
  await h.agentSays(thread, "!unhide");
  await graphSaw((r) => r.path.endsWith(`/${root}`) && r.query.hide === "false");
  await h.agentSays(thread, "!reply Please keep it friendly.");
  await graphSaw((r) => r.method === "POST" && r.path.endsWith(`/${root}/replies`));
  await said("replied publicly");

  await h.agentSays(thread, "!delete");
  await said("Only admins may delete comments");
  expect(h.graph.requests.some((r) => r.method === "DELETE")).toBe(false);
  await h.agentSays(thread, "!delete", {}, ADMIN.id);
  await graphSaw((r) => r.method === "DELETE" && r.path.endsWith(`/${root}`));
  await said("deleted the comment");

  const { rows } = await h.service.db.query<{ action: string }>(
    "SELECT action FROM audit_log WHERE target = $1 ORDER BY id",
    [`comment:${root}`],
  );
  expect(rows.map((r) => r.action)).toEqual([
    "comment_hide",
    "comment_unhide",
    "comment_reply_public",
    "refused",
    "comment_delete",
  ]);
  const { rows: gone } = await h.service.db.query<{ deleted_at: Date | null }>(
    "SELECT deleted_at FROM comment_threads WHERE root_comment_id = $1",
    [root],
  );
  expect(gone[0]?.deleted_at).not.toBeNull();
});

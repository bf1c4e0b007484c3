// Comment moderation from chat on every platform: `/ig` hide, unhide, reply, delete (admins),
// comments off and on for a post, by link or id, in the channel (and in a thread where the
// platform runs `/ig` there), and `!hide`… typed in a comment's thread. Each reaches the fake
// Graph API with the documented call, shows in the comment threads and is audited; bad arguments
// and unknown targets get a clear answer and no call. A comment removed on Instagram
// (`verb: "remove"`) is erased from storage and from the mirror, and no rule fires on it. How each
// platform types its arguments and words its help: test/adapters/<name>/moderation.test.ts.

import { describe, expect, it } from "vitest";
import type { DomainEvent } from "../../src/instagram/events.ts";
import { parseWebhook } from "../../src/instagram/webhook.ts";
import { createLogger } from "../../src/log/logger.ts";
import { RulesEngine } from "../../src/rules/engine.ts";
import { parseRuleFile } from "../../src/rules/load.ts";
import { auditTrail } from "../helpers/conversation-state.ts";
import { changesSince, postLink } from "../helpers/moderation.ts";
import { waitFor } from "../helpers/service.ts";
import { commentWebhook, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import type { ChatHarness, ChatPerson } from "./harness.ts";
import { saying, threadSays } from "./scenario.ts";

forEachPlatform(
  "comment moderation",
  (h) => {
    /** `/ig name` in the channel (or `in`): the answer only the asker sees. */
    const ig = async (name: string, args: Record<string, string> = {}, as?: ChatPerson, where?: string) =>
      (await h.command(name, args, { ...(as ? { as } : {}), ...(where ? { in: where } : {}) })).text;
    /** A thread where the platform runs `/ig`, else the channel. */
    const from = (thread: string) => (h.commandsInThreads ? thread : h.channel);

    async function comment(
      id: string,
      media: string,
      opts: { parentId?: string; text?: string; time?: number } = {},
    ): Promise<void> {
      const res = await postWebhook(
        h.url(),
        commentWebhook(
          h.account,
          {
            id,
            text: opts.text ?? `comment ${id}`,
            from: { id: "1234567890123401", username: "jane" },
            mediaId: media,
            ...(opts.parentId ? { parentId: opts.parentId } : {}),
          },
          opts.time ?? Date.now(),
        ),
      );
      expect(res.status).toBe(200);
    }

    const removal = (value: Record<string, unknown>) => ({
      object: "instagram",
      entry: [{ id: h.account, time: Date.now(), changes: [{ field: "comments", value }] }],
    });

    const audit = (target: string) => auditTrail(h.service.db, target);

    describe("/ig comment moderation", () => {
      it("hides, unhides and replies publicly by comment link or id; the thread says who did what", async () => {
        const media = "17900000000000201";
        const root = "17850000000000201";
        await comment(root, media);
        const thread = await h.commentThreadOf(root);
        const before = h.graph.requests.length;

        expect(await ig("hide", { target: `https://www.instagram.com/p/Px000201/c/${root}/` })).toMatch(
          /hid the comment/,
        );
        expect(await ig("unhide", { target: root }, h.agent, from(thread))).toMatch(/unhid the comment/);
        expect(
          await ig(
            "reply",
            { target: `${postLink(media)}c/${root}/`, text: "Thanks, we love it!" },
            h.agent,
            from(thread),
          ),
        ).toMatch(/replied publicly/);

        expect(changesSince(h.graph, before)).toEqual([
          { method: "POST", path: `/v25.0/${root}`, query: { hide: "true" }, body: undefined },
          { method: "POST", path: `/v25.0/${root}`, query: { hide: "false" }, body: undefined },
          {
            method: "POST",
            path: `/v25.0/${root}/replies`,
            query: {},
            body: { message: "Thanks, we love it!" },
          },
        ]);
        await threadSays(h, thread, "hid the comment");
        await threadSays(h, thread, "unhid the comment");
        await threadSays(h, thread, "replied publicly");
        expect(await audit(`comment:${root}`)).toEqual([
          ["comment_hide", h.key(h.agent)],
          ["comment_unhide", h.key(h.agent)],
          ["comment_reply_public", h.key(h.agent)],
        ]);
      });

      it("acts on a reply named by its own link (…/c/<comment>/r/<reply>/), answering under its top-level comment", async () => {
        const media = "17900000000000202";
        const root = "17850000000000202";
        const reply = "17850000000000203";
        await comment(root, media);
        await comment(reply, media, { parentId: root });
        const thread = await h.commentThreadOf(root);
        await h.posts(thread, 1);
        const before = h.graph.requests.length;
        expect(await ig("hide", { target: `${postLink(media)}c/${root}/r/${reply}/` })).toMatch(
          /hid the comment/,
        );
        expect(
          await ig("reply", { target: `${postLink(media)}c/${root}/r/${reply}/`, text: "Noted!" }),
        ).toMatch(/replied publicly/);
        expect(changesSince(h.graph, before)).toEqual([
          { method: "POST", path: `/v25.0/${reply}`, query: { hide: "true" }, body: undefined },
          // Instagram takes public replies under the top-level comment only.
          { method: "POST", path: `/v25.0/${root}/replies`, query: {}, body: { message: "Noted!" } },
        ]);
      });

      it("moderates only the accounts mirrored in the channel it is asked in", async () => {
        const media = "17900000000000209";
        const root = "17850000000000209";
        await comment(root, media);
        await h.commentThreadOf(root);
        const before = h.graph.requests.length;
        expect(await ig("hide", { target: root }, h.agent, h.otherChannel)).toMatch(
          /threads are in another channel/,
        );
        expect(await ig("comments-off", { target: media }, h.agent, h.otherChannel)).toMatch(
          /threads are in another channel/,
        );
        expect(changesSince(h.graph, before)).toEqual([]);
      });

      it("lets only admins delete: a refusal is audited and makes no call", async () => {
        const media = "17900000000000204";
        const root = "17850000000000204";
        await comment(root, media);
        const thread = await h.commentThreadOf(root);
        const before = h.graph.requests.length;

        expect(await ig("delete", { target: root })).toMatch(/Only admins may delete comments/);
        expect(changesSince(h.graph, before)).toEqual([]);
        expect(await ig("delete", { target: `${postLink(media)}c/${root}/` }, h.admin)).toMatch(
          /deleted the comment/,
        );
        expect(changesSince(h.graph, before)).toEqual([
          { method: "DELETE", path: `/v25.0/${root}`, query: {}, body: undefined },
        ]);
        await threadSays(h, thread, "deleted the comment on Instagram");
        expect(await audit(`comment:${root}`)).toEqual([
          ["refused", h.key(h.agent)],
          ["comment_delete", h.key(h.admin)],
        ]);
      });

      it("turns comments off by post link and on by media id, telling the post's three latest threads", async () => {
        const media = "17900000000000205";
        const roots = ["17850000000000205", "17850000000000206", "17850000000000207", "17850000000000208"];
        const t0 = Date.now() - 60_000;
        for (const [i, root] of roots.entries()) await comment(root, media, { time: t0 + i * 1_000 });
        const threads = await Promise.all(roots.map((r) => h.commentThreadOf(r)));
        const before = h.graph.requests.length;

        const off = await ig("comments-off", { target: postLink(media) });
        expect(off).toMatch(/turned comments off for the post https:\/\/www\.instagram\.com\/p\/Px000205\//);
        const on = await ig("comments-on", { target: media }, h.agent, from(threads[3] as string));
        expect(on).toMatch(/turned comments on/);
        expect(changesSince(h.graph, before)).toEqual([
          { method: "POST", path: `/v25.0/${media}`, query: { comment_enabled: "false" }, body: undefined },
          { method: "POST", path: `/v25.0/${media}`, query: { comment_enabled: "true" }, body: undefined },
        ]);
        for (const thread of threads.slice(1)) {
          await threadSays(h, thread, "turned comments off");
          await threadSays(h, thread, "turned comments on");
        }
        expect(saying(h, threads[0] as string, "turned comments")).toEqual([]);
        expect(await audit(`media:${media}`)).toEqual([
          ["media_comments_disabled", h.key(h.agent)],
          ["media_comments_enabled", h.key(h.agent)],
        ]);
      });

      it("a reel link and a comment link name the post too", async () => {
        const media = "17900000000000209";
        const root = "17850000000000209";
        await comment(root, media);
        await h.commentThreadOf(root);
        const before = h.graph.requests.length;
        expect(await ig("comments-off", { target: "https://www.instagram.com/reel/Px000209/" })).toMatch(
          /turned comments off/,
        );
        expect(await ig("comments-on", { target: `${postLink(media)}c/${root}/` })).toMatch(
          /turned comments on/,
        );
        expect(changesSince(h.graph, before).map((r) => [r.path, r.query.comment_enabled])).toEqual([
          [`/v25.0/${media}`, "false"],
          [`/v25.0/${media}`, "true"],
        ]);
      });

      it("finds a post whose link Instagram did not give when its thread opened, by asking again", async () => {
        const media = "17900000000000212";
        const root = "17850000000000212";
        h.graph.script({ status: 400, body: { error: { message: "Unsupported get request", code: 100 } } });
        await comment(root, media);
        await h.commentThreadOf(root);
        // The scripted 400 must have answered the mirror's fetch, not the lookup below.
        expect(h.graph.requests.some((r) => r.method === "GET" && r.path === `/v25.0/${media}`)).toBe(true);
        const stored = async () => {
          const { rows } = await h.service.db.query<{ media: { permalink?: string } | null }>(
            "SELECT media FROM comment_threads WHERE root_comment_id = $1",
            [root],
          );
          return rows[0]?.media;
        };
        expect(await stored()).toBeNull();
        const before = h.graph.requests.length;
        expect(await ig("comments-off", { target: postLink(media) })).toMatch(/turned comments off/);
        expect(
          h.graph.requests.slice(before).map((r) => [r.method, r.path, r.query.comment_enabled]),
        ).toContainEqual(["POST", `/v25.0/${media}`, "false"]);
        expect((await stored())?.permalink).toBe(postLink(media));
      });

      it("answers bad arguments and unknown comments or posts clearly, without calling Instagram", async () => {
        const media = "17900000000000210";
        const root = "17850000000000210";
        await comment(root, media);
        await h.commentThreadOf(root);
        const before = h.graph.requests.length;

        const cases: Array<[string, Record<string, string>, RegExp]> = [
          ["hide", {}, /`hide` needs a target: a comment link or id/],
          ["hide", { target: "not-a-link" }, /`not-a-link` is not a comment link or id/],
          ["reply", { target: root }, /`reply` needs the public reply's text/],
          ["comments-off", {}, /`comments-off` needs a target: a post link or media id/],
          ["comments-on", { target: "https://example.com/p/x/" }, /is not a post link or media id/],
          ["hide", { target: "17850000000099999" }, /No mirrored comment 17850000000099999/],
          ["hide", { target: postLink(media) }, /the link of a post, not of one of its comments/],
          ["unhide", { target: media }, new RegExp(`${media} is a post's media id, not a comment`)],
          [
            "comments-off",
            { target: "https://www.instagram.com/p/Nope123/" },
            /No mirrored comment is on the post …\/p\/Nope123\//,
          ],
          [
            "comments-on",
            { target: "https://www.instagram.com/reel/Nope1/" },
            /No mirrored comment is on the post/,
          ],
          [
            "comments-off",
            { target: "17900000009999999" },
            /No mirrored comment is on media 17900000009999999/,
          ],
          ["comments-off", { target: root }, new RegExp(`${root} is a comment, not a post`)],
        ];
        for (const [name, args, answer] of cases)
          expect(await ig(name, args), `${name} ${JSON.stringify(args)}`).toMatch(answer);
        expect(changesSince(h.graph, before)).toEqual([]);
      });

      it("refuses live media: no comments switch, no moderation of its comments", async () => {
        const media = "17900000000000211";
        const root = "17850000000000211";
        const live = commentWebhook(h.account, {
          id: root,
          text: "hello live",
          from: { id: "1234567890123402", username: "viewer" },
          mediaId: media,
        });
        for (const c of live.entry[0]?.changes ?? []) c.field = "live_comments";
        await postWebhook(h.url(), live);
        await h.commentThreadOf(root);
        const before = h.graph.requests.length;
        expect(await ig("comments-off", { target: media })).toMatch(
          /does not allow turning comments off on live media/,
        );
        expect(await ig("hide", { target: root })).toMatch(/no moderation on a live broadcast's comments/);
        expect(changesSince(h.graph, before)).toEqual([]);
        expect(await audit(`media:${media}`)).toEqual([]);
      });
    });

    describe("! commands in a comment's thread", () => {
      it("hides, unhides, replies and (as an admin) deletes a comment from text commands", async () => {
        const root = "17850000000000501";
        await postWebhook(h.url(), {
          object: "instagram",
          entry: [
            {
              id: h.account,
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
        const thread = await h.commentThreadOf(root);
        const graphSaw = (
          check: (r: { method: string; path: string; query: Record<string, string> }) => boolean,
        ) => waitFor(async () => (h.graph.requests.some(check) ? true : undefined));
        const deletes = () => h.graph.requests.filter((r) => r.method === "DELETE").length;

        await h.agentSays(thread, "!hide");
        await graphSaw((r) => r.path.endsWith(`/${root}`) && r.query.hide === "true");
        await threadSays(h, thread, "hid the comment");
        await h.agentSays(thread, "!unhide");
        await graphSaw((r) => r.path.endsWith(`/${root}`) && r.query.hide === "false");
        await h.agentSays(thread, "!reply Please keep it friendly.");
        await graphSaw((r) => r.method === "POST" && r.path.endsWith(`/${root}/replies`));
        await threadSays(h, thread, "replied publicly");

        const deleted = deletes();
        await h.agentSays(thread, "!delete");
        await threadSays(h, thread, "Only admins may delete comments");
        expect(deletes()).toBe(deleted);
        await h.agentSays(thread, "!delete", { as: h.admin });
        await graphSaw((r) => r.method === "DELETE" && r.path.endsWith(`/${root}`));
        await threadSays(h, thread, "deleted the comment");

        expect((await audit(`comment:${root}`)).map(([action]) => action)).toEqual([
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
    });

    describe("a comment removed on Instagram (verb: remove)", () => {
      it("erases a reply's text and turns its chat copy into a removed post", async () => {
        const media = "17900000000000301";
        const root = "17850000000000301";
        const reply = "17850000000000302";
        await comment(root, media, { text: "what a post" });
        await comment(reply, media, { parentId: root, text: "my phone number is 555-0199" });
        const thread = await h.commentThreadOf(root);
        const [mirrored] = await h.posts(thread, 1);
        const id = mirrored?.id ?? "";
        expect(mirrored?.text).toContain("my phone number is 555-0199");

        const res = await postWebhook(
          h.url(),
          removal({ verb: "remove", id: reply, parent_id: root, media: { id: media } }),
        );
        expect(res.status).toBe(200);
        const gone = await waitFor(async () => {
          const { rows } = await h.service.db.query<{ text: string | null; deleted_at: Date | null }>(
            "SELECT text, deleted_at FROM messages WHERE account_id = $1 AND ig_message_id = $2",
            [h.account, reply],
          );
          return rows[0]?.deleted_at ? rows[0] : undefined;
        });
        expect(gone.text).toBeNull();
        const updated = await waitFor(async () => {
          const m = h.message(thread, id);
          return m?.edited && !m.shows.includes("555-0199") ? m : undefined;
        });
        expect(updated.shows).toContain("message removed");
        expect(updated.shows).toContain("comment deleted on Instagram");
        const { rows: thread_ } = await h.service.db.query<{ deleted_at: Date | null }>(
          "SELECT deleted_at FROM comment_threads WHERE root_comment_id = $1",
          [root],
        );
        expect(thread_[0]?.deleted_at).toBeNull();
      });

      it("marks the thread deleted when the top-level comment goes, and its root says so", async () => {
        const media = "17900000000000303";
        const root = "17850000000000303";
        await comment(root, media, { text: "call me at 555-0199" });
        const thread = await h.commentThreadOf(root);
        expect(h.root(thread)?.shows).toContain("call me at 555-0199");

        await postWebhook(h.url(), removal({ verb: "remove", id: root, media: { id: media } }));
        await waitFor(async () => {
          const { rows } = await h.service.db.query<{ deleted_at: Date | null }>(
            "SELECT deleted_at FROM comment_threads WHERE root_comment_id = $1",
            [root],
          );
          return rows[0]?.deleted_at ? true : undefined;
        });
        const { rows } = await h.service.db.query<{ text: string | null; deleted_at: Date | null }>(
          "SELECT text, deleted_at FROM messages WHERE ig_message_id = $1",
          [root],
        );
        expect(rows[0]?.text).toBeNull();
        expect(rows[0]?.deleted_at).not.toBeNull();
        await waitFor(async () => (h.root(thread)?.shows.includes("Deleted") ? true : undefined));
        // The number whole: a root on the web shows its time to the millisecond, which may hold "555".
        expect(h.root(thread)?.shows).not.toContain("555-0199");
      });

      it("a removal that arrives before its comment leaves a tombstone the comment cannot fill", async () => {
        const media = "17900000000000304";
        const root = "17850000000000304";
        const reply = "17850000000000305";
        await comment(root, media);
        const thread = await h.commentThreadOf(root);
        await postWebhook(
          h.url(),
          removal({ verb: "remove", id: reply, parent_id: root, media: { id: media } }),
        );
        await comment(reply, media, { parentId: root, text: "secret 555" });
        await waitFor(async () => {
          const { rows } = await h.service.db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM inbound_events WHERE dedupe_key IN ($1, $2) AND status = 'processed'",
            [`comment.removed:${reply}`, `comment:${reply}`],
          );
          return rows[0]?.n === 2 ? true : undefined;
        });
        const { rows } = await h.service.db.query<{ text: string | null; deleted_at: Date | null }>(
          "SELECT text, deleted_at FROM messages WHERE ig_message_id = $1",
          [reply],
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]?.text).toBeNull();
        expect(rows[0]?.deleted_at).not.toBeNull();
        expect(JSON.stringify(h.messages(thread))).not.toContain("secret 555");
      });

      it("another verb is stored as unknown and changes nothing", async () => {
        const media = "17900000000000306";
        const root = "17850000000000306";
        await comment(root, media, { text: "still here" });
        await h.commentThreadOf(root);
        const res = await postWebhook(
          h.url(),
          removal({
            verb: "edited",
            id: root,
            text: "changed",
            from: { id: "1234567890123401" },
            media: { id: media },
          }),
        );
        expect(res.status).toBe(200);
        const { rows: unknown } = await h.service.db.query<{ kind: string; event: DomainEvent }>(
          "SELECT kind, event FROM inbound_events WHERE account_id = $1 AND kind = 'unknown' ORDER BY id DESC LIMIT 1",
          [h.account],
        );
        expect(unknown[0]?.event).toMatchObject({ type: "unknown", field: "comments" });
        const { rows } = await h.service.db.query<{ text: string | null }>(
          "SELECT text FROM messages WHERE ig_message_id = $1",
          [root],
        );
        expect(rows[0]?.text).toBe("still here");
      });

      it("no rule fires on a removal, though the same rules fire on the comment", async () => {
        await expectNoRuleOnRemoval(h, removal);
      });
    });
  },
  // Moderation answers are not what is measured here: a generous platform limit keeps the
  // mirror's no-wait media fetch (maxWaitMs 0) from being deferred by the previous test's calls.
  { env: { IG_RATE_LIMITS: "platform=1000/1" } },
);

async function expectNoRuleOnRemoval(h: ChatHarness, removal: (value: Record<string, unknown>) => object) {
  const parsed = parseRuleFile(
    `version: 1
rules:
  - id: every-comment
    name: every comment
    account: "${h.account}"
    trigger: { type: comment_text, keywords: [hello] }
    actions:
      - type: hide_comment
`,
    "rules.yaml",
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const rules = { rules: parsed.file.rules };
  const dry = new RulesEngine({
    db: h.service.db,
    boss: undefined,
    gateway: undefined,
    adapters: new Map(),
    log: createLogger("silent"),
  });
  const eventOf = (body: object): DomainEvent => {
    const result = parseWebhook(body);
    if (!result.ok || !result.records[0]) throw new Error("not parsed");
    return result.records[0].event;
  };
  const value = {
    id: "17850000000000399",
    text: "hello",
    from: { id: "1234567890123403" },
    media: { id: "1790" },
  };
  const added = await dry.run(eventOf(removal(value)), undefined, { dryRun: true, rules });
  expect(added.map((d) => d.kind)).toEqual(["fire"]);
  const removed = await dry.run(eventOf(removal({ ...value, verb: "remove" })), undefined, {
    dryRun: true,
    rules,
  });
  expect(removed).toEqual([]);
}

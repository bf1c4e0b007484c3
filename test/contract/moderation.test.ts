// Comment moderation from `/ig` in a Slack channel (Slack runs no custom command in a thread, so
// comments and posts are named by link or id): hide, unhide, reply, delete (admins), comments off
// and on for a post. Each reaches the fake Graph API with the documented call, shows in the
// comment threads and is audited; bad arguments and unknown targets get a clear answer and no
// call. A comment removed on Instagram (`verb: "remove"`) is erased from storage and from the
// mirror, and no rule fires on it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainEvent } from "../../src/instagram/events.ts";
import { parseWebhook } from "../../src/instagram/webhook.ts";
import { createLogger } from "../../src/log/logger.ts";
import { RulesEngine } from "../../src/rules/engine.ts";
import { parseRuleFile } from "../../src/rules/load.ts";
import {
  ACCOUNT,
  ADMIN,
  AGENT,
  type BridgeHarness,
  CHANNEL,
  SECRET,
  startBridgeHarness,
} from "../helpers/bridge.ts";
import { changesSince, postLink } from "../helpers/moderation.ts";
import { waitFor } from "../helpers/service.ts";
import { postSlackCommand } from "../helpers/slack.ts";
import { commentWebhook, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
let asked = 0;

beforeAll(async () => {
  // Moderation answers are not what is measured here: a generous platform limit keeps the
  // mirror's no-wait media fetch (maxWaitMs 0) from being deferred by the previous test's calls.
  h = await startBridgeHarness({ IG_RATE_LIMITS: "platform=1000/1" });
});

afterAll(async () => {
  await h?.close();
});

/** `/ig <text>` in the channel: the answer only the asker sees (a parse error is the ack itself). */
async function ig(
  text: string,
  user: { id: string; name: string } = AGENT,
  channel: string = CHANNEL,
): Promise<string> {
  const id = `answer-${++asked}`;
  const res = await postSlackCommand(h.url(), SECRET, {
    command: "/ig",
    text,
    user_id: user.id,
    user_name: user.name,
    channel_id: channel,
    response_url: h.slack.responseUrl(id),
  });
  expect(res.status).toBe(200);
  const acked = res.body ? (JSON.parse(res.body) as { text?: string }).text : undefined;
  if (acked) return acked;
  return waitFor(
    async () => h.slack.responses.find((r) => r.id === id)?.body.text as string | undefined,
    10_000,
    `the answer to /ig ${text}`,
  );
}

async function comment(
  id: string,
  media: string,
  opts: { parentId?: string; text?: string; time?: number } = {},
): Promise<void> {
  const res = await postWebhook(
    h.url(),
    commentWebhook(
      ACCOUNT,
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

function removal(value: Record<string, unknown>) {
  return {
    object: "instagram",
    entry: [{ id: ACCOUNT, time: Date.now(), changes: [{ field: "comments", value }] }],
  };
}

const threadSays = (thread: string, text: string) =>
  waitFor(
    async () => (h.slack.thread(CHANNEL, thread).some((m) => m.text?.includes(text)) ? true : undefined),
    10_000,
    `“${text}” in ${thread}`,
  );

async function audit(target: string): Promise<Array<{ action: string; actor_id: string }>> {
  const { rows } = await h.service.db.query<{ action: string; actor_id: string }>(
    "SELECT action, actor_id FROM audit_log WHERE target = $1 ORDER BY id",
    [target],
  );
  return rows;
}

describe("/ig comment moderation on Slack", () => {
  it("hides, unhides and replies publicly by comment link or id; the thread says who did what", async () => {
    const media = "17900000000000201";
    const root = "17850000000000201";
    await comment(root, media);
    const thread = await h.commentRootOf(root);
    const before = h.graph.requests.length;

    expect(await ig(`hide https://www.instagram.com/p/Px000201/c/${root}/`)).toMatch(/hid the comment/);
    expect(await ig(`unhide ${root}`)).toMatch(/unhid the comment/);
    expect(await ig(`reply <${postLink(media)}c/${root}/> Thanks,   we love it!`)).toMatch(
      /replied publicly/,
    );

    expect(changesSince(h.graph, before)).toEqual([
      { method: "POST", path: `/v25.0/${root}`, query: { hide: "true" }, body: undefined },
      { method: "POST", path: `/v25.0/${root}`, query: { hide: "false" }, body: undefined },
      { method: "POST", path: `/v25.0/${root}/replies`, query: {}, body: { message: "Thanks, we love it!" } },
    ]);
    await threadSays(thread, "hid the comment");
    await threadSays(thread, "unhid the comment");
    await threadSays(thread, "replied publicly");
    expect((await audit(`comment:${root}`)).map((r) => r.action)).toEqual([
      "comment_hide",
      "comment_unhide",
      "comment_reply_public",
    ]);
  });

  it("acts on a reply named by its own link (…/c/<comment>/r/<reply>/), answering under its top-level comment", async () => {
    const media = "17900000000000202";
    const root = "17850000000000202";
    const reply = "17850000000000203";
    await comment(root, media);
    await comment(reply, media, { parentId: root });
    const thread = await h.commentRootOf(root);
    await h.replies(thread, 1);
    const before = h.graph.requests.length;
    expect(await ig(`hide ${postLink(media)}c/${root}/r/${reply}/`)).toMatch(/hid the comment/);
    expect(await ig(`reply ${postLink(media)}c/${root}/r/${reply}/ Noted!`)).toMatch(/replied publicly/);
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
    await h.commentRootOf(root);
    const before = h.graph.requests.length;
    expect(await ig(`hide ${root}`, AGENT, "C0OTHERBRAND")).toMatch(/threads are in another channel/);
    expect(await ig(`comments-off ${media}`, AGENT, "C0OTHERBRAND")).toMatch(
      /threads are in another channel/,
    );
    expect(changesSince(h.graph, before)).toEqual([]);
  });

  it("lets only admins delete: a refusal is audited and makes no call", async () => {
    const media = "17900000000000204";
    const root = "17850000000000204";
    await comment(root, media);
    const thread = await h.commentRootOf(root);
    const before = h.graph.requests.length;

    expect(await ig(`delete ${root}`)).toMatch(/Only admins may delete comments/);
    expect(changesSince(h.graph, before)).toEqual([]);
    expect(await ig(`delete ${postLink(media)}c/${root}/`, ADMIN)).toMatch(/deleted the comment/);
    expect(changesSince(h.graph, before)).toEqual([
      { method: "DELETE", path: `/v25.0/${root}`, query: {}, body: undefined },
    ]);
    await threadSays(thread, "deleted the comment on Instagram");
    expect(await audit(`comment:${root}`)).toEqual([
      { action: "refused", actor_id: `slack:${AGENT.id}` },
      { action: "comment_delete", actor_id: `slack:${ADMIN.id}` },
    ]);
  });

  it("turns comments off by post link and on by media id, telling the post's three latest threads", async () => {
    const media = "17900000000000205";
    const roots = ["17850000000000205", "17850000000000206", "17850000000000207", "17850000000000208"];
    const t0 = Date.now() - 60_000;
    for (const [i, root] of roots.entries()) await comment(root, media, { time: t0 + i * 1_000 });
    const threads = await Promise.all(roots.map((r) => h.commentRootOf(r)));
    const before = h.graph.requests.length;

    const off = await ig(`comments-off ${postLink(media)}`);
    expect(off).toMatch(/turned comments off for the post https:\/\/www\.instagram\.com\/p\/Px000205\//);
    const on = await ig(`comments-on ${media}`);
    expect(on).toMatch(/turned comments on/);
    expect(changesSince(h.graph, before)).toEqual([
      { method: "POST", path: `/v25.0/${media}`, query: { comment_enabled: "false" }, body: undefined },
      { method: "POST", path: `/v25.0/${media}`, query: { comment_enabled: "true" }, body: undefined },
    ]);
    for (const thread of threads.slice(1)) {
      await threadSays(thread, "turned comments off");
      await threadSays(thread, "turned comments on");
    }
    const oldest = threads[0] as string;
    expect(h.slack.thread(CHANNEL, oldest).some((m) => m.text?.includes("turned comments"))).toBe(false);
    expect(await audit(`media:${media}`)).toEqual([
      { action: "media_comments_disabled", actor_id: `slack:${AGENT.id}` },
      { action: "media_comments_enabled", actor_id: `slack:${AGENT.id}` },
    ]);
  });

  it("a reel link and a comment link name the post too", async () => {
    const media = "17900000000000209";
    const root = "17850000000000209";
    await comment(root, media);
    await h.commentRootOf(root);
    const before = h.graph.requests.length;
    expect(await ig(`comments-off https://www.instagram.com/reel/Px000209/`)).toMatch(/turned comments off/);
    expect(await ig(`comments-on ${postLink(media)}c/${root}/`)).toMatch(/turned comments on/);
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
    await h.commentRootOf(root);
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
    expect(await ig(`comments-off ${postLink(media)}`)).toMatch(/turned comments off/);
    expect(
      h.graph.requests.slice(before).map((r) => [r.method, r.path, r.query.comment_enabled]),
    ).toContainEqual(["POST", `/v25.0/${media}`, "false"]);
    expect((await stored())?.permalink).toBe(postLink(media));
  });

  it("answers bad arguments and unknown comments or posts clearly, without calling Instagram", async () => {
    const media = "17900000000000210";
    const root = "17850000000000210";
    await comment(root, media);
    await h.commentRootOf(root);
    const before = h.graph.requests.length;

    const cases: Array<[string, RegExp]> = [
      ["hide", /`hide` needs a target: a comment link or id\nusage: `\/ig hide &lt;comment link\|id&gt;`/],
      ["hide not-a-link", /`not-a-link` is not a comment link or id/],
      [`hide ${root} ${root}`, /`hide` takes one comment; got `\d+ \d+`/],
      [`reply ${root}`, /`reply` needs the public reply's text/],
      ["comments-off", /`comments-off` needs a target: a post link or media id/],
      ["comments-on https://example.com/p/x/", /is not a post link or media id/],
      ["hide 17850000000099999", /No mirrored comment 17850000000099999/],
      [`hide ${postLink(media)}`, /the link of a post, not of one of its comments/],
      [`unhide ${media}`, new RegExp(`${media} is a post's media id, not a comment`)],
      [
        "comments-off https://www.instagram.com/p/Nope123/",
        /No mirrored comment is on the post …\/p\/Nope123\//,
      ],
      ["comments-off 17900000009999999", /No mirrored comment is on media 17900000009999999/],
      [`comments-off ${root}`, new RegExp(`${root} is a comment, not a post`)],
    ];
    for (const [text, answer] of cases) expect(await ig(text), text).toMatch(answer);
    expect(changesSince(h.graph, before)).toEqual([]);
  });

  it("refuses live media: no comments switch, no moderation of its comments", async () => {
    const media = "17900000000000211";
    const root = "17850000000000211";
    const live = commentWebhook(ACCOUNT, {
      id: root,
      text: "hello live",
      from: { id: "1234567890123402", username: "viewer" },
      mediaId: media,
    });
    for (const c of live.entry[0]?.changes ?? []) c.field = "live_comments";
    await postWebhook(h.url(), live);
    await h.commentRootOf(root);
    const before = h.graph.requests.length;
    expect(await ig(`comments-off ${media}`)).toMatch(/does not allow turning comments off on live media/);
    expect(await ig(`hide ${root}`)).toMatch(/no moderation on a live broadcast's comments/);
    expect(changesSince(h.graph, before)).toEqual([]);
    expect(await audit(`media:${media}`)).toEqual([]);
  });

  it("keeps /ig help current", async () => {
    const help = await ig("help");
    for (const line of [
      "/ig hide &lt;comment link|id&gt;",
      "/ig unhide &lt;comment link|id&gt;",
      "/ig delete &lt;comment link|id&gt;",
      "/ig reply &lt;comment link|id&gt; text…",
      "/ig comments-off &lt;post link|media id&gt;",
      "/ig comments-on &lt;post link|media id&gt;",
    ])
      expect(help).toContain(line);
  });
});

describe("a comment removed on Instagram (verb: remove)", () => {
  it("erases a reply's text and turns its chat copy into a removed post", async () => {
    const media = "17900000000000301";
    const root = "17850000000000301";
    const reply = "17850000000000302";
    await comment(root, media, { text: "what a post" });
    await comment(reply, media, { parentId: root, text: "my phone number is 555" });
    const thread = await h.commentRootOf(root);
    const [mirrored] = await h.replies(thread, 1);
    expect(mirrored?.text).toContain("my phone number is 555");

    const res = await postWebhook(
      h.url(),
      removal({ verb: "remove", id: reply, parent_id: root, media: { id: media } }),
    );
    expect(res.status).toBe(200);
    const gone = await waitFor(async () => {
      const { rows } = await h.service.db.query<{ text: string | null; deleted_at: Date | null }>(
        "SELECT text, deleted_at FROM messages WHERE account_id = $1 AND ig_message_id = $2",
        [ACCOUNT, reply],
      );
      return rows[0]?.deleted_at ? rows[0] : undefined;
    });
    expect(gone.text).toBeNull();
    await waitFor(async () => {
      const m = h.slack.thread(CHANNEL, thread).find((x) => x.ts === mirrored?.ts);
      return m?.edited && !JSON.stringify(m).includes("555") ? true : undefined;
    });
    const updated = h.slack.thread(CHANNEL, thread).find((x) => x.ts === mirrored?.ts);
    expect(JSON.stringify(updated?.blocks)).toContain("comment deleted on Instagram");
    const { rows: thread_ } = await h.service.db.query<{ deleted_at: Date | null }>(
      "SELECT deleted_at FROM comment_threads WHERE root_comment_id = $1",
      [root],
    );
    expect(thread_[0]?.deleted_at).toBeNull();
  });

  it("marks the thread deleted when the top-level comment goes, and its root says so", async () => {
    const media = "17900000000000303";
    const root = "17850000000000303";
    await comment(root, media, { text: "call me at 555" });
    const thread = await h.commentRootOf(root);
    const rootMessage = () => h.slack.thread(CHANNEL, thread)[0];
    expect(JSON.stringify(rootMessage()?.blocks)).toContain("call me at 555");

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
    await waitFor(async () => (JSON.stringify(rootMessage()?.blocks).includes("Deleted") ? true : undefined));
    expect(JSON.stringify(rootMessage())).not.toContain("555");
  });

  it("a removal that arrives before its comment leaves a tombstone the comment cannot fill", async () => {
    const media = "17900000000000304";
    const root = "17850000000000304";
    const reply = "17850000000000305";
    await comment(root, media);
    const thread = await h.commentRootOf(root);
    await postWebhook(h.url(), removal({ verb: "remove", id: reply, parent_id: root, media: { id: media } }));
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
    expect(JSON.stringify(h.slack.thread(CHANNEL, thread))).not.toContain("secret 555");
  });

  it("another verb is stored as unknown and changes nothing", async () => {
    const media = "17900000000000306";
    const root = "17850000000000306";
    await comment(root, media, { text: "still here" });
    await h.commentRootOf(root);
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
      [ACCOUNT],
    );
    expect(unknown[0]?.event).toMatchObject({ type: "unknown", field: "comments" });
    const { rows } = await h.service.db.query<{ text: string | null }>(
      "SELECT text FROM messages WHERE ig_message_id = $1",
      [root],
    );
    expect(rows[0]?.text).toBe("still here");
  });

  it("no rule fires on a removal, though the same rules fire on the comment", async () => {
    const parsed = parseRuleFile(
      `version: 1
rules:
  - id: every-comment
    name: every comment
    account: "${ACCOUNT}"
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
  });
});

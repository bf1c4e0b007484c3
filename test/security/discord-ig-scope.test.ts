// Issue 16, finding 6: Discord's `/ig` reached every account routed to Discord, from any channel
// of any server the command was in. It now reaches only the accounts routed to the channel where
// it is used (a thread: its parent channel), as on Slack, and the registered command is hidden by
// default from members who may not Manage Messages. Driven from outside: webhooks into the
// service, members' commands through the fake Discord, Instagram's side in the fake Graph.

import { REST } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerCommands } from "../../adapters/discord/commands.ts";
import { pause } from "../../src/outbound/pause.ts";
import { parseRuleFile } from "../../src/rules/load.ts";
import { importRules, listRules } from "../../src/rules/store.ts";
import {
  ADMIN,
  AGENT,
  type DiscordHarness,
  FORUM_ACCOUNT,
  FORUM_CHANNEL,
  startDiscordHarness,
  TEXT_ACCOUNT,
  TEXT_CHANNEL,
} from "../helpers/discord-bridge.ts";
import { changesSince, postLink } from "../helpers/moderation.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";

// A channel of the main server that no account is routed to, and a second server the bot was
// added to, where an operator listed in ADMIN_USERS by user id is a member too.
const GENERAL = "100000000000000091";
const OTHER_GUILD = "300000000000000092";
const OTHER_CHANNEL = "100000000000000092";
const OWNER = { id: "500000000000000093", username: "owner" };

// Account A is TEXT_ACCOUNT (@brand, in TEXT_CHANNEL); account B is FORUM_ACCOUNT (@brand_forum).
const A_MEDIA = "17900000000000601";
const A_ROOT = "17850000000000601";
const B_MEDIA = "17900000000000602";
const B_ROOT = "17850000000000602";
const A_CUSTOMER = "1000000000000601"; // customer_0601 to the fake Graph

let h: DiscordHarness;
let aThread: string;
let bThread: string;

beforeAll(async () => {
  h = await startDiscordHarness(
    { ADMIN_USERS: `discord-role:${ADMIN.roles[0]},discord:${OWNER.id}` },
    {
      channels: [{ id: GENERAL, name: "general", type: "text" }],
      otherGuilds: [
        { id: OTHER_GUILD, name: "someone else's server", channels: [{ id: OTHER_CHANNEL, name: "lobby" }] },
      ],
    },
  );
  h.discord.addUser(OWNER);
  for (const [account, id, media] of [
    [TEXT_ACCOUNT, A_ROOT, A_MEDIA],
    [FORUM_ACCOUNT, B_ROOT, B_MEDIA],
  ] as const) {
    const res = await postWebhook(
      h.url(),
      commentWebhook(account, {
        id,
        text: `comment ${id}`,
        from: { id: "1234567890123601", username: "jane" },
        mediaId: media,
      }),
    );
    expect(res.status).toBe(200);
  }
  aThread = await h.commentThreadOf(A_ROOT);
  bThread = await h.commentThreadOf(B_ROOT);
  await postWebhook(h.url(), dmText(TEXT_ACCOUNT, A_CUSTOMER, "m_scope_1", "hello", Date.now()));
  await h.threadOf(TEXT_ACCOUNT, A_CUSTOMER);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

type Option = { name: string; type: number; value: string };
const target = (value: string): Option => ({ name: "target", type: 3, value });
const text = (value: string): Option => ({ name: "text", type: 3, value });

/** `/ig <sub>` as `user` in `channel`: the ephemeral answer (direct, or the deferred one's edit),
 * as the member reads it (markdown escapes dropped). */
async function ig(
  channel: string,
  sub: string | { group: string; sub: string },
  options: Option[],
  user: string = AGENT.id,
): Promise<string> {
  const data =
    typeof sub === "string"
      ? [{ name: sub, type: 1, options }]
      : [{ name: sub.group, type: 2, options: [{ name: sub.sub, type: 1, options }] }];
  const interaction = await h.discord.slashCommand(channel, "ig", data, user);
  const first = await interaction.waitForResponse(10_000);
  const [, edited] = first.type === 4 ? [] : await interaction.waitForResponses(2, 10_000);
  const content = first.type === 4 ? first.data.content : (edited?.data.content ?? edited?.message?.content);
  return String(content ?? "").replace(/\\(.)/g, "$1");
}

const ELSEWHERE = /threads are in another channel: ask there\. Nothing was done\./;
const NOWHERE = /This channel mirrors no Instagram account: nothing was done\./;

describe("/ig moderation reaches only the accounts of the channel it is used in", () => {
  it("refuses, from account A's channel and A's thread, every moderation of B's comment or post", async () => {
    const before = h.graph.requests.length;
    for (const where of [TEXT_CHANNEL, aThread]) {
      expect(await ig(where, "hide", [target(B_ROOT)])).toMatch(ELSEWHERE);
      expect(await ig(where, "unhide", [target(`${postLink(B_MEDIA)}c/${B_ROOT}/`)])).toMatch(ELSEWHERE);
      expect(await ig(where, "reply", [target(B_ROOT), text("Visit our other brand!")])).toMatch(ELSEWHERE);
      expect(await ig(where, "delete", [target(B_ROOT)], ADMIN.id)).toMatch(ELSEWHERE);
      expect(await ig(where, "comments-off", [target(postLink(B_MEDIA))])).toMatch(ELSEWHERE);
      expect(await ig(where, "comments-on", [target(B_MEDIA)])).toMatch(ELSEWHERE);
    }
    expect(changesSince(h.graph, before)).toEqual([]);
    // Nothing was told in B's thread, and nothing audited as done.
    expect(h.discord.messages(bThread).some((m) => /hid|replied|deleted|turned/.test(m.content))).toBe(false);
    const { rows } = await h.service.db.query(
      "SELECT action FROM audit_log WHERE target IN ($1, $2) AND action <> 'refused'",
      [`comment:${B_ROOT}`, `media:${B_MEDIA}`],
    );
    expect(rows).toEqual([]);
  });

  it("refuses from a channel no account is routed to, and from another server, even an operator", async () => {
    const before = h.graph.requests.length;
    for (const where of [GENERAL, OTHER_CHANNEL]) {
      expect(await ig(where, "hide", [target(A_ROOT)])).toMatch(ELSEWHERE);
      expect(await ig(where, "comments-off", [target(A_MEDIA)], OWNER.id)).toMatch(ELSEWHERE);
      expect(await ig(where, "delete", [target(B_ROOT)], OWNER.id)).toMatch(ELSEWHERE);
    }
    // A member's own thread in the other server reaches no more than its channel.
    const theirs = await h.discord.userThread(OTHER_CHANNEL, "mod tools", OWNER.id);
    expect(await ig(theirs.id, "reply", [target(A_ROOT), text("spam")], OWNER.id)).toMatch(ELSEWHERE);
    expect(changesSince(h.graph, before)).toEqual([]);
  });

  it("works in A's channel, in A's comment thread and in a member's own thread of A's channel", async () => {
    const before = h.graph.requests.length;
    expect(await ig(TEXT_CHANNEL, "hide", [target(A_ROOT)])).toMatch(/hid the comment/);
    expect(await ig(aThread, "unhide", [target(A_ROOT)])).toMatch(/unhid the comment/);
    const own = await h.discord.userThread(TEXT_CHANNEL, "triage", AGENT.id);
    expect(await ig(own.id, "reply", [target(A_ROOT), text("Thanks!")])).toMatch(/replied publicly/);
    expect(changesSince(h.graph, before)).toEqual([
      { method: "POST", path: `/v25.0/${A_ROOT}`, query: { hide: "true" }, body: undefined },
      { method: "POST", path: `/v25.0/${A_ROOT}`, query: { hide: "false" }, body: undefined },
      { method: "POST", path: `/v25.0/${A_ROOT}/replies`, query: {}, body: { message: "Thanks!" } },
    ]);
  });

  it("moderates B's comment from B's forum", async () => {
    const before = h.graph.requests.length;
    expect(await ig(FORUM_CHANNEL, "hide", [target(B_ROOT)])).toMatch(/hid the comment/);
    expect(changesSince(h.graph, before)).toEqual([
      { method: "POST", path: `/v25.0/${B_ROOT}`, query: { hide: "true" }, body: undefined },
    ]);
  });
});

describe("/ig's other account commands keep to the channel too", () => {
  const pausedAt = async (account: string) =>
    (
      await h.service.db.query<{ p: Date | null }>(
        "SELECT paused_at AS p FROM instagram_accounts WHERE id = $1",
        [account],
      )
    ).rows[0]?.p ?? null;
  const globalPause = async () =>
    (await h.service.db.query("SELECT 1 FROM service_flags WHERE key = 'pause'")).rows.length > 0;

  it("pauses and resumes the channel's accounts only; another channel's account by name is refused", async () => {
    const account = (value: string): Option => ({ name: "account", type: 3, value });
    expect(await ig(TEXT_CHANNEL, "pause", [account("brand_forum")], ADMIN.id)).toMatch(
      /No Instagram account brand_forum in this channel/,
    );
    expect(await pausedAt(FORUM_ACCOUNT)).toBeNull();
    expect(await ig(OTHER_CHANNEL, "pause", [], OWNER.id)).toMatch(NOWHERE);
    expect(await globalPause()).toBe(false);

    expect(await ig(TEXT_CHANNEL, "pause", [], ADMIN.id)).toMatch(
      /paused for this channel's accounts \(@brand\)/,
    );
    expect(await pausedAt(TEXT_ACCOUNT)).not.toBeNull();
    expect(await pausedAt(FORUM_ACCOUNT)).toBeNull();
    expect(await globalPause()).toBe(false);
    expect(await ig(aThread, "resume", [account("@brand")], ADMIN.id)).toMatch(/resumed for account brand\./);
    expect(await pausedAt(TEXT_ACCOUNT)).toBeNull();
  });

  it("shows the status of the channel's accounts only", async () => {
    await pause(h.service.db, { account: FORUM_ACCOUNT }, "ops", { kind: "agent", id: "test:ops" });
    expect(await ig(FORUM_CHANNEL, "status", [])).toContain(`Account ${FORUM_ACCOUNT} paused by ops`);
    expect(await ig(TEXT_CHANNEL, "status", [])).not.toContain(FORUM_ACCOUNT);
    expect(await ig(OTHER_CHANNEL, "status", [], OWNER.id)).toMatch(NOWHERE);
  });

  it("exports and forgets only customers of the channel's accounts", async () => {
    const user = (value: string): Option => ({ name: "user", type: 3, value });
    for (const where of [FORUM_CHANNEL, OTHER_CHANNEL])
      expect(await ig(where, "export", [user("@customer_0601")], OWNER.id)).toMatch(
        /No customer @customer_0601 in this channel's accounts/,
      );
    expect(await ig(OTHER_CHANNEL, "forget", [user(A_CUSTOMER)], OWNER.id)).toMatch(
      /Nothing stored about 1000000000000601 in this channel's accounts/,
    );
    const { rows } = await h.service.db.query("SELECT 1 FROM conversations WHERE customer_id = $1", [
      A_CUSTOMER,
    ]);
    expect(rows).toHaveLength(1);
    expect(await ig(TEXT_CHANNEL, "export", [user("@customer_0601")], OWNER.id)).toMatch(
      /Export of @customer_0601/,
    );
  });

  it("switches only the rules of the channel's accounts, and a rule of every account only where all are", async () => {
    const parsed = parseRuleFile(
      `version: 1
rules:
  - { id: b-hello, name: b hello, account: "${FORUM_ACCOUNT}", trigger: { type: dm_text, keywords: [hello] }, actions: [{ type: tag, tag: b }] }
  - { id: all-hello, name: all hello, account: "*", trigger: { type: dm_text, keywords: [hello] }, actions: [{ type: tag, tag: all }] }
`,
      "rules.yaml",
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    await importRules(h.service.db, parsed.file, "scope-test.yaml");
    const disable = (id: string): Option => ({ name: "id", type: 3, value: id });
    expect(
      await ig(TEXT_CHANNEL, { group: "rules", sub: "disable" }, [disable("b-hello")], ADMIN.id),
    ).toMatch(/No rule b-hello for this channel's accounts/);
    expect(
      await ig(TEXT_CHANNEL, { group: "rules", sub: "disable" }, [disable("all-hello")], ADMIN.id),
    ).toMatch(/answers for every account, and not every account's threads are in this channel/);
    const enabled = Object.fromEntries((await listRules(h.service.db)).map((r) => [r.rule.id, r.enabled]));
    expect(enabled).toMatchObject({ "b-hello": true, "all-hello": true });
    expect(
      await ig(FORUM_CHANNEL, { group: "rules", sub: "disable" }, [disable("b-hello")], ADMIN.id),
    ).toMatch(/Rule b-hello disabled/);
    expect(await ig(TEXT_CHANNEL, { group: "rules", sub: "list" }, [])).not.toContain("b-hello");
  });
});

describe("the registered /ig command", () => {
  it("is for server channels only and hidden by default from members who may not Manage Messages", async () => {
    const rest = new REST({ version: "10", api: h.discord.apiUrl }).setToken(h.discord.token);
    expect(await registerCommands(rest, h.discord.applicationId, h.discord.guildId)).toBe(1);
    const [command] = h.discord.commands(h.discord.guildId);
    expect(command?.body).toMatchObject({
      name: "ig",
      // 1 << 13, MANAGE_MESSAGES: Discord shows the command only to members with it (and
      // administrators) until a server admin changes that under Integrations.
      default_member_permissions: "8192",
      contexts: [0],
      integration_types: [0],
    });
  });
});

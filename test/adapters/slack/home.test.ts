// The App Home tab against the whole service (issue 21): a signed app_home_opened event from the
// fake Slack reaches the real Bolt app, the core reads the agent's queue, and views.publish gets a
// Home view for that user alone: their open conversations, oldest wait first, with state, account,
// customer, time left and a link to the thread; then the unassigned ones of the channels they are
// in, at most ten, with how many more there are.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount } from "../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import {
  ACCOUNT,
  ADMIN,
  AGENT,
  type BridgeHarness,
  CHANNEL,
  SECRET,
  startBridgeHarness,
} from "../../helpers/bridge.ts";
import { TEST_KEY, waitFor } from "../../helpers/service.ts";
import { postSlackEvent } from "../../helpers/slack.ts";

const OTHER_ACCOUNT = "17841400000000002";
const OTHER_CHANNEL = "C0ELSEWHERE";

let h: BridgeHarness;
let firstRoot: string;

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

async function conversation(c: {
  account?: string;
  customer: string;
  username: string;
  status?: string;
  assigneeRef?: string;
  assignee?: string;
  customerAt: string;
  businessAt?: string;
  root?: string;
}): Promise<void> {
  await h.service.db.query(
    `INSERT INTO conversations (account_id, customer_id, profile, status, assignee, assignee_ref,
       last_customer_message_at, last_business_message_at, chat_platform, chat_channel, chat_thread)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'slack', $9, $10)`,
    [
      c.account ?? ACCOUNT,
      c.customer,
      JSON.stringify({ username: c.username }),
      c.status ?? "open",
      c.assignee ?? null,
      c.assigneeRef ?? null,
      c.customerAt,
      c.businessAt ?? null,
      (c.account ?? ACCOUNT) === ACCOUNT ? CHANNEL : OTHER_CHANNEL,
      c.root ?? null,
    ],
  );
}

/** What the Home tab shows, one string per block. */
function texts(blocks: unknown[]): string[] {
  return (blocks as { type: string; text?: { text: string }; elements?: { text: string }[] }[]).map((b) =>
    b.type === "divider" ? "---" : (b.text?.text ?? b.elements?.map((e) => e.text).join(" ") ?? b.type),
  );
}

async function openHome(user: string, tab = "home"): Promise<void> {
  const res = await postSlackEvent(h.url(), SECRET, {
    type: "app_home_opened",
    user,
    channel: "D0HOME",
    tab,
    event_ts: (Date.now() / 1000).toFixed(6),
  });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  // An opened tab is built again every second (60 by default) and published when it changed.
  h = await startBridgeHarness({ SLACK_HOME_REFRESH_SECONDS: "1" });
  await addAccount(h.service.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: OTHER_ACCOUNT,
    username: "otherbrand",
    token: "IGAA-other",
    chat: { platform: "slack", channel: OTHER_CHANNEL },
  });
  // The agent is in the brand's channel only; the admin in the other one only.
  h.slack.setChannel(CHANNEL, { people: [AGENT.id] });
  h.slack.setChannel(OTHER_CHANNEL, { people: [ADMIN.id] });
  firstRoot = h.slack.seedMessage(CHANNEL, { user: h.slack.botUserId, text: "root" });
  // The agent's own: new (3 h), waiting on us on the other account (30 min), snoozed (10 min).
  await conversation({
    customer: "c-new",
    username: "newbie",
    assigneeRef: AGENT.id,
    assignee: "Ana",
    customerAt: minutesAgo(180),
    root: firstRoot,
  });
  await conversation({
    account: OTHER_ACCOUNT,
    customer: "c-wait",
    username: "waiter",
    assigneeRef: AGENT.id,
    assignee: "Ana",
    customerAt: minutesAgo(30),
    businessAt: minutesAgo(60),
  });
  await conversation({
    customer: "c-snooze",
    username: "sleeper",
    status: "snoozed",
    assigneeRef: AGENT.id,
    assignee: "Ana",
    customerAt: minutesAgo(10),
  });
  // A comment thread of theirs, its author's last comment 20 min ago, commented on 2 days ago.
  const { rows } = await h.service.db.query<{ id: string }>(
    `INSERT INTO comment_threads (account_id, media_id, root_comment_id, author_id, author_username,
       root_commented_at, assignee, assignee_ref, chat_platform, chat_channel)
     VALUES ($1, 'media-1', 'cmt-1', 'c-comment', 'commenter', $2, 'Ana', $3, 'slack', $4) RETURNING id`,
    [ACCOUNT, minutesAgo(2 * 24 * 60), AGENT.id, CHANNEL],
  );
  await h.service.db.query(
    `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, author_id, ig_message_id, text, occurred_at)
     VALUES ($1, $2, 'inbound', 'customer', 'c-comment', 'cmt-1', 'in stock?', $3)`,
    [ACCOUNT, rows[0]?.id, minutesAgo(20)],
  );
  // Not theirs: closed, or someone else's.
  await conversation({
    customer: "c-closed",
    username: "gone",
    status: "closed",
    assigneeRef: AGENT.id,
    assignee: "Ana",
    customerAt: minutesAgo(20),
  });
  await conversation({
    customer: "c-root",
    username: "rootsown",
    assigneeRef: ADMIN.id,
    assignee: "Root",
    customerAt: minutesAgo(20),
  });
  // Twelve unassigned on the brand's account, one on the other.
  for (let i = 0; i < 12; i++)
    await conversation({ customer: `c-u${i}`, username: `free${i}`, customerAt: minutesAgo(500 - i) });
  await conversation({
    account: OTHER_ACCOUNT,
    customer: "c-other",
    username: "elsewhere",
    customerAt: minutesAgo(5),
  });
});

afterAll(async () => {
  await h?.close();
});

describe("the App Home tab", () => {
  it("publishes the agent's own queue and the unassigned conversations of their channels", async () => {
    await openHome(AGENT.id);
    const view = await waitFor(async () => h.slack.home(AGENT.id), 10_000, "the agent's home view");
    const shown = texts(view.blocks);
    expect(shown[0]).toBe("Your conversations");
    const mine = shown.slice(2, 6);
    expect(mine[0]).toMatch(
      new RegExp(
        `^\\*<https://fake\\.slack\\.com/archives/${CHANNEL}/p${firstRoot.replace(".", "")}\\|@newbie>\\* · @brand\\n🆕 New · 2[01]h \\d+m left · last message <!date\\^\\d+\\^`,
      ),
    );
    expect(mine[1]).toMatch(/^\*@waiter\* · @otherbrand\n🔴 Waiting on us · 23h \d+m left/);
    // A comment thread among them, by its author's last comment, with the private reply's clock.
    expect(mine[2]).toMatch(/^\*@commenter\* \(comment\) · @brand\n🆕 New · 4d 23h left for a private reply/);
    expect(mine[3]).toMatch(/^\*@sleeper\* · @brand\n💤 Snoozed · 23h 4\dm left/);
    expect(shown[6]).toBe("---");
    expect(shown[7]).toBe("Unassigned");
    const unassigned = shown.slice(9, 19);
    expect(unassigned.map((t) => /^\*(@\w+)\*/.exec(t)?.[1])).toEqual(
      Array.from({ length: 10 }, (_, i) => `@free${i}`),
    );
    expect(shown[19]).toBe("…and 2 more unassigned: `/ig queue unassigned` in a channel lists them.");
    expect(shown).toHaveLength(20);
    expect(shown.join("\n")).not.toMatch(/gone|rootsown|elsewhere/);
    expect(h.slack.callsOf("views.publish").at(-1)?.args.user_id).toBe(AGENT.id);
  });

  it("gives each person their own view, and ignores the other tabs", async () => {
    await openHome(ADMIN.id, "messages");
    await openHome(ADMIN.id);
    const view = await waitFor(async () => h.slack.home(ADMIN.id), 10_000, "the admin's home view");
    const shown = texts(view.blocks);
    expect(shown[2]).toMatch(/^\*@rootsown\* · @brand\n🆕 New/);
    expect(shown.slice(3)).toEqual([
      "---",
      "Unassigned",
      "Open conversations nobody owns, of the accounts routed to channels you are in",
      expect.stringMatching(/^\*@elsewhere\* · @otherbrand\n🆕 New/),
    ]);
    expect(h.slack.callsOf("views.publish").filter((c) => c.args.user_id === ADMIN.id)).toHaveLength(1);
  });

  it("keeps an opened tab current: a new assignment shows without opening it again, and an unchanged one is not published again", async () => {
    const published = () => h.slack.callsOf("views.publish").filter((c) => c.args.user_id === AGENT.id);
    const before = published().length;
    // Three refresh rounds with nothing changed: nothing is published.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(published()).toHaveLength(before);

    await conversation({
      customer: "c-fresh",
      username: "freshone",
      assigneeRef: AGENT.id,
      assignee: "Ana",
      customerAt: minutesAgo(1),
    });
    const view = await waitFor(
      async () => {
        const last = published().at(-1);
        return last && JSON.stringify(last.args.view).includes("@freshone") ? last : undefined;
      },
      15_000,
      "the agent's tab published again with the new assignment",
    );
    expect(published()).toHaveLength(before + 1);
    const shown = texts((view.args.view as { blocks: unknown[] }).blocks);
    expect(shown[6]).toMatch(/^\*@freshone\* · @brand\n🆕 New/);
  });
});

// A Slack thread's root as the place to close, reopen, take and snooze its conversation: the
// root's buttons and menu, and ✅/👀 on the root. Each change is stored and audited, said once in
// the thread by the core (never echoed to the person who acted), and re-renders the root; the same
// emoji elsewhere, or put there by the bot, does nothing.

import { afterAll, beforeAll, expect, it } from "vitest";
import { ACCOUNT, ADMIN, AGENT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { auditTrail, conversationState } from "../helpers/conversation-state.ts";
import { waitFor } from "../helpers/service.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";

let h: BridgeHarness;
const now = () => Date.now();

beforeAll(async () => {
  h = await startBridgeHarness();
});

afterAll(async () => {
  await h?.close();
});

const conversation = (customer: string) => conversationState(h.service.db, customer);
const auditOf = (customer: string) => auditTrail(h.service.db, `customer:${customer}`);

/** A customer's thread, once its root and first mirrored message are there. */
async function openThread(customer: string): Promise<string> {
  await postWebhook(h.url(), dmText(ACCOUNT, customer, `m_${customer}`, "hello", now()));
  const root = await h.rootOf(customer);
  await h.replies(root, 1);
  return root;
}

const notices = (root: string, words: string) =>
  h.slack.thread(CHANNEL, root).filter((m) => m.text?.includes(words));

/** Waits until the thread shows `words` in a notice, then checks it was said once only. */
async function saidOnce(root: string, words: string): Promise<void> {
  await waitFor(async () => (notices(root, words).length > 0 ? true : undefined), 10_000, words);
  expect(notices(root, words)).toHaveLength(1);
}

const actionIds = (root: string): string[] =>
  (h.slack.message(CHANNEL, root)?.blocks ?? []).flatMap((b) =>
    ((b as { elements?: { action_id?: string }[] }).elements ?? []).flatMap((e) =>
      e.action_id ? [e.action_id] : [],
    ),
  );

const rootShows = (root: string, actionId: string) =>
  waitFor(async () => (actionIds(root).includes(actionId) ? true : undefined), 10_000, actionId);

const ephemeralsTo = (user: string) =>
  h.slack.callsOf("chat.postEphemeral").filter((c) => c.args.user === user);

it("closes, reopens, takes and snoozes from the root's buttons and menu, each said once and shown on the root", async () => {
  const customer = "1000000000000501";
  const root = await openThread(customer);
  expect(actionIds(root)).toEqual(
    expect.arrayContaining(["ig_conversation_close", "ig_conversation_take", "ig_conversation_snooze"]),
  );
  expect(actionIds(root)).not.toContain("ig_conversation_reopen");
  const ephemeralsBefore = ephemeralsTo(AGENT.id).length;

  await h.act(root, "ig_conversation_close");
  await saidOnce(root, "Ana closed this conversation");
  expect((await conversation(customer))?.status).toBe("closed");
  await rootShows(root, "ig_conversation_reopen");
  expect(actionIds(root)).not.toContain("ig_conversation_close");
  expect(JSON.stringify(h.slack.message(CHANNEL, root)?.blocks)).toContain("Status: closed");

  await h.act(root, "ig_conversation_reopen");
  await saidOnce(root, "Ana reopened this conversation");
  expect((await conversation(customer))?.status).toBe("open");
  await rootShows(root, "ig_conversation_close");

  await h.act(root, "ig_conversation_take", ADMIN);
  await saidOnce(root, "Root took this conversation");
  expect((await conversation(customer))?.assignee).toBe("Root");
  await waitFor(async () =>
    JSON.stringify(h.slack.message(CHANNEL, root)?.blocks).includes("assigned to Root") ? true : undefined,
  );

  const asked = now();
  await h.act(root, "ig_conversation_snooze", AGENT, "240");
  await saidOnce(root, "Ana snoozed this conversation until");
  const snoozed = await conversation(customer);
  expect(snoozed?.status).toBe("snoozed");
  const until = new Date(snoozed?.snoozed_until ?? 0).getTime();
  expect(until).toBeGreaterThanOrEqual(asked + 240 * 60_000 - 1_000);
  expect(until).toBeLessThan(now() + 240 * 60_000 + 1_000);
  // A snoozed conversation can be picked up before it wakes.
  await rootShows(root, "ig_conversation_reopen");

  expect(ephemeralsTo(AGENT.id).length).toBe(ephemeralsBefore);
  expect(ephemeralsTo(ADMIN.id)).toHaveLength(0);
  expect(await auditOf(customer)).toEqual([
    ["conversation_closed", `slack:${AGENT.id}`],
    ["conversation_open", `slack:${AGENT.id}`],
    ["conversation_assigned", `slack:${ADMIN.id}`],
    ["conversation_snoozed", `slack:${AGENT.id}`],
  ]);
});

it("closes with ✅ and takes with 👀 on the root, and ignores them elsewhere and from the bot", async () => {
  const customer = "1000000000000502";
  const root = await openThread(customer);
  const [mirrored] = await h.replies(root, 1);
  const reads = () => h.slack.callsOf("reactions.get").filter((c) => c.args.timestamp === mirrored?.ts);

  // The customer's mirrored message is the bot's too, but a reply: nothing happens.
  await h.react(mirrored?.ts as string, "white_check_mark");
  await waitFor(async () => (reads().length > 0 ? true : undefined), 10_000, "the reacted message read");
  // The bot's own ✅ on the root (a delivery mark, say) is not an agent's decision.
  await h.react(root, "white_check_mark", h.slack.botUserId);
  // Not one of the root's emoji.
  await h.react(root, "tada");

  await h.react(root, "heavy_check_mark");
  await saidOnce(root, "Ana closed this conversation");
  expect((await conversation(customer))?.status).toBe("closed");
  await rootShows(root, "ig_conversation_reopen");

  await h.react(root, "eyes", ADMIN.id);
  await saidOnce(root, "Root took this conversation");
  expect((await conversation(customer))?.assignee).toBe("Root");

  expect(await auditOf(customer)).toEqual([
    ["conversation_closed", `slack:${AGENT.id}`],
    ["conversation_assigned", `slack:${ADMIN.id}`],
  ]);
  expect(notices(root, "closed this conversation")).toHaveLength(1);
  expect(ephemeralsTo(AGENT.id).filter((c) => c.args.thread_ts === mirrored?.ts)).toHaveLength(0);
});

it("closes and takes a comment thread from its root, next to the moderation buttons", async () => {
  const comment = "17850000000000501";
  await postWebhook(
    h.url(),
    commentWebhook(ACCOUNT, {
      id: comment,
      text: "love it",
      from: { id: "1234567890120501", username: "fan" },
    }),
  );
  const root = await h.commentRootOf(comment);
  await rootShows(root, "ig_conversation_close");
  expect(actionIds(root)).toContain("ig_comment_hide");

  await h.act(root, "ig_conversation_close");
  await saidOnce(root, "Ana closed this conversation");
  await rootShows(root, "ig_conversation_reopen");
  await h.react(root, "eyes");
  await saidOnce(root, "Ana took this conversation");
  await waitFor(async () =>
    JSON.stringify(h.slack.message(CHANNEL, root)?.blocks).includes("Status: closed · assigned to Ana")
      ? true
      : undefined,
  );
  const { rows } = await h.service.db.query<{ status: string; assignee: string | null }>(
    "SELECT status, assignee FROM comment_threads WHERE root_comment_id = $1",
    [comment],
  );
  expect(rows[0]).toEqual({ status: "closed", assignee: "Ana" });
  expect(await auditTrail(h.service.db, `comment:${comment}`)).toEqual([
    ["conversation_closed", `slack:${AGENT.id}`],
    ["conversation_assigned", `slack:${AGENT.id}`],
  ]);
});

it("tells only the person who reacted when nothing was done", async () => {
  // A top-level message of the bot that is no conversation's root (an alert, say).
  const res = await fetch(`${h.slack.apiUrl}chat.postMessage`, {
    method: "POST",
    headers: { authorization: `Bearer ${h.slack.token}`, "content-type": "application/json" },
    body: JSON.stringify({ channel: CHANNEL, text: "⚠️ an alert for the account's owners" }),
  });
  const { ts } = (await res.json()) as { ts: string };
  await h.react(ts, "white_check_mark");
  const refusal = await waitFor(async () => ephemeralsTo(AGENT.id).find((c) => c.args.thread_ts === ts));
  expect(refusal.args.text).toMatch(/thread of a mirrored conversation/);
  expect(h.slack.thread(CHANNEL, ts)).toHaveLength(1);
});

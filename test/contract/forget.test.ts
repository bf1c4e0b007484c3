// `/ig forget` on every platform: after it, no table holds anything about the customer but the
// hashed tombstone and the audit entry, and their threads are gone from chat (what the bridge
// posted in them, notices included); Meta's request to delete an account's data takes the
// account's threads too. Discord's forum posts: test/adapters/discord/forget.test.ts.

import { createHmac } from "node:crypto";
import { expect, it } from "vitest";
import { tombstoneKey } from "../../src/privacy/forget.ts";
import { APP_SECRET, waitFor } from "../helpers/service.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import { now, threadSays } from "./scenario.ts";

const CUSTOMER = "1000000000000601";

forEachPlatform(
  "erasure",
  (h) => {
    const comment = (id: string, from: string, username: string, parent?: string) =>
      commentWebhook(h.account, {
        id,
        text: `comment ${id}`,
        from: { id: from, username },
        ...(parent ? { parentId: parent } : {}),
      });

    it("erases every row about the customer, deletes their threads in chat, and keeps only the tombstone and the audit", async () => {
      await postWebhook(h.url(), dmText(h.account, CUSTOMER, "m_f_1", "my address is 1 Main St", now()));
      await postWebhook(h.url(), dmText(h.account, CUSTOMER, "m_f_2", "STOP", now() + 10));
      const thread = await h.threadOf(CUSTOMER);
      const reply = await h.agentSays(thread, ">> Noted, we'll stop.");
      await h.settled(reply, "sent");
      // A notice from the bridge in the thread: erasure must take it too.
      const asked = await h.agentSays(thread, "!status");
      await threadSays(h, thread, "Reply window");
      // Their own comment thread, and their reply under someone else's comment.
      await postWebhook(h.url(), comment("17850000000000601", CUSTOMER, "customer_0601"));
      await postWebhook(h.url(), comment("17850000000000602", "1000000000000699", "someone_else"));
      await postWebhook(
        h.url(),
        comment("17850000000000603", CUSTOMER, "customer_0601", "17850000000000602"),
      );
      const ownThread = await h.commentThreadOf("17850000000000601");
      const otherThread = await h.commentThreadOf("17850000000000602");
      await h.posts(otherThread, 1);
      await waitFor(async () => {
        const { rows } = await h.service.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM inbound_events WHERE status <> 'processed'",
        );
        return rows[0]?.n === 0 ? true : undefined;
      });

      // Their conversation's pending timers (the nudges its messages set) go with it.
      const { rows: convo } = await h.service.db.query<{ id: number }>(
        "SELECT id FROM conversations WHERE customer_id = $1",
        [CUSTOMER],
      );
      const timerJobs = async () =>
        (
          await h.service.db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'timer' AND (data->>'conversationId')::bigint = $1",
            [convo[0]?.id],
          )
        ).rows[0]?.n;
      expect(await timerJobs()).toBeGreaterThan(0);

      expect((await h.command("forget", { user: "@customer_0601" }, { as: h.agent })).text).toMatch(
        /Only admins/,
      );
      expect(h.root(thread)).toBeDefined();
      const answer = await h.command("forget", { user: "@customer_0601" }, { as: h.admin });
      expect(answer.text).toMatch(
        /Erased @customer_0601: 1 conversation\(s\), 1 comment thread\(s\), \d+ message\(s\)/,
      );

      const db = h.service.db;
      const count = async (sql: string) => (await db.query<{ n: number }>(sql, [CUSTOMER])).rows[0]?.n ?? -1;
      expect(await count("SELECT count(*)::int AS n FROM conversations WHERE customer_id = $1")).toBe(0);
      expect(await timerJobs()).toBe(0);
      expect(await count("SELECT count(*)::int AS n FROM comment_threads WHERE author_id = $1")).toBe(0);
      expect(
        await count(
          "SELECT count(*)::int AS n FROM messages WHERE author_id = $1 OR text LIKE '%1 Main St%'",
        ),
      ).toBe(0);
      expect(
        await count(
          "SELECT count(*)::int AS n FROM inbound_events WHERE event::text LIKE '%' || $1 || '%' OR raw::text LIKE '%' || $1 || '%'",
        ),
      ).toBe(0);
      expect(await count("SELECT count(*)::int AS n FROM rule_firings WHERE customer_id = $1")).toBe(0);
      expect(
        await count(
          "SELECT count(*)::int AS n FROM audit_log WHERE target LIKE '%' || $1 || '%' OR actor_id = $1 OR details::text LIKE '%' || $1 || '%'",
        ),
      ).toBe(0);
      // The agent's reply was audited with a preview; the preview went with the erasure.
      const { rows: replies } = await db.query<{ details: { preview?: string } }>(
        "SELECT details FROM audit_log WHERE action = 'reply_sent'",
      );
      expect(replies).toHaveLength(1);
      expect(replies[0]?.details.preview).toBeUndefined();
      const { rows: tomb } = await db.query<{ key: string }>("SELECT key FROM erasures");
      expect(tomb).toEqual([{ key: tombstoneKey(h.account, CUSTOMER) }]);
      const { rows: audit } = await db.query<{ action: string }>(
        "SELECT action FROM audit_log WHERE action = 'data_erased'",
      );
      expect(audit).toHaveLength(1);

      // Their threads are gone from chat: the root and everything the bridge posted (mirrors,
      // notices); the agent's own messages go too where a bot may delete them.
      expect(h.root(thread)).toBeUndefined();
      expect(h.messages(thread).map((m) => m.id)).toEqual(h.erasesPeoplesMessages ? [] : [reply, asked]);
      expect(h.root(ownThread)).toBeUndefined();
      expect(h.messages(ownThread).filter((m) => m.fromBridge)).toEqual([]);
      // Someone else's comment thread stays, without their reply.
      expect(h.root(otherThread)).toBeDefined();
      expect(h.messages(otherThread).some((m) => m.text.includes("comment 17850000000000603"))).toBe(false);
      expect((await h.command("forget", { user: "@customer_0601" }, { as: h.admin })).text).toMatch(
        /Nothing stored about @customer_0601/,
      );
    });

    it("deletes the account's threads in chat when Meta asks for the account's data to be deleted", async () => {
      const other = "1000000000000602";
      await postWebhook(h.url(), dmText(h.account, other, "m_f_9", "still here", now()));
      const thread = await h.threadOf(other);
      await h.posts(thread, 1);
      const payload = Buffer.from(
        JSON.stringify({
          algorithm: "HMAC-SHA256",
          issued_at: Math.floor(Date.now() / 1000),
          user_id: h.account,
        }),
      ).toString("base64url");
      const sig = createHmac("sha256", APP_SECRET).update(payload).digest("base64url");
      const res = await fetch(`${h.url()}/instagram/data-deletion`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ signed_request: `${sig}.${payload}` }).toString(),
      });
      expect(res.status).toBe(200);
      // The request completes after the chat copies are gone: its counts say what went.
      const counts = await waitFor(async () => {
        const { rows } = await h.service.db.query<{ counts: { chatThreads: number; chatFailures: number } }>(
          "SELECT counts FROM data_requests WHERE status = 'completed'",
        );
        return rows[0]?.counts;
      });
      // This thread and the other customer's comment thread that the first test left standing.
      expect(counts).toMatchObject({ chatThreads: 2, chatFailures: 0 });
      expect(h.root(thread)).toBeUndefined();
      expect(h.messages(thread).filter((m) => m.fromBridge)).toEqual([]);
    });
  },
  // The customer is named by the @username of their profile, which the mirror looks up without
  // waiting for the rate limit: a generous platform limit keeps a quick set-up from going without.
  { env: { IG_RATE_LIMITS: "platform=1000/1" } },
);

// End to end on every chat platform: Instagram webhook → stored → mirrored by the real core through
// the platform's adapter into its fake; agents' thread replies, buttons and commands → stored →
// sent by the outbound worker to a fake Graph API. Nothing in between is mocked. What only one
// platform does is in test/adapters/<name>/bridge.test.ts.

import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { enqueueOutbound, outboundKey } from "../../src/outbound/enqueue.ts";
import { waitFor } from "../helpers/service.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import { mirrors, now, saying, threadSays } from "./scenario.ts";

const textOf = (r: { body: unknown }) => (r.body as { message: { text?: string } }).message.text;

forEachPlatform(
  "bridge",
  (h) => {
    describe("Instagram → chat", () => {
      it("opens one thread per conversation with the profile, then posts every message in it, in order", async () => {
        const customer = "1000000000000001";
        for (let i = 1; i <= 3; i++)
          expect(
            (await postWebhook(h.url(), dmText(h.account, customer, `m_in_a${i}`, `hello ${i}`, now() + i)))
              .status,
          ).toBe(200);
        const thread = await h.threadOf(customer);
        const posted = await h.posts(thread, 3);
        expect(posted.map((m) => m.text)).toEqual(["hello 1", "hello 2", "hello 3"].map(h.said));
        expect(posted[0]?.author).toEqual({ name: "Customer 0001", icon: "https://cdn.example/pic.jpg" });
        expect(h.root(thread)?.shows).toContain("customer_0001");
        expect(h.threadsOpened("0001")).toBe(1);
      });

      it("mirrors conversations in parallel, each in order", async () => {
        const customers = Array.from({ length: 8 }, (_, i) => `20000000000000${String(i).padStart(2, "0")}`);
        await Promise.all(
          customers.map(async (c) => {
            for (let i = 1; i <= 4; i++)
              await postWebhook(h.url(), dmText(h.account, c, `m_par_${c}_${i}`, `${c} #${i}`, now() + i));
          }),
        );
        for (const c of customers) {
          const posted = await h.posts(await h.threadOf(c), 4);
          expect(posted.map((m) => m.text)).toEqual([1, 2, 3, 4].map((i) => h.said(`${c} #${i}`)));
        }
      });

      it("round-trips reactions, edits and unsends onto the mirrored message", async () => {
        const customer = "1000000000000002";
        const ts = now();
        await postWebhook(h.url(), dmText(h.account, customer, "m_rt_1", "blue one?", ts));
        const thread = await h.threadOf(customer);
        const [mirrored] = await h.posts(thread, 1);
        const id = mirrored?.id ?? "";
        const dm = (at: number, item: Record<string, unknown>) => ({
          object: "instagram",
          entry: [
            {
              id: h.account,
              time: at,
              messaging: [{ sender: { id: customer }, recipient: { id: h.account }, timestamp: at, ...item }],
            },
          ],
        });
        await postWebhook(
          h.url(),
          dm(ts + 10, { reaction: { mid: "m_rt_1", action: "react", reaction: "love", emoji: "❤️" } }),
        );
        await waitFor(async () => (h.reactions(thread, id).length > 0 ? true : undefined));
        expect(h.reactions(thread, id)).toHaveLength(1);
        await postWebhook(h.url(), dm(ts + 20, { reaction: { mid: "m_rt_1", action: "unreact" } }));
        await waitFor(async () => (h.reactions(thread, id).length === 0 ? true : undefined));

        await postWebhook(
          h.url(),
          dm(ts + 30, { message_edit: { mid: "m_rt_1", text: "the BLUE one?", num_edit: 1 } }),
        );
        await waitFor(async () => (h.message(thread, id)?.text.includes("BLUE") ? true : undefined));

        await postWebhook(h.url(), dm(ts + 40, { message: { mid: "m_rt_1", is_deleted: true } }));
        await waitFor(async () => (h.message(thread, id) === undefined ? true : undefined));
        const { rows } = await h.service.db.query<{ text: string | null }>(
          "SELECT text FROM messages WHERE ig_message_id = 'm_rt_1'",
        );
        expect(rows[0]?.text).toBeNull();
      });

      it("posts an echo from the Instagram app once, attributed, as the brand", async () => {
        const customer = "1000000000000003";
        await postWebhook(h.url(), dmText(h.account, customer, "m_e_1", "hi", now()));
        const thread = await h.threadOf(customer);
        const echo = {
          object: "instagram",
          entry: [
            {
              id: h.account,
              time: now(),
              messaging: [
                {
                  sender: { id: h.account },
                  recipient: { id: customer },
                  timestamp: now() + 5,
                  message: { mid: "m_e_app", text: "answered from the app", is_echo: true },
                },
              ],
            },
          ],
        };
        await postWebhook(h.url(), echo);
        await postWebhook(h.url(), echo); // Meta redelivers: still once
        const posted = await h.posts(thread, 2);
        await new Promise((r) => setTimeout(r, 300));
        expect(h.messages(thread).slice(1)).toHaveLength(2);
        expect(posted[1]?.text).toContain("answered from the app");
        expect(posted[1]?.author?.name).toBe("@brand");
        expect(posted[1]?.shows).toContain("sent from Instagram");
      });
    });

    describe("chat → Instagram", () => {
      it("sends an agent's thread reply as a RESPONSE, marks it ✅, and does not mirror its echo", async () => {
        const customer = "1000000000000004";
        await postWebhook(h.url(), dmText(h.account, customer, "m_r_1", "price?", now()));
        const thread = await h.threadOf(customer);
        await h.posts(thread, 1);
        const before = h.sends().length;
        const said = await h.agentSays(thread, "It is 25 €");
        await h.settled(said, "sent");
        expect(
          h
            .sends()
            .slice(before)
            .map((r) => r.body),
        ).toEqual([
          expect.objectContaining({
            recipient: { id: customer },
            messaging_type: "RESPONSE",
            message: { text: "It is 25 €" },
          }),
        ]);
        await waitFor(async () => (h.marked(thread, said, "sent") ? true : undefined));
        // The echo of our own send.
        const mid = (
          await h.service.db.query<{ ig_message_id: string }>(
            "SELECT ig_message_id FROM messages WHERE chat_ref = $1",
            [said],
          )
        ).rows[0]?.ig_message_id;
        await postWebhook(h.url(), {
          object: "instagram",
          entry: [
            {
              id: h.account,
              time: now(),
              messaging: [
                {
                  sender: { id: h.account },
                  recipient: { id: customer },
                  timestamp: now(),
                  message: { mid, text: "It is 25 €", is_echo: true },
                },
              ],
            },
          ],
        });
        await waitFor(async () => {
          const { rows } = await h.service.db.query<{ status: string }>(
            "SELECT status FROM inbound_events WHERE dedupe_key LIKE $1",
            [`%${mid}%`],
          );
          return rows[0]?.status === "processed" ? true : undefined;
        });
        expect(h.messages(thread).filter((m) => m.author?.name === "@brand")).toHaveLength(0);
      });

      it("keeps notes internal and answers text commands in the thread", async () => {
        const customer = "1000000000000006";
        await postWebhook(h.url(), dmText(h.account, customer, "m_note_1", "hello", now()));
        const thread = await h.threadOf(customer);
        const before = h.sends().length;
        const note = await h.agentSays(thread, "// she asked yesterday too");
        await h.agentSays(thread, "!status");
        await threadSays(h, thread, "Reply window open");
        expect(h.sends().length).toBe(before);
        expect(await h.stateOf(note)).toBeUndefined();
      });

      it("refuses a reply after the 24 h window (no human-agent feature) with ⚠️ and a Retry button that sends it once the customer writes again", async () => {
        const customer = "1000000000000007";
        await postWebhook(h.url(), dmText(h.account, customer, "m_w_1", "hello", now() - 3 * 86_400_000));
        const thread = await h.threadOf(customer);
        await h.posts(thread, 1);
        const before = h.sends().length;
        const said = await h.agentSays(thread, "sorry for the wait");
        const s = await h.settled(said, "failed");
        expect(s.delivery_error).toMatch(/window has closed/);
        expect(h.sends().length).toBe(before);
        await waitFor(async () => (h.marked(thread, said, "failed") ? true : undefined));
        const notice = await threadSays(h, thread, "Not delivered");
        expect(notice.actions).toContain("ig_retry");
        // The customer writes again; the Retry button sends the reply, marked ✅ instead of ⚠️.
        await postWebhook(h.url(), dmText(h.account, customer, "m_w_2", "still there?", now()));
        await waitFor(async () => (mirrors(h, thread, "still there?") ? true : undefined));
        await h.press(thread, notice.id, "ig_retry");
        await h.settled(said, "sent");
        await waitFor(async () =>
          h.marked(thread, said, "sent") && !h.marked(thread, said, "failed") ? true : undefined,
        );
        expect(h.sends().slice(before).map(textOf)).toEqual(["sorry for the wait"]);
      });

      it("sends a comment thread's first reply as the one private reply, and refuses a second until the customer answers", async () => {
        const root = "17850000000000001";
        const comment = (id: string, text: string, parent?: string) =>
          commentWebhook(h.account, {
            id,
            text,
            from: { id: "1234567890123456", username: "jane_doe" },
            productType: "FEED",
            ...(parent ? { parentId: parent } : {}),
          });
        await postWebhook(h.url(), comment(root, "how much?"));
        await postWebhook(h.url(), comment("17850000000000002", "also in red?", root));
        const thread = await h.commentThreadOf(root);
        const [reply] = await h.posts(thread, 1);
        expect(reply?.text).toEqual(h.said("also in red?"));
        const offered = h.root(thread)?.actions;
        for (const action of [
          "ig_comment_hide",
          "ig_comment_delete",
          "ig_comment_reply_public",
          "ig_comment_reply_private",
        ])
          expect(offered).toContain(action);
        expect(h.root(thread)?.shows).toContain("Summer drop");

        const before = h.sends().length;
        const first = await h.agentSays(thread, "DM'd you the price!");
        await h.settled(first, "sent");
        expect(h.sends().slice(before)[0]?.body).toEqual({
          recipient: { comment_id: root },
          message: { text: "DM'd you the price!" },
        });
        const second = await h.agentSays(thread, "and the red one?");
        const s = await h.settled(second, "failed");
        expect(s.delivery_error).toMatch(/until the customer answers/);
        expect(h.sends().length).toBe(before + 1);
        // The root no longer offers a private reply.
        await waitFor(async () =>
          h.root(thread)?.actions.includes("ig_comment_reply_private") ? undefined : true,
        );
      });

      it("hides a comment from its root's button and says who did it", async () => {
        const root = "17850000000000009";
        await postWebhook(h.url(), {
          object: "instagram",
          entry: [
            {
              id: h.account,
              time: now(),
              changes: [
                {
                  field: "comments",
                  value: {
                    id: root,
                    text: "spam spam",
                    from: { id: "1234567890123499", username: "spammer" },
                    media: { id: "17900000000000001" },
                  },
                },
              ],
            },
          ],
        });
        const thread = await h.commentThreadOf(root);
        await h.press(thread, h.root(thread)?.id ?? "", "ig_comment_hide");
        await threadSays(h, thread, "hid the comment");
        expect(h.graph.requests.some((r) => r.path.endsWith(`/${root}`) && r.query.hide === "true")).toBe(
          true,
        );
        const { rows } = await h.service.db.query<{ hidden: boolean }>(
          "SELECT hidden FROM comment_threads WHERE root_comment_id = $1",
          [root],
        );
        expect(rows[0]?.hidden).toBe(true);
      });

      it("sends an agent's file through a signed link Instagram can fetch", async () => {
        const customer = "1000000000000008";
        await postWebhook(h.url(), dmText(h.account, customer, "m_f_1", "photo?", now()));
        const thread = await h.threadOf(customer);
        await h.posts(thread, 1);
        const before = h.sends().length;
        const said = await h.agentSays(thread, "here it is", {
          files: [{ name: "shoe.png", mimeType: "image/png", data: Buffer.from("PNGDATA") }],
        });
        await h.settled(said, "sent");
        const sent = h.sends().slice(before);
        expect(sent.map((r) => (r.body as { message: object }).message)).toEqual([
          { text: "here it is" },
          { attachment: { type: "image", payload: { url: expect.stringContaining("/files/") } } },
        ]);
        const fileSend = sent[1]?.body as { message: { attachment: { payload: { url: string } } } };
        const url = fileSend.message.attachment.payload.url;
        const local = url.replace(/^https?:\/\/[^/]+/, h.url());
        const file = await fetch(local);
        expect(file.status).toBe(200);
        expect(await file.text()).toBe("PNGDATA");
        // One character of the signature changed (the token keeps its format): forged, 403.
        const forged = local.replace(
          /(\/files\/[^./]+\.)(.)/,
          (_, head: string, c: string) => `${head}${c === "A" ? "B" : "A"}`,
        );
        expect((await fetch(forged)).status).toBe(403);
      });

      it("links an agent's file to the platform it was attached on, even once the thread's platform is gone", async () => {
        const customer = "1000000000000019";
        await postWebhook(h.url(), dmText(h.account, customer, "m_f_19", "photo?", now()));
        const thread = await h.threadOf(customer);
        await h.posts(thread, 1);
        const attached = await h.agentSays(thread, "", {
          files: [{ name: "boot.png", mimeType: "image/png", data: Buffer.from("BOOTDATA") }],
        });
        await h.settled(attached, "sent");
        const db = h.service.db;
        const { rows } = await db.query<{ conversation_id: number; author_id: string; attachments: unknown }>(
          "SELECT conversation_id, author_id, attachments FROM messages WHERE chat_ref = $1",
          [attached],
        );
        const stored = rows[0];
        if (!stored) throw new Error("the agent's file was not stored");
        expect(stored.author_id).toBe(h.key(h.agent));
        // The same file queued again after the conversation lost its thread (an erased or re-routed
        // mirror): the link still names the platform where the file is, and is served from there.
        await db.query("UPDATE conversations SET chat_platform = NULL, chat_thread = NULL WHERE id = $1", [
          stored.conversation_id,
        ]);
        const before = h.sends().length;
        const { rows: again } = await db.query<{ id: number }>(
          `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, client_id, attachments,
                             details, delivery_state, occurred_at)
       VALUES ($1, $2, 'outbound', 'agent', $3, $4, $5, '{}', 'pending', now()) RETURNING id`,
          [
            h.account,
            stored.conversation_id,
            stored.author_id,
            randomUUID(),
            JSON.stringify(stored.attachments),
          ],
        );
        await enqueueOutbound(
          db,
          h.service.boss,
          again[0]?.id ?? 0,
          outboundKey(h.account, { customerId: customer }),
        );
        const send = await waitFor(async () => h.sends().slice(before)[0]);
        const link = (send.body as { message: { attachment: { payload: { url: string } } } }).message
          .attachment.payload.url;
        const file = await fetch(link.replace(/^https?:\/\/[^/]+/, h.url()));
        expect(file.status).toBe(200);
        expect(await file.text()).toBe("BOOTDATA");
      });

      it("holds replies while an admin pauses with /ig, refuses others, and sends in order on resume", async () => {
        const customer = "1000000000000010";
        await postWebhook(h.url(), dmText(h.account, customer, "m_p_1", "hello", now()));
        const thread = await h.threadOf(customer);
        await h.posts(thread, 1);
        const where = { in: h.commandsInThreads ? thread : h.channel };
        expect((await h.command("pause", {}, { ...where, as: h.agent })).text).toMatch(/Only admins/);
        await h.command("pause", { account: "brand" }, { ...where, as: h.admin });
        await waitFor(async () =>
          (
            await h.service.db.query<{ p: Date | null }>(
              "SELECT paused_at AS p FROM instagram_accounts WHERE id = $1",
              [h.account],
            )
          ).rows[0]?.p
            ? true
            : undefined,
        );
        const before = h.sends().length;
        const a = await h.agentSays(thread, "first");
        const b = await h.agentSays(thread, "second");
        await h.settled(a, "held");
        await waitFor(async () => (h.marked(thread, a, "held") ? true : undefined));
        expect(h.sends().length).toBe(before);
        await h.command("resume", { account: "brand" }, { ...where, as: h.admin });
        await h.settled(b, "sent");
        expect(h.sends().slice(before).map(textOf)).toEqual(["first", "second"]);
      });

      it("keeps an internal-by-default thread internal unless the reply prefix sends", async () => {
        await h.service.db.query(
          `UPDATE instagram_accounts SET settings = settings || '{"internalByDefault": true}'::jsonb WHERE id = $1`,
          [h.account],
        );
        try {
          const customer = "1000000000000011";
          await postWebhook(h.url(), dmText(h.account, customer, "m_int_1", "hello", now()));
          const thread = await h.threadOf(customer);
          const before = h.sends().length;
          const discussion = await h.agentSays(thread, "she wants the blue one, right?");
          const reply = await h.agentSays(thread, ">> Hi! The blue one is in stock.");
          await h.settled(reply, "sent");
          expect(await h.stateOf(discussion)).toBeUndefined();
          expect(h.sends().slice(before).map(textOf)).toEqual(["Hi! The blue one is in stock."]);
        } finally {
          await h.service.db.query("UPDATE instagram_accounts SET settings = '{}'::jsonb WHERE id = $1", [
            h.account,
          ]);
        }
      });

      it("reuses the same thread after a restart", async () => {
        const customer = "1000000000000001";
        const thread = await h.threadOf(customer);
        const threads = h.threadCount();
        await h.restart();
        await postWebhook(h.url(), dmText(h.account, customer, "m_in_a4", "back again", now() + 100));
        const posted = await h.posts(thread, 4);
        expect(posted.at(-1)?.text).toEqual(h.said("back again"));
        expect(h.threadCount()).toBe(threads);
        expect(saying(h, thread, "back again")).toHaveLength(1);
      });
    });
  },
  // The end-to-end path on the embedded database too, in every `npm test`.
  { embeddedSample: true },
);

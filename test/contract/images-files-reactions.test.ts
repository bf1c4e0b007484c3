// Images, files and reactions on every platform (issue 22): several images in one chat message go
// to Instagram as one message of images (`attachments`), a PDF as a file attachment, a file
// Instagram does not take is refused with its reason and nothing is sent; an agent's emoji on a
// mirrored customer message is the business reacting to it (`sender_action: react`, Instagram's
// "love" for a heart), taking it off sends `unreact`. A reaction Instagram reports as the business's own is never shown
// as the customer's.

import { expect, it } from "vitest";
import { waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import { now } from "./scenario.ts";

interface Body {
  recipient: { id?: string };
  message?: Record<string, unknown>;
  sender_action?: string;
  payload?: { message_id: string; reaction?: string };
}

const png = (name: string) => ({ name, mimeType: "image/png", data: Buffer.from(`PNG ${name}`) });

forEachPlatform("images, files and reactions", (h) => {
  const to = (customer: string) =>
    h
      .sends()
      .map((r) => r.body as Body)
      .filter((b) => b.recipient.id === customer);

  it("sends several images as one message of images, then a PDF as a file", async () => {
    const customer = "1000000000000801";
    await postWebhook(h.url(), dmText(h.account, customer, "m_img_1", "pictures please", now()));
    const thread = await h.threadOf(customer);
    await h.posts(thread, 1);
    const said = await h.agentSays(thread, "Front, side and back; the terms attached", {
      files: [
        png("front.png"),
        png("side.png"),
        png("back.png"),
        { name: "terms.pdf", mimeType: "application/pdf", data: Buffer.from("%PDF-1.4 terms") },
      ],
    });
    await h.settled(said, "sent");
    await waitFor(async () => (h.marked(thread, said, "sent") ? true : undefined), 10_000, "the sent mark");
    const messages = to(customer).map((b) => b.message);
    expect(messages).toEqual([
      { text: "Front, side and back; the terms attached" },
      {
        attachments: [1, 2, 3].map(() => ({
          type: "image",
          payload: { url: expect.stringContaining("/files/") },
        })),
      },
      { attachment: { type: "file", payload: { url: expect.stringContaining("/files/") } } },
    ]);
  });

  it("refuses a file Instagram does not take, with its reason, and sends nothing", async () => {
    const customer = "1000000000000802";
    await postWebhook(h.url(), dmText(h.account, customer, "m_img_2", "the contract?", now()));
    const thread = await h.threadOf(customer);
    await h.posts(thread, 1);
    await h.agentSays(thread, "Here it is", {
      files: [
        {
          name: "contract.docx",
          mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          data: Buffer.from("PK docx"),
        },
      ],
    });
    await waitFor(
      async () =>
        h.messages(thread).some((m) => m.shows.includes("Instagram does not accept contract.docx")) ||
        h.toldPrivately(h.agent).some((t) => t.includes("Instagram does not accept contract.docx"))
          ? true
          : undefined,
      10_000,
      "the refusal",
    );
    expect(to(customer)).toEqual([]);
  });

  it("reacts to a customer's message for an agent's emoji, and takes the reaction back", async () => {
    const customer = "1000000000000803";
    await postWebhook(h.url(), dmText(h.account, customer, "m_react_1", "Thank you so much!", now()));
    const thread = await h.threadOf(customer);
    const [message] = await h.posts(thread, 1);
    const id = message?.id ?? "";
    // Only the business's reactions: a seen mark is a sender action too.
    const reactions = () =>
      to(customer).filter((b) => b.sender_action === "react" || b.sender_action === "unreact");
    // Hang guards, not speed checks: a reaction is an outbound job in the conversation's lane, and
    // on a loaded machine its turn can wait out a retry or two.
    const WAIT = 30_000;

    await h.react(thread, id, "❤️");
    await waitFor(async () => (reactions().length === 1 ? true : undefined), WAIT, "the reaction");
    expect(reactions()).toEqual([
      {
        recipient: { id: customer },
        sender_action: "react",
        payload: { message_id: "m_react_1", reaction: "love" },
      },
    ]);

    await h.unreact(thread, id, "❤️");
    await waitFor(async () => (reactions().length === 2 ? true : undefined), WAIT, "the unreact");
    expect(reactions()[1]).toEqual({
      recipient: { id: customer },
      sender_action: "unreact",
      payload: { message_id: "m_react_1" },
    });

    // Another emoji goes as itself.
    await h.react(thread, id, "👍");
    await waitFor(async () => (reactions().length === 3 ? true : undefined), WAIT, "the thumbs up");
    expect(reactions()[2]?.payload).toEqual({ message_id: "m_react_1", reaction: "👍" });

    // Instagram reporting the business's own reaction does not make it the customer's.
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
              reaction: { mid: "m_react_1", action: "react", reaction: "other", emoji: "😮" },
            },
          ],
        },
      ],
    });
    const { rows } = await waitFor(async () => {
      const r = await h.service.db.query<{ details: Record<string, unknown> }>(
        "SELECT details FROM messages WHERE ig_message_id = 'm_react_1'",
      );
      return r.rows[0]?.details.businessReaction === "😮" ? r : undefined;
    });
    expect(rows[0]?.details.customerReaction ?? null).toBeNull();
    expect(h.reactions(thread, id)).not.toContain("😮");
  });

  /** Runs `fn` while storing the post's ref of message `mid` takes a second more (a trigger): the
   * agent's emoji then comes before the ref is stored, as on a loaded machine. */
  async function withSlowRef(mid: string, fn: () => Promise<void>): Promise<void> {
    const db = h.service.db;
    await db.query(`CREATE OR REPLACE FUNCTION test_slow_ref() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.chat_ref IS NULL AND NEW.chat_ref IS NOT NULL AND NEW.ig_message_id = '${mid}' THEN
          PERFORM pg_sleep(1);
        END IF;
        RETURN NEW;
      END $$`);
    await db.query("DROP TRIGGER IF EXISTS test_slow_ref ON messages");
    await db.query(
      "CREATE TRIGGER test_slow_ref BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION test_slow_ref()",
    );
    try {
      await fn();
    } finally {
      await db.query("DROP TRIGGER IF EXISTS test_slow_ref ON messages");
    }
  }

  it("sends an agent's emoji put on the moment the message shows, before its post's ref is stored", async () => {
    // The post's ref is stored once the platform has answered the post; a loaded machine once took
    // long enough that the test above reacted in between, and the emoji was dropped.
    const customer = "1000000000000806";
    await withSlowRef("m_react_4", async () => {
      await postWebhook(h.url(), dmText(h.account, customer, "m_react_4", "Quick one", now()));
      const thread = await h.threadOf(customer);
      const [message] = await h.posts(thread, 1);
      await h.react(thread, message?.id ?? "", "👍");
      await waitFor(
        async () => (to(customer).some((b) => b.sender_action === "react") ? true : undefined),
        10_000,
        "the reaction",
      );
      expect(to(customer).filter((b) => b.sender_action === "react")).toEqual([
        {
          recipient: { id: customer },
          sender_action: "react",
          payload: { message_id: "m_react_4", reaction: "👍" },
        },
      ]);
    });
  });

  it("sends no reaction once the customer's window closed, and tells the agent alone", async () => {
    // The agent reacts as the message shows, before its post's ref is stored: a message written
    // days ago (delivered late) is waited for like a fresh one (CI once dropped this emoji silently).
    const customer = "1000000000000805";
    await withSlowRef("m_react_3", async () => {
      await postWebhook(
        h.url(),
        dmText(h.account, customer, "m_react_3", "from last week", now() - 3 * 24 * 3_600_000),
      );
      const thread = await h.threadOf(customer);
      const [message] = await h.posts(thread, 1);
      await h.react(thread, message?.id ?? "", "❤️");
      await waitFor(
        async () =>
          h
            .toldPrivately(h.agent)
            .some((t) => t.includes("reactions go only while the customer's 24-hour window"))
            ? true
            : undefined,
        10_000,
        "the explanation",
      );
    });
    expect(to(customer).filter((b) => b.sender_action !== undefined)).toEqual([]);
  });
});

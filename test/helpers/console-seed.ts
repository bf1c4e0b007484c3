// A little stored history for the console's pages: an account routed to Slack, conversations in
// every state, messages both ways (an image, a failed reply with its reason), a rule firing and
// audit entries. Written as the mirror and the send worker store them, without running them.

import { recordAudit } from "../../src/audit/audit-log.ts";
import type { Database } from "../../src/db/database.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { TEST_KEY } from "./service.ts";

export const SEED_ACCOUNT = "17841400000000901";
export const SEED_CUSTOMER = "9901000000000001";

export interface Seeded {
  /** The conversation with the history (customer @shopper). */
  conversation: number;
  /** A comment thread under a post (top-level comment by @commenter, hidden, answered publicly). */
  commentThread: number;
}

export async function seedConsole(db: Database, options: { extra?: number } = {}): Promise<Seeded> {
  await addAccount(db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: SEED_ACCOUNT,
    username: "seedbrand",
    token: "IGAA-seeded",
    chat: { platform: "slack", channel: "C0SEEDED1" },
  });
  const now = Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const conversation = async (
    customer: string,
    profile: Record<string, string>,
    fields: { status?: string; assignee?: string; customerAt?: string; businessAt?: string },
  ): Promise<number> => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO conversations (account_id, customer_id, profile, status, assignee,
         last_customer_message_at, last_business_message_at, chat_platform, chat_channel, chat_thread)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'slack', 'C0SEEDED1', $8) RETURNING id`,
      [
        SEED_ACCOUNT,
        customer,
        JSON.stringify(profile),
        fields.status ?? "open",
        fields.assignee ?? null,
        fields.customerAt ?? null,
        fields.businessAt ?? null,
        `17000000${customer.slice(-4)}.000100`,
      ],
    );
    return Number(rows[0]?.id);
  };
  const message = (
    c: number,
    m: {
      direction: "inbound" | "outbound";
      author: string;
      text?: string;
      attachments?: unknown[];
      state?: string;
      error?: string;
      at: string;
      mid: string;
    },
  ) =>
    db.query(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, ig_message_id, text,
         attachments, delivery_state, delivery_error, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        SEED_ACCOUNT,
        c,
        m.direction,
        m.author,
        m.mid,
        m.text ?? null,
        JSON.stringify(m.attachments ?? []),
        m.state ?? null,
        m.error ?? null,
        m.at,
      ],
    );

  const main = await conversation(
    SEED_CUSTOMER,
    { username: "shopper", name: "Sam <Shopper>" },
    {
      assignee: "Alex",
      customerAt: at(30),
      businessAt: at(40),
    },
  );
  await message(main, {
    direction: "inbound",
    author: "customer",
    text: "Do you ship the <blue> mug to Lisbon?",
    at: at(50),
    mid: "mid.seed.1",
  });
  await message(main, {
    direction: "outbound",
    author: "agent",
    text: "We do, in 3 days.",
    state: "failed",
    error: "the messaging window has closed",
    at: at(40),
    mid: "mid.seed.2",
  });
  await message(main, {
    direction: "inbound",
    author: "customer",
    attachments: [
      { kind: "image", rawType: "image", url: "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1" },
      { kind: "video", rawType: "video", url: "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=2" },
    ],
    at: at(30),
    mid: "mid.seed.3",
  });
  await conversation(
    "9901000000000002",
    { username: "answered" },
    {
      customerAt: at(90),
      businessAt: at(80),
    },
  );
  await conversation(
    "9901000000000003",
    { username: "finished" },
    {
      status: "closed",
      assignee: "Blake",
      customerAt: at(200),
      businessAt: at(190),
    },
  );
  for (let i = 0; i < (options.extra ?? 0); i++)
    await conversation(
      `99020000000${String(i).padStart(5, "0")}`,
      { username: `bulk${i}` },
      {
        customerAt: at(1000 + i),
      },
    );
  await db.query(
    "INSERT INTO rule_firings (rule_id, account_id, customer_id, event_id, fired_at) VALUES ('shipping-faq', $1, $2, 77, now())",
    [SEED_ACCOUNT, SEED_CUSTOMER],
  );
  await recordAudit(db, {
    actor: { kind: "agent", id: "slack:U0ALEX", name: "Alex" },
    account: SEED_ACCOUNT,
    action: "conversation_assigned",
    target: `customer:${SEED_CUSTOMER}`,
    details: { assignee: "Alex" },
  });
  await recordAudit(db, {
    actor: { kind: "rule", id: "shipping-faq" },
    account: SEED_ACCOUNT,
    action: "auto_reply_sent",
    target: "customer:9901000000000002",
  });
  // A comment thread, older than every conversation above (it sorts after them), hidden by an agent
  // and answered publicly; a reply of someone else is still unanswered.
  const { rows: threadRows } = await db.query<{ id: string }>(
    `INSERT INTO comment_threads (account_id, media_id, media_product_type, root_comment_id, author_id,
       author_username, root_commented_at, hidden, assignee, media, chat_platform, chat_channel, chat_thread)
     VALUES ($1, '18000000000000501', 'FEED', '17900000000000601', '9904000000000001', 'commenter', $2, true,
       'Blake', $3, 'slack', 'C0SEEDED1', '1700000601.000100') RETURNING id`,
    [
      SEED_ACCOUNT,
      at(6000),
      JSON.stringify({
        caption: "Our new <teapot> collection",
        permalink: "https://www.instagram.com/p/SEEDPOST1/",
      }),
    ],
  );
  const commentThread = Number(threadRows[0]?.id);
  const comment = (m: {
    id: string;
    direction: "inbound" | "outbound";
    author: string;
    authorId?: string;
    username?: string;
    text: string;
    at: string;
    route?: string;
  }) =>
    db.query(
      `INSERT INTO messages (account_id, comment_thread_id, direction, author_kind, author_id, ig_message_id, text,
         details, delivery_state, send_route, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        SEED_ACCOUNT,
        commentThread,
        m.direction,
        m.author,
        m.authorId ?? null,
        m.id,
        m.text,
        JSON.stringify(m.username ? { username: m.username } : {}),
        m.direction === "outbound" ? "sent" : null,
        m.route ?? null,
        m.at,
      ],
    );
  await comment({
    id: "17900000000000601",
    direction: "inbound",
    author: "customer",
    authorId: "9904000000000001",
    username: "commenter",
    text: "Does the teapot come in green?",
    at: at(6000),
  });
  await comment({
    id: "17900000000000602",
    direction: "outbound",
    author: "agent",
    authorId: "Blake",
    text: "It does, from March.",
    at: at(5990),
    route: "public_reply",
  });
  await comment({
    id: "17900000000000603",
    direction: "inbound",
    author: "customer",
    authorId: "9904000000000002",
    username: "lurker",
    text: "And in Saffron?",
    at: at(5980),
  });
  await recordAudit(db, {
    actor: { kind: "agent", id: "slack:U0BLAKE", name: "Blake" },
    account: SEED_ACCOUNT,
    action: "comment_hide",
    target: "comment:17900000000000601",
  });
  return { conversation: main, commentThread };
}

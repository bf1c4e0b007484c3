// What the recording of a customer's message hands the mirror (src/mirror/record.ts `Recorded`), so
// the mirror does not read again what was just written: the rows must be the ones a read after the
// commit gives, and no message row when this attempt did not insert it (a redelivery, a retry, or
// a tombstone left by an unsend that came first).

import { describe, expect, it } from "vitest";
import type { DmMessage, DomainEvent } from "../../src/instagram/events.ts";
import { MESSAGE_COLUMNS, recordEvent } from "../../src/mirror/record.ts";
import { useMigratedDatabase } from "../helpers/migrated-database.ts";

const ACC = "17841400000000077";
const T0 = Date.parse("2026-11-02T10:00:00Z");
const store = useMigratedDatabase();

const record = (event: DomainEvent) => store.db.transaction((tx) => recordEvent(tx, event));
const message = (customerId: string, mid: string, at: number, over: Partial<DmMessage> = {}): DmMessage => ({
  type: "dm.message",
  accountId: ACC,
  customerId,
  occurredAt: at,
  mid,
  text: "hi",
  attachments: [{ kind: "image", rawType: "image", url: "https://cdn.example/a.jpg" }],
  ...over,
});

async function read(customer: string, mid: string, account = ACC) {
  const c = await store.db.query("SELECT * FROM conversations WHERE account_id = $1 AND customer_id = $2", [
    account,
    customer,
  ]);
  const m = await store.db.query(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND ig_message_id = $2`,
    [account, mid],
  );
  return { conversation: c.rows[0], message: m.rows[0] };
}

describe("the rows a customer's message hands on", () => {
  it("are the conversation and message rows as a read after the commit gives them", async () => {
    // The first message also sets the entry point after the upsert: the row handed on carries it.
    const first = await record(message("2001", "r1", T0));
    const stored = await read("2001", "r1");
    expect(first.conversation).toEqual(stored.conversation);
    expect(first.conversation).toMatchObject({
      account_id: ACC,
      customer_id: "2001",
      entry_point: "message",
    });
    expect(first.message).toEqual(stored.message);

    const second = await record(
      message("2001", "r2", T0 + 1000, { text: "again", quickReplyPayload: "YES" }),
    );
    const after = await read("2001", "r2");
    expect(second.conversation).toEqual(after.conversation);
    expect(second.message).toEqual(after.message);
    expect(second.message).toMatchObject({
      text: "again",
      details: { quickReplyPayload: "YES" },
      chat_ref: null,
    });
    // The account's upsert went into the same statement: it exists, its last event the newest.
    const { rows } = await store.db.query<{ last_event_at: Date; last_webhook_at: Date | null }>(
      "SELECT last_event_at, last_webhook_at FROM instagram_accounts WHERE id = $1",
      [ACC],
    );
    expect(new Date(rows[0]?.last_event_at as Date).getTime()).toBe(T0 + 1000);
    expect(rows[0]?.last_webhook_at).not.toBeNull();
  });

  it("has no message row for a redelivery, nor for a message its unsend came before", async () => {
    await record(message("2002", "r3", T0));
    const again = await record(message("2002", "r3", T0));
    expect(again.conversation).toMatchObject({ customer_id: "2002" });
    expect(again.message).toBeUndefined();

    await record({ type: "dm.unsend", accountId: ACC, customerId: "2003", occurredAt: T0 + 5, mid: "r4" });
    const late = await record(message("2003", "r4", T0));
    expect(late.message).toBeUndefined();
    const { message: stored } = await read("2003", "r4");
    expect(stored).toMatchObject({ text: null, attachments: [] });
    expect(stored?.deleted_at).not.toBeNull();
  });

  it("hands nothing on for the business's echo", async () => {
    const echo = await record({
      type: "dm.echo",
      accountId: ACC,
      customerId: "2004",
      occurredAt: T0,
      mid: "r5",
      text: "from the app",
      attachments: [],
    } as DomainEvent);
    expect(echo).toEqual({});
    expect((await read("2004", "r5")).message).toMatchObject({
      author_kind: "business",
      text: "from the app",
    });
  });
});

describe("the account's row under the recordings", () => {
  const times = async (account: string) =>
    (
      await store.db.query<{ last_event_at: Date; last_webhook_at: Date | null }>(
        "SELECT last_event_at, last_webhook_at FROM instagram_accounts WHERE id = $1",
        [account],
      )
    ).rows[0];

  it("moves the account's times on when they are a second or more behind, and is not locked otherwise", async () => {
    const acc = "17841400000000078";
    await record(message("3001", "t1", T0, { accountId: acc }));
    await record(message("3001", "t2", T0 + 500, { accountId: acc }));
    expect((await times(acc))?.last_event_at.getTime()).toBe(T0);
    await record(message("3001", "t3", T0 + 1500, { accountId: acc }));
    expect((await times(acc))?.last_event_at.getTime()).toBe(T0 + 1500);

    // A recording whose times stay leaves the account's row unlocked while it is open: another
    // session takes the row's update lock at once (every recording held it until its commit).
    const { promise: held, resolve: hold } = Promise.withResolvers<void>();
    const { promise: gate, resolve: open } = Promise.withResolvers<void>();
    const open_ = store.db.transaction(async (tx) => {
      await recordEvent(tx, message("3002", "t4", T0 + 1600, { accountId: acc }));
      hold();
      await gate;
    });
    await held;
    try {
      const locked = await store.db.query(
        "SELECT id FROM instagram_accounts WHERE id = $1 FOR NO KEY UPDATE NOWAIT",
        [acc],
      );
      expect(locked.rows).toHaveLength(1);
    } finally {
      open();
      await open_;
    }
  });

  it("records the first messages of a new account, two at once, each with its conversation", async () => {
    const acc = "17841400000000079";
    const { promise: held, resolve: hold } = Promise.withResolvers<void>();
    const { promise: gate, resolve: open } = Promise.withResolvers<void>();
    // The first inserts the account's row and stays open; the second finds the row being inserted,
    // waits for it, and finds nothing in its own statement's snapshot: it runs again.
    const first = store.db.transaction(async (tx) => {
      const r = await recordEvent(tx, message("3101", "n1", T0, { accountId: acc }));
      hold();
      await gate;
      return r;
    });
    await held;
    const second = record(message("3102", "n2", T0, { accountId: acc }));
    await new Promise((r) => setTimeout(r, 200));
    open();
    const [a, b] = await Promise.all([first, second]);
    expect(a.conversation).toMatchObject({ account_id: acc, customer_id: "3101" });
    expect(b.conversation).toMatchObject({ account_id: acc, customer_id: "3102" });
    expect(b.message).toMatchObject({ text: "hi" });
    expect((await read("3102", "n2", acc)).message).toBeDefined();
  });
});

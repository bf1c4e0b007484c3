// Mentions of the account hold what someone wrote: they are part of that person's export and
// erasure, of the account's erasure, and their text follows the retention of message texts.

import { expect, it } from "vitest";
import { recordEvent } from "../../src/mirror/record.ts";
import { eraseAccount } from "../../src/privacy/account-erasure.ts";
import { exportCustomer } from "../../src/privacy/export.ts";
import { forgetCustomer } from "../../src/privacy/forget.ts";
import { purgeExpired } from "../../src/privacy/retention.ts";
import { useMigratedDatabase } from "../helpers/migrated-database.ts";

const ACC = "17841400000000001";
const AUTHOR = "1234567890123456";
const store = useMigratedDatabase();

async function mention(
  mediaId: string,
  commentId: string | undefined,
  author: string | null,
  at = Date.now(),
) {
  await store.db.transaction((tx) =>
    recordEvent(tx, {
      type: "mention",
      accountId: ACC,
      occurredAt: at,
      mediaId,
      ...(commentId ? { commentId } : {}),
    }),
  );
  await store.db.query(
    `UPDATE mentions SET author_id = $3, author_username = 'jane_doe', text = '@brand hello', resolved_at = now()
      WHERE media_id = $1 AND comment_id = $2`,
    [mediaId, commentId ?? "", author],
  );
}

const count = async () =>
  (await store.db.query("SELECT id FROM mentions WHERE account_id = $1", [ACC])).rows.length;

it("exports and erases a person's mentions, and only theirs", async () => {
  await mention("17900000000000001", "17850000000000001", AUTHOR);
  await mention("17900000000000002", undefined, "9999999999999999");
  const data = await exportCustomer(store.db, ACC, AUTHOR);
  expect(data?.mentions).toHaveLength(1);
  expect(data?.mentions[0]).toMatchObject({ text: "@brand hello", comment_id: "17850000000000001" });
  const counts = await forgetCustomer(store.db, new Map(), ACC, AUTHOR, "slack:U0ADMIN", () => {});
  expect(counts.mentions).toBe(1);
  expect(await count()).toBe(1);
});

it("clears old mentions' text with the message texts, and erases them with the account", async () => {
  await mention("17900000000000003", "17850000000000003", AUTHOR, Date.now() - 400 * 86_400_000);
  await purgeExpired(
    store.db,
    { messageDays: 365, rawEventDays: 365, revokedAccountDays: 30 },
    async () => {},
  );
  const { rows } = await store.db.query<{ text: string | null }>(
    "SELECT text FROM mentions WHERE media_id = '17900000000000003'",
  );
  expect(rows[0]?.text).toBeNull();
  const erased = await eraseAccount(store.db, new Map(), ACC, () => {});
  expect(erased.mentions).toBe(2);
  expect(await count()).toBe(0);
});

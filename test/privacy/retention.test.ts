// The retention purge: texts and raw webhook items past their age are erased, the facts the
// bridge runs on stay, and unfinished work is left alone.

import { afterAll, beforeAll, expect, it } from "vitest";
import { eraseAccount } from "../../src/privacy/account-erasure.ts";
import { purgeExpired } from "../../src/privacy/retention.ts";
import type { Service } from "../../src/service.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv, waitFor } from "../helpers/service.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";

const ACCOUNT = "17841400000000001";
let t: TestEnv;
let service: Service;

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  service = await startTestService(t);
});

afterAll(async () => {
  await service?.stop();
  await t?.cleanup();
});

it("erases old texts and raw events by date, keeps ids and states, and skips unprocessed events", async () => {
  const day = 86_400_000;
  for (const [mid, ageDays] of [
    ["m_old", 100],
    ["m_mid", 20],
    ["m_new", 1],
  ] as const)
    await postWebhook(
      service.url as string,
      dmText(ACCOUNT, "1000000000000401", mid, `text of ${mid}`, Date.now() - ageDays * day),
    );
  await waitFor(async () => {
    const { rows } = await service.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM inbound_events WHERE status = 'processed'",
    );
    return rows[0]?.n === 3 ? true : undefined;
  });
  // Receipt times as if the webhooks had come when the messages were written.
  await service.db.query("UPDATE inbound_events SET received_at = occurred_at");
  await service.db.query("UPDATE inbound_events SET status = 'dead' WHERE dedupe_key LIKE '%m_old%'");

  const policy = { messageDays: 90, rawEventDays: 14, revokedAccountDays: 7 };
  const erased: string[] = [];
  // No chat platform in this service: the erasure has no thread to delete.
  const erase = async (account: string) => {
    erased.push(account);
    return eraseAccount(service.db, new Map(), account, () => undefined);
  };
  const counts = await purgeExpired(service.db, policy, erase);
  expect(counts).toEqual({ messages: 1, events: 1, accounts: 0, signedRequests: 0 });

  const { rows: messages } = await service.db.query<{ ig_message_id: string; text: string | null }>(
    "SELECT ig_message_id, text FROM messages ORDER BY occurred_at",
  );
  expect(messages).toEqual([
    { ig_message_id: "m_old", text: null },
    { ig_message_id: "m_mid", text: "text of m_mid" },
    { ig_message_id: "m_new", text: "text of m_new" },
  ]);
  const { rows: events } = await service.db.query<{ key: string; raw: object; text: string | null }>(
    "SELECT dedupe_key AS key, raw, event->>'text' AS text FROM inbound_events ORDER BY occurred_at",
  );
  // m_old is a dead letter: still work to do, so kept whole; m_mid is past 14 days; m_new is fresh.
  expect(events.map((e) => [e.text, Object.keys(e.raw).length > 0])).toEqual([
    ["text of m_old", true],
    [null, false],
    ["text of m_new", true],
  ]);
  expect(await purgeExpired(service.db, policy, erase)).toEqual({
    messages: 0,
    events: 0,
    accounts: 0,
    signedRequests: 0,
  });

  // A deauthorized account is erased once its grace period is over, not before; what agents
  // wrote about its customers (!note, !label) goes with it.
  await service.db.query(
    "INSERT INTO customer_labels (account_id, customer_id, label) VALUES ($1, '1000000000000001', 'vip')",
    [ACCOUNT],
  );
  await service.db.query(
    "INSERT INTO customer_notes (account_id, customer_id, text, author) VALUES ($1, '1000000000000001', 'prefers email', 'Ana')",
    [ACCOUNT],
  );
  await service.db.query(
    "UPDATE instagram_accounts SET status = 'revoked', updated_at = now() - interval '3 days' WHERE id = $1",
    [ACCOUNT],
  );
  expect((await purgeExpired(service.db, policy, erase)).accounts).toBe(0);
  await service.db.query(
    "UPDATE instagram_accounts SET updated_at = now() - interval '8 days' WHERE id = $1",
    [ACCOUNT],
  );
  expect((await purgeExpired(service.db, policy, erase)).accounts).toBe(1);
  expect(erased).toEqual([ACCOUNT]);
  const { rows: left } = await service.db.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM messages WHERE account_id = $1)
          + (SELECT count(*) FROM customer_labels WHERE account_id = $1)
          + (SELECT count(*) FROM customer_notes WHERE account_id = $1) AS n`,
    [ACCOUNT],
  );
  expect(Number(left[0]?.n)).toBe(0);
});

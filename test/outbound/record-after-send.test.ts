// Instagram has taken a reply, then Postgres restarts before its answer is stored. Failing the job
// there would make its retry send the reply again (found by the chaos run): the write is retried
// through the restart instead, and the reply reaches Instagram once.

import type { PgBoss } from "pg-boss";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { createLogger } from "../../src/log/logger.ts";
import { queueMessage } from "../../src/outbound/compose.ts";
import { OutboundSender } from "../../src/outbound/send-worker.ts";
import { type GraphHarness, openConversation, senderDeps, startGraphHarness } from "./helpers.ts";

const ACCOUNT = "17841400002000001";
const CUSTOMER = "6200000099000001";

let h: GraphHarness;
let db: Database;
let boss: PgBoss;

beforeAll(async () => {
  // No outbound worker: the test drives the sender itself.
  h = await startGraphHarness([ACCOUNT]);
  db = h.svc.db;
  boss = h.svc.boss;
  await openConversation(db, ACCOUNT, CUSTOMER, 3_600_000);
});

afterAll(async () => {
  await h?.stop();
});

/** The database, except that its next `failures` transactions fail as a restarting Postgres fails them. */
function restarting(real: Database, failures: number): Database {
  let left = failures;
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === "transaction" && left > 0)
        return async () => {
          left -= 1;
          throw Object.assign(new Error("terminating connection due to administrator command"), {
            code: "57P01",
          });
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

it("stores a delivered reply through a Postgres restart instead of sending it again", async () => {
  const sender = (database: Database) =>
    new OutboundSender(
      senderDeps({
        db,
        database,
        graphUrl: h.graph.url,
        keys: h.t.env.TOKEN_ENCRYPTION_KEY as string,
        log: createLogger("silent"),
        metrics: h.svc.metrics,
      }),
    );
  const id = await queueMessage(db, boss, {
    accountId: ACCOUNT,
    customerId: CUSTOMER,
    text: "on its way",
    author: { kind: "agent", id: "U1", name: "Ana" },
  });
  // Two failed attempts at the write that records Instagram's answer, then Postgres is back.
  await expect(sender(restarting(db, 2)).send(id)).resolves.toBe("sent");
  expect(h.graph.sent(ACCOUNT).filter((c) => c.text === "on its way")).toHaveLength(1);
  const { rows } = await db.query<{ delivery_state: string; ig_message_id: string | null }>(
    "SELECT delivery_state, ig_message_id FROM messages WHERE id = $1",
    [id],
  );
  expect(rows[0]).toEqual({ delivery_state: "sent", ig_message_id: h.graph.sent(ACCOUNT)[0]?.messageId });
});

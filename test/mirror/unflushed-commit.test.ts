// Which of the worker's commits wait for the WAL flush (src/db/unflushed-commit.ts): every one
// before a chat call does, the post's ref and the processed mark do not. Each statement outside a
// transaction is run here in one of its own, and the setting in force at its commit is read just
// before it; a transaction's, at its end. Then the claim that makes the two safe: losing both (what
// a Postgres crash before the flush can do) leaves what a worker killed after the post leaves, and
// the retry posts nothing twice.

import { afterAll, beforeAll, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Mirror } from "../../src/mirror/mirror.ts";
import { Bridge } from "../../src/mirror/pipeline.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import { type BackendDatabase, createBackendDatabase } from "../helpers/backend.ts";
import { type Commit, observedCommits } from "../helpers/commit-settings.ts";
import { type SlackHarness, startSlackHarness } from "../helpers/slack.ts";
import { storeDmEvent } from "../helpers/stored-dm.ts";

const CHANNEL = "C0UNFLUSH";
const ACCOUNT = "17841400000000201";

let tdb: BackendDatabase;
let db: Database;
let slack: SlackHarness;

function bridgeOn(on: Database): Bridge {
  const log = createLogger("silent");
  const mirror = new Mirror({
    db: on,
    adapters: new Map([["slack", slack.bridge.adapter]]),
    gateway: undefined,
    log,
    metrics: new Metrics(),
    humanAgent: true,
    refreshMs: 3_600_000,
  });
  return new Bridge({ db: on, log, mirror });
}

const storeDm = (customer: string, text: string) => storeDmEvent(db, ACCOUNT, customer, text);

beforeAll(async () => {
  tdb = await createBackendDatabase();
  db = await openDatabase(tdb.target.kind === "postgres" ? { ...tdb.target, poolSize: 4 } : tdb.target);
  await migrate(db);
  slack = await startSlackHarness();
  await addAccount(db, TokenCipher.fromConfig(Buffer.alloc(32, 5).toString("base64")), {
    igUserId: ACCOUNT,
    username: "brand_unflushed",
    token: "IGAA-unflushed",
    chat: { platform: "slack", channel: CHANNEL },
  });
});

afterAll(async () => {
  await slack?.close();
  await db?.close();
  await tdb?.drop();
});

it("commits the recording and the thread's ref with the flush, the post's ref and the mark without", async () => {
  const commits: Commit[] = [];
  const bridge = bridgeOn(observedCommits(db, commits));
  // A new conversation (its thread opened), then a message in the thread it has.
  await bridge.handleStored(await storeDm("9101", "hello"));
  await bridge.handleStored(await storeDm("9101", "again"));

  const unflushed = commits.filter((c) => c.synchronousCommit === "off").map((c) => c.statement);
  expect(unflushed).toEqual([
    "tb_chat_ref_root",
    "tb_event_processed",
    "tb_chat_ref_root",
    "tb_event_processed",
  ]);
  // Everything else waits for the flush: above all the recording, which tells a retry to look for
  // a post before making one, and the thread's root, made before the first post.
  const flushed = commits.filter((c) => c.synchronousCommit !== "off");
  expect(flushed.filter((c) => c.statement === "transaction")).toHaveLength(2);
  expect(flushed.every((c) => c.synchronousCommit === "on")).toBe(true);
  expect(flushed.length).toBeGreaterThan(2);
  // Only the statement's own transaction: the session's setting is as it was.
  expect((await db.query("SHOW synchronous_commit")).rows).toEqual([{ synchronous_commit: "on" }]);
});

it("losing both leaves what a worker killed after the post leaves: the retry posts nothing twice", async () => {
  const bridge = bridgeOn(db);
  const event = await storeDm("9102", "first");
  await bridge.handleStored(event);
  // The crash before the flush: the ref and the mark are gone, the recording stays.
  await db.query(
    "UPDATE messages SET chat_ref = NULL WHERE chat_ref IS NOT NULL AND conversation_id = (SELECT id FROM conversations WHERE customer_id = '9102')",
  );
  await db.query("UPDATE inbound_events SET status = 'queued', processed_at = NULL WHERE id = $1", [event]);

  const retried = await bridge.handleStored(event);
  expect(retried.outcome).toBe("processed");
  const { rows } = await db.query<{ chat_thread: string; chat_ref: string }>(
    `SELECT c.chat_thread, m.chat_ref FROM conversations c JOIN messages m ON m.conversation_id = c.id
      WHERE c.customer_id = '9102'`,
  );
  const [row] = rows as [{ chat_thread: string; chat_ref: string }];
  const replies = slack.slack.thread(CHANNEL, row.chat_thread).slice(1);
  expect(replies.map((m) => m.text)).toEqual(["Instagram user 9102: first"]);
  expect(row.chat_ref).toBe(replies[0]?.ts);
});

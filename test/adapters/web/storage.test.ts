// The web inbox's rows follow the privacy paths of the messages they copy: a customer's export
// holds their threads' copies (agents' notes typed there included), and the retention pass erases
// old mirrored texts and files, keeping their place in the thread. (Erasure deleting a thread
// whole, people's messages included, is the contract suite's forget.test.ts.)

import { afterAll, beforeAll, expect, it } from "vitest";
import { platforms } from "../../../adapters/index.ts";
import { WebStore } from "../../../adapters/web/store.ts";
import { addAccount } from "../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import { exportCustomer } from "../../../src/privacy/export.ts";
import type { Service } from "../../../src/service.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../../fakes/graph-server.ts";
import {
  startTestService,
  TEST_BACKEND,
  TEST_KEY,
  type TestEnv,
  testEnv,
  waitFor,
} from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

const ACCOUNT = "17841400000000088";
let graph: GraphServer;
let t: TestEnv;
let service: Service;

beforeAll(async () => {
  graph = await startGraphServer(instagramResponder());
  t = await testEnv(TEST_BACKEND, { IG_GRAPH_URL: graph.url, WEB_INBOX: "on" }, platforms);
  service = await startTestService(t);
  await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: ACCOUNT,
    username: "brand",
    token: "IGAA-retention-token",
    chat: { platform: "web", channel: "support" },
  });
});

afterAll(async () => {
  await service?.stop();
  await graph?.close();
  await t?.cleanup();
});

it("exports a customer's thread as the inbox keeps it, notes included", async () => {
  const store = new WebStore(service.db);
  await postWebhook(
    service.url as string,
    dmText(ACCOUNT, "3000000000000009", "m_exp_1", "my size is 42", Date.now()),
  );
  const thread = await waitFor(async () => {
    const { rows } = await service.db.query<{ chat_thread: string | null }>(
      "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [ACCOUNT, "3000000000000009"],
    );
    const ref = rows[0]?.chat_thread ?? undefined;
    return ref && (await store.thread(ref)).length >= 2 ? ref : undefined;
  });
  await store.add({
    channel: "support",
    thread,
    author: { kind: "person", id: "ana" },
    view: { kind: "message", text: "!note prefers email", buttons: [] },
  });
  const copies = new Map([["web", { purge: store.purge.bind(store), export: store.export.bind(store) }]]);
  const data = await exportCustomer(service.db, ACCOUNT, "3000000000000009", new Date(), copies);
  expect(data?.chatCopies.map((c) => [c.platform, c.kind, c.author, c.text])).toEqual([
    ["web", "root", expect.any(String), expect.stringContaining("Instagram DM with")],
    ["web", "post", expect.any(String), "my size is 42"],
    ["web", "message", "ana", "!note prefers email"],
  ]);
  // Without the platform's copies (Slack's live in Slack) the section is empty.
  expect((await exportCustomer(service.db, ACCOUNT, "3000000000000009"))?.chatCopies).toEqual([]);
});

it("erases old copies' texts and files and the inbox's old alerts, and leaves roots, notices and new ones", async () => {
  const store = new WebStore(service.db);
  const said: [string, string][] = [
    ["m_ret_old", "my address is 1 Old Street"],
    ["m_ret_new", "and my phone is 555"],
  ];
  for (const [mid, text] of said)
    await postWebhook(service.url as string, dmText(ACCOUNT, "3000000000000001", mid, text, Date.now()));
  const thread = await waitFor(async () => {
    const { rows } = await service.db.query<{ chat_thread: string | null }>(
      "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [ACCOUNT, "3000000000000001"],
    );
    const ref = rows[0]?.chat_thread ?? undefined;
    return ref && (await store.thread(ref)).length >= 3 ? ref : undefined;
  });
  const [root, old, fresh] = await store.thread(thread);
  await store.addFile(old?.id ?? "", { name: "a.png", mimeType: "image/png", data: Buffer.from("PNG") });
  await store.add({
    channel: "support",
    thread: undefined,
    author: { kind: "bridge" },
    view: { kind: "alert", text: "old alert", buttons: [] },
  });
  const day = 86_400_000;
  await service.db.query(
    "UPDATE web_posts SET created_at = $1 WHERE (thread_id = $3 OR thread_id IS NULL) AND id <> $2",
    [new Date(Date.now() - 100 * day), fresh?.id, thread],
  );

  expect(await store.purge(new Date(Date.now() - 90 * day))).toBe(2);
  const after = await store.thread(thread);
  expect(after.map((p) => p.id)).toEqual([root?.id, old?.id, fresh?.id]);
  expect(after[0]?.view.text).toEqual(root?.view.text);
  expect(after[1]?.view.text).toBe("(erased after the retention period)");
  expect(JSON.stringify(after[1]?.view)).not.toContain("Old Street");
  expect(after[2]?.view.text).toContain("555");
  expect(await store.topLevel("support")).toEqual([]);
  const { rows: files } = await service.db.query("SELECT id FROM web_files");
  expect(files).toEqual([]);
  // A second pass finds nothing more.
  expect(await store.purge(new Date(Date.now() - 90 * day))).toBe(0);
});

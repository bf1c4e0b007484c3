// The web inbox with named console users (no sign-on proxy, no shared password): each person signs
// in with their own name, their messages and signature carry their display name, the first reply
// makes them the owner under that name, and a user of the role admin may do what ADMIN_USERS
// allows while an agent is refused.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../../adapters/index.ts";
import { hashPassword } from "../../../src/http/console/password.ts";
import { addUser } from "../../../src/http/console/users.ts";
import { addAccount } from "../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import type { Service } from "../../../src/service.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../../fakes/graph-server.ts";
import { ConsoleClient, csrfOf } from "../../helpers/console.ts";
import {
  startTestService,
  TEST_BACKEND,
  TEST_KEY,
  type TestEnv,
  testEnv,
  waitFor,
} from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

const ACCOUNT = "17841400000000078";
const CHANNEL = "support";
const CUSTOMER = "2000000000000078";
const PASSWORD = "a long password for tests";

describe("the web inbox's named users", () => {
  let graph: GraphServer;
  let t: TestEnv;
  let service: Service;
  let base: string;

  beforeAll(async () => {
    graph = await startGraphServer(instagramResponder());
    t = await testEnv(
      TEST_BACKEND,
      {
        IG_GRAPH_URL: graph.url,
        WEB_INBOX: "on",
        CONSOLE_SESSION_SECRET: "web-inbox-named-users-session-secret-0123456789",
      },
      platforms,
    );
    service = await startTestService(t);
    base = (service.url as string).replace("localhost", "127.0.0.1");
    const passwordHash = await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 });
    const by = { kind: "operator" as const, id: "cli:test" };
    await addUser(service.db, { name: "ana", displayName: "Ana Bell", role: "admin", passwordHash }, by);
    await addUser(service.db, { name: "bo", displayName: "Bo Chen", role: "agent", passwordHash }, by);
    await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: ACCOUNT,
      username: "brand",
      token: "IGAA-named-token",
      chat: { platform: "web", channel: CHANNEL },
    });
    await service.db.query(
      `UPDATE instagram_accounts SET settings = settings || '{"signature": "name", "ownership": {"mode": "manual"}}'::jsonb
        WHERE id = $1`,
      [ACCOUNT],
    );
  });

  afterAll(async () => {
    await service?.stop();
    await graph?.close();
    await t?.cleanup();
  });

  const signedIn = async (name: string, from: string) => {
    const c = new ConsoleClient(base, {}, from);
    const page = await c.get("/login");
    expect(await c.submit(page, "/login", { name, password: PASSWORD })).toMatchObject({ status: 303 });
    return { c, csrf: csrfOf(await c.get(`/inbox/${CHANNEL}`)) };
  };

  it("shows and signs with the display name, owns under it, and lets only the admin pause", async () => {
    await postWebhook(service.url as string, dmText(ACCOUNT, CUSTOMER, "m_named_1", "hello?", Date.now()));
    const thread = await waitFor(async () => {
      const { rows } = await service.db.query<{ chat_thread: string | null }>(
        "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
        [ACCOUNT, CUSTOMER],
      );
      return rows[0]?.chat_thread ?? undefined;
    });

    const ana = await signedIn("ana", "127.0.0.21");
    const said = await ana.c.post(`/inbox/${CHANNEL}/t/${thread}/messages`, {
      _csrf: ana.csrf,
      text: "Hi, how can I help?",
    });
    expect(said.status).toBe(303);
    const { rows: posts } = await service.db.query<{ author_id: string; view: { as?: { name: string } } }>(
      "SELECT author_id, view FROM web_posts WHERE author_kind = 'person'",
    );
    expect(posts).toEqual([
      { author_id: "ana", view: expect.objectContaining({ as: { name: "Ana Bell" } }) },
    ]);
    const { rows: owner } = await service.db.query<{ assignee: string; assignee_ref: string }>(
      "SELECT assignee, assignee_ref FROM conversations WHERE account_id = $1",
      [ACCOUNT],
    );
    expect(owner).toEqual([{ assignee: "Ana Bell", assignee_ref: "ana" }]);
    const sent = await waitFor(async () =>
      graph.requests
        .map((r) => (r.body as { message?: { text?: string } } | undefined)?.message?.text)
        .find((text) => text?.startsWith("Hi, how can I help?")),
    );
    expect(sent).toContain("Ana Bell");

    // Bo is an agent: a privileged command is refused, naming how to become an admin.
    const bo = await signedIn("bo", "127.0.0.22");
    await bo.c.post(`/inbox/${CHANNEL}/commands`, { _csrf: bo.csrf, text: "/ig pause" });
    expect(await pausedCount()).toBe(0);
    const { rows: refusal } = await service.db.query<{ actor_id: string }>(
      "SELECT actor_id FROM audit_log WHERE action = 'refused' AND actor_id = 'web:bo'",
    );
    expect(refusal).toHaveLength(1);

    // Ana is an admin by her console role, without ADMIN_USERS.
    await ana.c.post(`/inbox/${CHANNEL}/commands`, { _csrf: ana.csrf, text: "/ig pause" });
    expect(await pausedCount()).toBe(1);
  });

  const pausedCount = async () =>
    (await service.db.query("SELECT 1 FROM audit_log WHERE action = 'sending_paused'")).rows.length;
});

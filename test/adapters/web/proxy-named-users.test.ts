// The web inbox behind a sign-on proxy, with named console users: a person the proxy names who is
// also a named user is that user (display name, role), one disabled there is refused, and anyone
// else the proxy names is who the proxy says, with no role of their own.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../../adapters/index.ts";
import { hashPassword } from "../../../src/http/console/password.ts";
import { addUser, setDisabled } from "../../../src/http/console/users.ts";
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

const ACCOUNT = "17841400000000079";
const CHANNEL = "support";
const CUSTOMER = "2000000000000079";

describe("the web inbox's named users behind a sign-on proxy", () => {
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
        CONSOLE_PASSWORD_HASH: "",
        CONSOLE_AUTH_HEADER: "X-Forwarded-User",
        CONSOLE_TRUSTED_PROXIES: "127.0.0.1",
        CONSOLE_SESSION_SECRET: "web-inbox-proxy-named-users-session-secret-0123",
      },
      platforms,
    );
    service = await startTestService(t);
    base = (service.url as string).replace("localhost", "127.0.0.1");
    const passwordHash = await hashPassword("a long password for tests", { ln: 10, r: 8, p: 1 });
    const by = { kind: "operator" as const, id: "cli:test" };
    await addUser(service.db, { name: "ana", displayName: "Ana Bell", role: "admin", passwordHash }, by);
    await addUser(service.db, { name: "bo", displayName: "Bo Chen", role: "admin", passwordHash }, by);
    await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: ACCOUNT,
      username: "brand",
      token: "IGAA-proxy-named-token",
      chat: { platform: "web", channel: CHANNEL },
    });
  });

  afterAll(async () => {
    await service?.stop();
    await graph?.close();
    await t?.cleanup();
  });

  const through = (user: string) => new ConsoleClient(base, { "x-forwarded-user": user }, "127.0.0.1");
  const pausedCount = async () =>
    (await service.db.query("SELECT 1 FROM audit_log WHERE action = 'sending_paused'")).rows.length;

  it("takes a named user's display name and role, refuses a disabled one, and leaves others as named", async () => {
    await postWebhook(service.url as string, dmText(ACCOUNT, CUSTOMER, "m_proxy_1", "hello?", Date.now()));
    const thread = await waitFor(async () => {
      const { rows } = await service.db.query<{ chat_thread: string | null }>(
        "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
        [ACCOUNT, CUSTOMER],
      );
      return rows[0]?.chat_thread ?? undefined;
    });

    // Cy is no named user: signed in as the proxy names them, no role of their own.
    const cy = through("cy");
    const cyCsrf = csrfOf(await cy.get(`/inbox/${CHANNEL}`));
    await cy.post(`/inbox/${CHANNEL}/commands`, { _csrf: cyCsrf, text: "/ig pause" });
    expect(await pausedCount()).toBe(0);

    // Ana is the named user ana: her display name on her reply, and an admin by her role.
    const ana = through("ana");
    const csrf = csrfOf(await ana.get(`/inbox/${CHANNEL}`));
    expect(
      (await ana.post(`/inbox/${CHANNEL}/t/${thread}/messages`, { _csrf: csrf, text: "Hi there" })).status,
    ).toBe(303);
    const { rows: posts } = await service.db.query<{ author_id: string; view: { as?: { name: string } } }>(
      "SELECT author_id, view FROM web_posts WHERE author_kind = 'person'",
    );
    expect(posts).toEqual([
      { author_id: "ana", view: expect.objectContaining({ as: { name: "Ana Bell" } }) },
    ]);
    await ana.post(`/inbox/${CHANNEL}/commands`, { _csrf: csrf, text: "/ig pause" });
    expect(await pausedCount()).toBe(1);

    // Bo was disabled: the proxy's word does not bring him back, and his open session ends too.
    const bo = through("bo");
    expect((await bo.get(`/inbox/${CHANNEL}`)).status).toBe(200);
    await setDisabled(service.db, "bo", true, { kind: "operator", id: "cli:test" });
    const refused = await bo.get(`/inbox/${CHANNEL}`);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain("that console user is disabled here");
    const { rows } = await service.db.query<{ target: string }>(
      "SELECT target FROM audit_log WHERE action = 'refused' AND actor_id = 'console:bo'",
    );
    expect(rows).toEqual([{ target: "console_user_disabled" }]);
  });
});

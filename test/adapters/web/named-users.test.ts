// The web inbox with named console users. Without a sign-on proxy or a shared password, each person
// signs in with their own name, their messages and signature carry their display name, the first
// reply makes them the owner under that name, and a user of the role admin may do what ADMIN_USERS
// allows while an agent is refused. Behind a sign-on proxy, a person the proxy names who is also a
// named user is that user (display name, role), one disabled there is refused, and anyone else the
// proxy names is who the proxy says, with no role of their own.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../../adapters/index.ts";
import { hashPassword } from "../../../src/http/console/password.ts";
import { addUser, type ConsoleRole, setDisabled } from "../../../src/http/console/users.ts";
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
const BY = { kind: "operator" as const, id: "cli:test" };

/** A service with the web inbox, the account mirrored into CHANNEL, and the named users Ana Bell
 * (admin) and Bo Chen (`bo`'s role). */
function useWebInbox(env: Record<string, string>, bo: ConsoleRole) {
  const s = {} as { graph: GraphServer; t: TestEnv; service: Service; base: string };
  beforeAll(async () => {
    s.graph = await startGraphServer(instagramResponder());
    s.t = await testEnv(
      TEST_BACKEND,
      {
        IG_GRAPH_URL: s.graph.url,
        WEB_INBOX: "on",
        CONSOLE_SESSION_SECRET: "web-inbox-named-users-session-secret-0123456789",
        ...env,
      },
      platforms,
    );
    s.service = await startTestService(s.t);
    s.base = (s.service.url as string).replace("localhost", "127.0.0.1");
    const passwordHash = await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 });
    await addUser(s.service.db, { name: "ana", displayName: "Ana Bell", role: "admin", passwordHash }, BY);
    await addUser(s.service.db, { name: "bo", displayName: "Bo Chen", role: bo, passwordHash }, BY);
    await addAccount(s.service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: ACCOUNT,
      username: "brand",
      token: "IGAA-named-token",
      chat: { platform: "web", channel: CHANNEL },
    });
  });

  afterAll(async () => {
    await s.service?.stop();
    await s.graph?.close();
    await s.t?.cleanup();
  });
  return s;
}

/** The thread the customer's first message opened. */
async function openThread(service: Service, mid: string): Promise<string> {
  await postWebhook(service.url as string, dmText(ACCOUNT, CUSTOMER, mid, "hello?", Date.now()));
  return waitFor(async () => {
    const { rows } = await service.db.query<{ chat_thread: string | null }>(
      "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [ACCOUNT, CUSTOMER],
    );
    return rows[0]?.chat_thread ?? undefined;
  });
}

const pausedCount = async (service: Service) =>
  (await service.db.query("SELECT 1 FROM audit_log WHERE action = 'sending_paused'")).rows.length;

describe("the web inbox's named users", () => {
  const s = useWebInbox({}, "agent");
  let service: Service;
  let graph: GraphServer;
  let base: string;
  beforeAll(async () => {
    ({ service, graph, base } = s);
    await service.db.query(
      `UPDATE instagram_accounts SET settings = settings || '{"signature": "name", "ownership": {"mode": "manual"}}'::jsonb
        WHERE id = $1`,
      [ACCOUNT],
    );
  });

  const signedIn = async (name: string, from: string) => {
    const c = new ConsoleClient(base, {}, from);
    const page = await c.get("/login");
    expect(await c.submit(page, "/login", { name, password: PASSWORD })).toMatchObject({ status: 303 });
    return { c, csrf: csrfOf(await c.get(`/inbox/${CHANNEL}`)) };
  };

  it("shows and signs with the display name, owns under it, and lets only the admin pause", async () => {
    const thread = await openThread(service, "m_named_1");

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
    expect(await pausedCount(service)).toBe(0);
    const { rows: refusal } = await service.db.query<{ actor_id: string }>(
      "SELECT actor_id FROM audit_log WHERE action = 'refused' AND actor_id = 'web:bo'",
    );
    expect(refusal).toHaveLength(1);

    // Ana is an admin by her console role, without ADMIN_USERS.
    await ana.c.post(`/inbox/${CHANNEL}/commands`, { _csrf: ana.csrf, text: "/ig pause" });
    expect(await pausedCount(service)).toBe(1);
  });
});

describe("the web inbox's named users behind a sign-on proxy", () => {
  const s = useWebInbox(
    {
      CONSOLE_PASSWORD_HASH: "",
      CONSOLE_AUTH_HEADER: "X-Forwarded-User",
      CONSOLE_TRUSTED_PROXIES: "127.0.0.1",
    },
    "admin",
  );
  const through = (user: string) => new ConsoleClient(s.base, { "x-forwarded-user": user }, "127.0.0.1");

  it("takes a named user's display name and role, refuses a disabled one, and leaves others as named", async () => {
    const { service } = s;
    const thread = await openThread(service, "m_proxy_1");

    // Cy is no named user: signed in as the proxy names them, no role of their own.
    const cy = through("cy");
    const cyCsrf = csrfOf(await cy.get(`/inbox/${CHANNEL}`));
    await cy.post(`/inbox/${CHANNEL}/commands`, { _csrf: cyCsrf, text: "/ig pause" });
    expect(await pausedCount(service)).toBe(0);

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
    expect(await pausedCount(service)).toBe(1);

    // Bo was disabled: the proxy's word does not bring him back, and his open session ends too.
    const bo = through("bo");
    expect((await bo.get(`/inbox/${CHANNEL}`)).status).toBe(200);
    await setDisabled(service.db, "bo", true, BY);
    const refused = await bo.get(`/inbox/${CHANNEL}`);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain("that console user is disabled here");
    const { rows } = await service.db.query<{ target: string }>(
      "SELECT target FROM audit_log WHERE action = 'refused' AND actor_id = 'console:bo'",
    );
    expect(rows).toEqual([{ target: "console_user_disabled" }]);
  });
});

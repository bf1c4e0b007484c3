// The web inbox's live side over real HTTP: a console user's browser holds the inbox's event stream
// (Server-Sent Events) open and sees a customer's message, and the agent's reply with its delivery
// mark, arrive; the stream is bounded per session, closed at sign-out, refused to strangers; and a
// change made by another process of the deployment reaches it through the database.

import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platforms } from "../../../adapters/index.ts";
import { addAccount } from "../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import type { Service } from "../../../src/service.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../../fakes/graph-server.ts";
import { needsDatabaseServer, TEST_BACKEND } from "../../helpers/backend.ts";
import { startTestService, TEST_KEY, type TestEnv, testEnv, waitFor } from "../../helpers/service.ts";
import { dmText, postWebhook } from "../../helpers/webhook.ts";

const ACCOUNT = "17841400000000077";
const CHANNEL = "support";
const USER = "x-test-user";

interface SseEvent {
  event: string;
  data: string;
}

/** An EventSource of the test: the raw stream read over HTTP, parsed into events as they come. */
class EventStream {
  readonly events: SseEvent[] = [];
  status = 0;
  ended = false;
  #close: () => void = () => undefined;

  static open(url: string, headers: Record<string, string>): Promise<EventStream> {
    const stream = new EventStream();
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
        stream.status = res.statusCode ?? 0;
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let at = buffer.indexOf("\n\n");
          while (at >= 0) {
            const block = buffer.slice(0, at);
            buffer = buffer.slice(at + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data !== undefined) stream.events.push({ event, data });
            at = buffer.indexOf("\n\n");
          }
        });
        res.on("end", () => {
          stream.ended = true;
        });
        res.on("close", () => {
          stream.ended = true;
        });
        resolve(stream);
      });
      req.on("error", reject);
      stream.#close = () => req.destroy();
      req.end();
    });
  }

  /** The first event of `kind` whose data says `words`. */
  said(kind: string, words: string): Promise<Record<string, unknown>> {
    return waitFor(
      async () => {
        const found = this.events.find((e) => e.event === kind && e.data.includes(words));
        return found ? (JSON.parse(found.data) as Record<string, unknown>) : undefined;
      },
      10_000,
      `${kind} event saying ${words}`,
    );
  }

  close(): void {
    this.#close();
  }
}

/** A console user's browser: signed in through the trusted proxy's header, its cookie kept. */
class Browser {
  cookie = "";
  csrf = "";
  readonly user: string;
  readonly base: () => string;

  constructor(user: string, base: () => string) {
    this.user = user;
    this.base = base;
  }

  headers(): Record<string, string> {
    return { [USER]: this.user, ...(this.cookie ? { cookie: this.cookie } : {}) };
  }

  async page(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.base()}${path}`, { headers: this.headers(), redirect: "manual" });
    const set = res.headers.getSetCookie()[0];
    if (set) this.cookie = set.split(";")[0] as string;
    const body = await res.text();
    this.csrf = /name="_csrf" value="([^"]+)"/.exec(body)?.[1] ?? this.csrf;
    return { status: res.status, body };
  }

  async post(path: string, body: Record<string, unknown>): Promise<Response> {
    return fetch(`${this.base()}${path}`, {
      method: "POST",
      headers: { ...this.headers(), "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ _csrf: this.csrf, ...body }),
      redirect: "manual",
    });
  }

  stream(query = ""): Promise<EventStream> {
    return EventStream.open(`${this.base()}/inbox/${CHANNEL}/events${query}`, this.headers());
  }
}

async function startInbox(t: TestEnv, roles = {}): Promise<{ service: Service; base: () => string }> {
  const service = await startTestService(t, roles);
  return { service, base: () => (service.url as string).replace("localhost", "127.0.0.1") };
}

const ENV = {
  WEB_INBOX: "on",
  WEB_INBOX_STREAMS_PER_SESSION: "2",
  // Quick rechecks, so a signed-out session's stream ends soon after (the test waits for it).
  WEB_INBOX_HEARTBEAT_SECONDS: "1",
  CONSOLE_AUTH_HEADER: USER,
  CONSOLE_TRUSTED_PROXIES: "127.0.0.1",
  CONSOLE_SESSION_SECRET: "web-inbox-live-test-session-secret-0123456789",
  OUTBOUND_ECHO_GRACE_SECONDS: "2",
};

describe("the web inbox's live stream", () => {
  let graph: GraphServer;
  let t: TestEnv;
  let service: Service;
  let base: () => string;

  beforeAll(async () => {
    graph = await startGraphServer(instagramResponder());
    t = await testEnv(TEST_BACKEND, { IG_GRAPH_URL: graph.url, ...ENV }, platforms);
    ({ service, base } = await startInbox(t));
    await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: ACCOUNT,
      username: "brand",
      token: "IGAA-live-token",
      chat: { platform: "web", channel: CHANNEL },
    });
  });

  afterAll(async () => {
    await service?.stop();
    await graph?.close();
    await t?.cleanup();
  });

  it("shows a customer's message and the agent's delivered reply as they happen, and the page shows them too", async () => {
    const ana = new Browser("ana", base);
    expect((await ana.page(`/inbox/${CHANNEL}`)).status).toBe(200);
    const inbox = await ana.stream();
    expect(inbox.status).toBe(200);

    await postWebhook(
      service.url as string,
      dmText(ACCOUNT, "2000000000000001", "m_live_1", "is the blue one back?", Date.now()),
    );
    // The inbox's list learns of the new thread…
    const root = await inbox.said("post", "customer");
    expect(root.item).toEqual(expect.stringContaining("DM with"));
    const thread = String(root.id);
    // …and a page of the thread sees its messages.
    const page = await ana.stream(`?thread=${thread}`);
    await postWebhook(
      service.url as string,
      dmText(ACCOUNT, "2000000000000001", "m_live_2", "size 42 please", Date.now()),
    );
    await page.said("post", "size 42 please");

    const sent = await ana.post(`/inbox/${CHANNEL}/t/${thread}/messages`, { text: "Yes, back in stock!" });
    expect(sent.status).toBe(200);
    const { id } = (await sent.json()) as { id: string };
    const delivered = await waitFor(async () => {
      const e = page.events.find((x) => x.event === "post" && x.data.includes("mark-sent"));
      return e ? (JSON.parse(e.data) as { id: string; html: string }) : undefined;
    });
    expect(delivered.id).toBe(id);
    expect(delivered.html).toContain("Yes, back in stock!");
    expect(delivered.html).toContain("delivered");

    // A page loaded now shows the same thread, its buttons and the mark.
    const html = (await ana.page(`/inbox/${CHANNEL}/t/${thread}`)).body;
    expect(html).toContain("is the blue one back?");
    expect(html).toContain("size 42 please");
    expect(html).toContain('value="ig_conversation_close"');
    expect(html).toContain("mark-sent");
    expect(html).toContain('href="/inbox"');

    // Only its author may delete a reply; a sent one cannot be unsent, and the thread says so.
    const bob = new Browser("bob", base);
    await bob.page(`/inbox/${CHANNEL}`);
    const refused = await bob.post(`/inbox/${CHANNEL}/t/${thread}/posts/${id}/delete`, {});
    expect(((await refused.json()) as { told: { text: string } }).told.text).toMatch(/Only its author/);
    expect((await ana.post(`/inbox/${CHANNEL}/t/${thread}/posts/${id}/delete`, {})).status).toBe(200);
    await page.said("gone", `"id":"${id}"`);
    await page.said("post", "cannot unsend");
    inbox.close();
    page.close();
  });

  it("refuses a stream beyond the session's limit, and to someone not signed in", async () => {
    const bob = new Browser("bob", base);
    await bob.page(`/inbox/${CHANNEL}`);
    const [a, b] = [await bob.stream(), await bob.stream()];
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await bob.stream()).status).toBe(429);
    a.close();
    await waitFor(async () => {
      const again = await bob.stream();
      if (again.status === 200) return again;
      again.close();
      return undefined;
    });
    b.close();

    const stranger = await EventStream.open(`${base()}/inbox/${CHANNEL}/events`, {});
    expect(stranger.status).toBe(401);
    expect(stranger.events).toEqual([]);
  });

  it("ends the stream when its session signs out", async () => {
    const cleo = new Browser("cleo", base);
    await cleo.page(`/inbox/${CHANNEL}`);
    const stream = await cleo.stream();
    expect(stream.status).toBe(200);
    const out = await fetch(`${base()}/logout`, {
      method: "POST",
      headers: { ...cleo.headers(), "content-type": "application/x-www-form-urlencoded" },
      body: `_csrf=${encodeURIComponent(cleo.csrf)}`,
      redirect: "manual",
    });
    expect(out.status).toBeLessThan(400);
    await waitFor(async () => (stream.ended ? true : undefined));
    expect(stream.events.map((e) => e.event)).toContain("signedout");
  });

  it("works without the page's script: a plain form closes the conversation, and what customers wrote is only ever text", async () => {
    const eve = new Browser("eve", base);
    await eve.page(`/inbox/${CHANNEL}`);
    const stream = await eve.stream();
    await postWebhook(
      service.url as string,
      dmText(ACCOUNT, "2000000000000003", "m_live_3", '<script>alert("x")</script><img src=x>', Date.now()),
    );
    const thread = await waitFor(async () => {
      const { rows } = await service.db.query<{ chat_thread: string | null }>(
        "SELECT chat_thread FROM conversations WHERE customer_id = $1",
        ["2000000000000003"],
      );
      return rows[0]?.chat_thread ?? undefined;
    });
    await stream.said("post", `"id":"${thread}"`);
    await waitFor(async () =>
      (await eve.page(`/inbox/${CHANNEL}/t/${thread}`)).body.includes("alert") ? true : undefined,
    );
    const page = (await eve.page(`/inbox/${CHANNEL}/t/${thread}`)).body;
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x&gt;");
    expect(page).not.toContain('<script>alert("x")');
    expect(page).not.toContain("<img src=x>");

    const form = await fetch(`${base()}/inbox/${CHANNEL}/t/${thread}/posts/${thread}/press`, {
      method: "POST",
      headers: { ...eve.headers(), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: eve.csrf, action: "ig_conversation_close" }).toString(),
      redirect: "manual",
    });
    expect(form.status).toBe(303);
    expect(form.headers.get("location")).toBe(`/inbox/${CHANNEL}/t/${thread}`);
    await waitFor(async () =>
      (await eve.page(`/inbox/${CHANNEL}/t/${thread}`)).body.includes("eve closed this conversation")
        ? true
        : undefined,
    );
    const after = (await eve.page(`/inbox/${CHANNEL}/t/${thread}`)).body;
    expect(after).toContain('value="ig_conversation_reopen"');
    expect(after).toContain("Status: closed");
    stream.close();
  });

  it("refuses a form without the session's CSRF token", async () => {
    const dan = new Browser("dan", base);
    await dan.page(`/inbox/${CHANNEL}`);
    const res = await fetch(`${base()}/inbox/${CHANNEL}/commands`, {
      method: "POST",
      headers: { ...dan.headers(), "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ text: "/ig help", _csrf: "forged" }),
    });
    expect(res.status).toBe(403);
    const ok = await dan.post(`/inbox/${CHANNEL}/commands`, { text: "/ig help" });
    expect(((await ok.json()) as { told: { text: string } }).told.text).toContain("queue");
  });
});

describe("the web inbox across processes", () => {
  needsDatabaseServer("a web process and a worker process on one database");
  let graph: GraphServer;
  let t: TestEnv;
  let worker: Service;
  let web: { service: Service; base: () => string };

  beforeAll(async () => {
    graph = await startGraphServer(instagramResponder());
    t = await testEnv(TEST_BACKEND, { IG_GRAPH_URL: graph.url, ...ENV }, platforms);
    worker = await startTestService(t, { web: true, worker: true });
    web = await startInbox(t, { web: true, worker: false, migrate: false });
    await addAccount(worker.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: ACCOUNT,
      username: "brand",
      token: "IGAA-live-token",
      chat: { platform: "web", channel: CHANNEL },
    });
  });

  afterAll(async () => {
    await web?.service.stop();
    await worker?.stop();
    await graph?.close();
    await t?.cleanup();
  });

  it("tells the web process's pages what the worker mirrored", async () => {
    const ana = new Browser("ana", web.base);
    await ana.page(`/inbox/${CHANNEL}`);
    const stream = await ana.stream();
    expect(stream.status).toBe(200);
    // The webhook reaches the worker's process; its mirror writes the thread there.
    await postWebhook(
      worker.url as string,
      dmText(ACCOUNT, "2000000000000002", "m_far_1", "hello from afar", Date.now()),
    );
    const root = await stream.said("post", "customer");
    expect(String(root.html)).toContain("Instagram DM with");
    stream.close();
  });
});

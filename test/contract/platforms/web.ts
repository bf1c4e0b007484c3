// The contract harness on the web inbox: the service with WEB_INBOX=on and the console's sign-in
// through a trusted proxy header (so each person of the scenarios is their own console user; both
// are named console users too, the inbox's members for an assignment pool), one
// account routed to an inbox, and people acting through the inbox's real HTTP endpoints: the forms
// the page posts (a reply, a button, an emoji, `/ig`) with the session's cookie and CSRF token.
// What the inbox shows is read from its live events (what the pages' streams are sent), kept here
// as they arrive, rendered as the page renders them.

import { expect } from "vitest";
import { platforms } from "../../../adapters/index.ts";
import type { WebAdapter } from "../../../adapters/web/adapter.ts";
import { webPlatform } from "../../../adapters/web/index.ts";
import type { LiveHub } from "../../../adapters/web/live.ts";
import { postHtml } from "../../../adapters/web/pages.ts";
import { SLASH } from "../../../adapters/web/people.ts";
import { PLATFORM, type WebPost } from "../../../adapters/web/view.ts";
import { COMMANDS } from "../../../src/commands/catalog.ts";
import { hashPassword } from "../../../src/http/console/password.ts";
import { addUser } from "../../../src/http/console/users.ts";
import { addAccount } from "../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import type { Service } from "../../../src/service.ts";
import { instagramResponder, startGraphServer } from "../../fakes/graph-server.ts";
import { startTestService, TEST_BACKEND, TEST_KEY, testEnv, waitFor } from "../../helpers/service.ts";
import type { Answer, ChatHarness, ChatPerson, ContractPlatform, Posted } from "../harness.ts";

const ACCOUNT = "17841400000000001";
const CHANNEL = "instagram";
const AGENT: ChatPerson = { id: "ana", name: "ana" };
const ADMIN: ChatPerson = { id: "root", name: "root" };
const USER_HEADER = "x-test-user";

interface Told {
  text: string;
  file?: { name: string; mimeType: string; content: string };
}

/** One console user: their session cookie and its CSRF token, from their first page. */
class Browser {
  #cookie = "";
  #csrf = "";
  readonly person: ChatPerson;
  readonly base: () => string;

  constructor(person: ChatPerson, base: () => string) {
    this.person = person;
    this.base = base;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return { [USER_HEADER]: this.person.id, ...(this.#cookie ? { cookie: this.#cookie } : {}), ...extra };
  }

  async get(path: string): Promise<Response> {
    const res = await fetch(`${this.base()}${path}`, { headers: this.#headers(), redirect: "manual" });
    const set = res.headers.getSetCookie()[0];
    if (set) this.#cookie = set.split(";")[0] as string;
    return res;
  }

  async post(
    path: string,
    body: Record<string, unknown>,
  ): Promise<{ ok: boolean; id?: string; told?: Told }> {
    if (!this.#csrf) {
      const page = await (await this.get(`/inbox/${CHANNEL}`)).text();
      this.#csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
    }
    const res = await fetch(`${this.base()}${path}`, {
      method: "POST",
      headers: this.#headers({ "content-type": "application/json", accept: "application/json" }),
      body: JSON.stringify({ ...body, _csrf: this.#csrf }),
      redirect: "manual",
    });
    if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { ok: boolean; id?: string; told?: Told };
  }

  /** After a restart: the session cookie still holds (same secret), but start again anyway. */
  forget(): void {
    this.#cookie = "";
    this.#csrf = "";
  }
}

/** The command line `/ig name args…` of named arguments, in the order the command takes them. */
function commandLine(name: string, args: Record<string, string>): string {
  const command = COMMANDS.find(SLASH, name);
  const order = command ? Object.keys(command.args) : Object.keys(args);
  const words = order
    .filter((key) => args[key] !== undefined)
    .map((key) => {
      const v = args[key] as string;
      return /\s|^["“']/.test(v) ? `"${v}"` : v;
    });
  return ["/ig", name, ...words].join(" ");
}

export const web: ContractPlatform = {
  name: PLATFORM,
  async start(options = {}) {
    const graph = await startGraphServer(instagramResponder());
    // What the inbox holds, as its live events told it, and every root as first shown.
    const shown = new Map<string, WebPost>();
    const opened: { thread: string; text: string }[] = [];
    const told = new Map<string, string[]>();
    let adapter: WebAdapter | undefined;
    const onEvent: Parameters<LiveHub["subscribe"]>[0] = (e) => {
      if (e.kind === "post") {
        if (e.post.thread === e.post.id && !shown.has(e.post.id))
          opened.push({ thread: e.post.id, text: e.post.view.text });
        shown.set(e.post.id, e.post);
      } else if (e.kind === "gone") {
        shown.delete(e.post);
        for (const [id, p] of shown) if (p.thread === e.post) shown.delete(id);
      }
    };
    const plugin = webPlatform({
      created(made) {
        adapter = made.adapter;
        made.live.subscribe(onEvent);
      },
    });
    const t = await testEnv(
      options.backend ?? TEST_BACKEND,
      {
        IG_GRAPH_URL: graph.url,
        ADMIN_USERS: `${PLATFORM}:${ADMIN.id}`,
        OUTBOUND_ECHO_GRACE_SECONDS: "2",
        WEB_INBOX: "on",
        CONSOLE_AUTH_HEADER: USER_HEADER,
        CONSOLE_TRUSTED_PROXIES: "127.0.0.1",
        CONSOLE_SESSION_SECRET: "web-inbox-contract-session-secret-0123456789",
        ...options.env,
      },
      platforms.map((p) => (p.name === PLATFORM ? plugin : p)),
    );
    let service: Service = await startTestService(t);
    const base = () => (service.url as string).replace("localhost", "127.0.0.1");
    const browsers = new Map<string, Browser>();
    const as = (person: ChatPerson = AGENT) => {
      const b = browsers.get(person.id) ?? new Browser(person, base);
      browsers.set(person.id, b);
      return b;
    };
    const noteTold = (person: ChatPerson, answer: { told?: Told }) => {
      if (answer.told?.text) told.set(person.id, [...(told.get(person.id) ?? []), answer.told.text]);
    };
    // Both people are also named console users (the web inbox's members, its pool `all`), though
    // they sign in through the proxy here: the user name is the same id either way.
    for (const person of [AGENT, ADMIN])
      await addUser(
        service.db,
        {
          name: person.id,
          displayName: person.name,
          role: "agent",
          passwordHash: await hashPassword(`${person.id} password for tests`, { ln: 10, r: 8, p: 1 }),
        },
        { kind: "operator", id: "cli:test" },
      );
    await addAccount(service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: ACCOUNT,
      username: "brand",
      token: "IGAA-e2e-token",
      chat: { platform: PLATFORM, channel: CHANNEL },
    });
    const threadOf = (sql: string, key: string) =>
      waitFor(
        async () => {
          const { rows } = await service.db.query<{ chat_thread: string | null }>(sql, [ACCOUNT, key]);
          return rows[0]?.chat_thread ?? undefined;
        },
        10_000,
        `thread of ${key}`,
      );
    const stateOf = async (ref: string) => {
      const { rows } = await service.db.query<{ delivery_state: string; delivery_error: string | null }>(
        "SELECT delivery_state, delivery_error FROM messages WHERE chat_ref = $1",
        [ref],
      );
      return rows[0];
    };
    const session = { sid: "harness", csrf: "harness", user: AGENT.id, exp: Number.MAX_SAFE_INTEGER };
    const posted = (p: WebPost): Posted => ({
      id: p.id,
      text: p.view.text,
      // As the page shows it: the text, and the post's markup (buttons, links, marks, emoji).
      shows: `${p.view.text}\n${postHtml(session, p).value}`,
      ...(p.view.as && p.author.kind === "bridge" ? { author: p.view.as } : {}),
      edited: p.edited,
      fromBridge: p.author.kind === "bridge",
      actions: p.view.buttons.map((b) => b.id),
    });
    const inThread = (thread: string) =>
      [...shown.values()]
        .filter((p) => p.thread === thread)
        .sort((a, b) => Number(a.id) - Number(b.id))
        .map(posted);
    const path = (thread: string) => `/inbox/${CHANNEL}/t/${thread}`;
    const h: ChatHarness = {
      platform: PLATFORM,
      account: ACCOUNT,
      channel: CHANNEL,
      otherChannel: "other-brand",
      agent: AGENT,
      admin: ADMIN,
      pool: "all",
      erasesPeoplesMessages: true,
      cannotQuote: undefined,
      commandsInThreads: true,
      graph,
      t,
      get service() {
        return service;
      },
      url: () => service.url as string,
      async restart() {
        await service.stop();
        service = await startTestService(t);
        for (const b of browsers.values()) b.forget();
      },
      async close() {
        await service.stop();
        await graph.close();
        await t.cleanup();
      },
      key: (p) => `${PLATFORM}:${p.id}`,
      sends: () => graph.requests.filter((r) => r.method === "POST" && r.path.endsWith("/messages")),
      threadOf: (customer) =>
        threadOf(
          "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
          customer,
        ),
      commentThreadOf: (root) =>
        threadOf(
          "SELECT chat_thread FROM comment_threads WHERE account_id = $1 AND root_comment_id = $2",
          root,
        ),
      root(thread) {
        const p = shown.get(thread);
        return p && p.thread === p.id ? posted(p) : undefined;
      },
      posts: (thread, n) =>
        waitFor(
          async () => {
            const after = inThread(thread).filter((m) => m.id !== thread);
            return after.length >= n ? after : undefined;
          },
          10_000,
          `${n} posts in ${thread}`,
        ),
      messages: inThread,
      message(thread, id) {
        const p = shown.get(id);
        return p && p.thread === thread ? posted(p) : undefined;
      },
      threadCount: () => [...shown.values()].filter((p) => p.channel === CHANNEL && p.thread === p.id).length,
      threadsOpened: (text) => opened.filter((o) => o.text.includes(text)).length,
      said: (text) => expect.stringMatching(new RegExp(`^${RegExp.escape(text)}$`)),
      reactions: (_thread, message) =>
        Object.entries(shown.get(message)?.reactions ?? {})
          .filter(([, who]) => who.length > 0)
          .map(([emoji]) => emoji),
      marked: (_thread, message, mark) => shown.get(message)?.mark === mark,

      async agentOpens(thread, person = AGENT) {
        const res = await as(person).get(path(thread));
        if (res.status !== 200) throw new Error(`the thread page answered ${res.status}`);
        await res.text();
      },
      async agentSays(thread, text, options = {}) {
        const person = options.as ?? AGENT;
        const answer = await as(person).post(`${path(thread)}/messages`, {
          text,
          ...(options.quoting ? { quote: options.quoting } : {}),
          ...(options.files
            ? {
                files: options.files.map((f) => ({
                  name: f.name,
                  mimeType: f.mimeType,
                  data: f.data.toString("base64"),
                })),
              }
            : {}),
        });
        noteTold(person, answer);
        if (!answer.id) throw new Error(`“${text}” made no message`);
        return answer.id;
      },
      async press(thread, message, actionId, options = {}) {
        const person = options.as ?? AGENT;
        const answer = await as(person).post(`${path(thread)}/posts/${message}/press`, {
          action: actionId,
          ...(options.pick ? { pick: options.pick } : {}),
        });
        noteTold(person, answer);
      },
      async react(thread, message, emoji, person = AGENT) {
        if (person === "bridge") {
          await adapter?.react({ channel: CHANNEL, thread }, message, emoji, true);
          return;
        }
        noteTold(person, await as(person).post(`${path(thread)}/posts/${message}/react`, { emoji }));
      },
      // The inbox's emoji buttons toggle: the same emoji again takes it off.
      async unreact(thread, message, emoji, person = AGENT) {
        noteTold(person, await as(person).post(`${path(thread)}/posts/${message}/react`, { emoji }));
      },
      async command(name, args = {}, options = {}) {
        const person = options.as ?? AGENT;
        const where = options.in ?? CHANNEL;
        const inThread = /^\d+$/.test(where);
        const answer = await as(person).post(`/inbox/${inThread ? CHANNEL : where}/commands`, {
          text: commandLine(name, args),
          ...(inThread ? { thread: where } : {}),
        });
        const result: Answer = { text: answer.told?.text ?? "" };
        if (answer.told?.file) result.file = { ...answer.told.file, onlyFor: person.id };
        return result;
      },
      toldPrivately: (person) => told.get(person.id) ?? [],
      stateOf,
      settled: (ref, state) =>
        waitFor(
          async () => {
            const s = await stateOf(ref);
            return s?.delivery_state === state ? s : undefined;
          },
          10_000,
          `message ${ref} ${state}`,
        ),
    };
    return h;
  },
};

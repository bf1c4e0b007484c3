// The web console under test: a whole service with Slack on, a fake Slack, and a fake Graph API
// that also plays Instagram's Business Login; a cookie-keeping HTTP client that records every
// answer (to prove no token ever reaches a browser); and the service's log lines, captured.

import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { Writable } from "node:stream";
import { expect } from "vitest";
import { hashPassword } from "../../src/http/console/password.ts";
import { createLogger } from "../../src/log/logger.ts";
import { type Service, startService } from "../../src/service.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../fakes/graph-server.ts";
import { type FakeInstagramLogin, fakeInstagramLogin } from "../fakes/instagram-login.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { APP_SECRET, TEST_BACKEND, type TestEnv, testEnv } from "./service.ts";

export const PASSWORD = "correct horse battery staple";
export const APP_ID = "990011223344556";
export const SESSION_SECRET = "console-session-secret-for-tests-0123456789";

// A cheaper cost than production's ln=17 keeps the many sign-ins of these tests quick; the cost is
// read from the hash, so the same code path checks it.
const passwordHash = hashPassword(PASSWORD, { ln: 12, r: 8, p: 1 });

export interface ConsoleHarness {
  /** The address browsers use: PUBLIC_URL. */
  url: string;
  t: TestEnv;
  service: Service;
  graph: GraphServer;
  slack: SlackServer;
  login: FakeInstagramLogin;
  /** Every log line the service wrote. */
  logs: string[];
  /** A browser; `from` is the loopback address it connects from (127.0.0.2…): its own client address. */
  client(headers?: Record<string, string>, from?: string): ConsoleClient;
  /** The audit entries of `action`, oldest first. */
  audit(
    action: string,
  ): Promise<Array<{ actor_id: string; target: string; details: Record<string, unknown> }>>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** The service must know its address before it listens (PUBLIC_URL, the OAuth redirect), so the
 * port is picked first; another file may take it meanwhile, and then a new one is picked. */
export async function startConsoleHarness(extraEnv: Record<string, string> = {}): Promise<ConsoleHarness> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startConsoleHarnessOn(await freePort(), extraEnv);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 5) throw err;
    }
  }
}

async function startConsoleHarnessOn(
  port: number,
  extraEnv: Record<string, string>,
): Promise<ConsoleHarness> {
  const url = `http://127.0.0.1:${port}`;
  const slack = await startSlackServer();
  const login = fakeInstagramLogin({
    appId: APP_ID,
    appSecret: APP_SECRET,
    redirectUri: `${url}/oauth/instagram/callback`,
  });
  const others = instagramResponder();
  const graph = await startGraphServer((req) => login.respond(req) ?? others(req));
  const t = await testEnv(TEST_BACKEND, {
    PORT: String(port),
    PUBLIC_URL: url,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: "slack-signing-secret-console",
    SLACK_API_URL: slack.apiUrl,
    SLACK_POSTS_PER_SECOND: "1000",
    IG_APP_ID: APP_ID,
    IG_GRAPH_URL: graph.url,
    IG_OAUTH_URL: graph.url,
    IG_API_URL: graph.url,
    CONSOLE_PASSWORD_HASH: await passwordHash,
    CONSOLE_SESSION_SECRET: SESSION_SECRET,
    ...extraEnv,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(
      t.config,
      { web: true, worker: true, migrate: true },
      createLogger(extraEnv.LOG_LEVEL ?? "debug", { destination: sink }),
    );
  } catch (err) {
    await graph.close();
    await slack.close();
    await t.cleanup();
    throw err;
  }
  return {
    url,
    t,
    service,
    graph,
    slack,
    login,
    logs,
    client: (headers = {}, from = undefined) => new ConsoleClient(url, headers, from),
    async audit(action) {
      const { rows } = await service.db.query<{
        actor_id: string;
        target: string;
        details: Record<string, unknown>;
      }>("SELECT actor_id, target, details FROM audit_log WHERE action = $1 ORDER BY id", [action]);
      return rows;
    },
    async close() {
      await service.stop();
      await graph.close();
      await slack.close();
      await t.cleanup();
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
  /** The redirect target, when there is one. */
  location: string | undefined;
}

/**
 * A browser's cookie jar over HTTP, redirects not followed, every answer kept in `seen`. It connects
 * from `from` when given: distinct loopback addresses are distinct clients to the service, whatever
 * it makes of X-Forwarded-For.
 */
export class ConsoleClient {
  readonly base: string;
  readonly headers: Record<string, string>;
  readonly from: string | undefined;
  readonly cookies = new Map<string, string>();
  readonly seen: string[] = [];

  constructor(base: string, headers: Record<string, string> = {}, from?: string) {
    this.base = base;
    this.headers = headers;
    this.from = from;
  }

  async request(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Answer> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await send(new URL(path, this.base), {
      method: init.method ?? "GET",
      headers: { ...this.headers, ...(cookie ? { cookie } : {}), ...init.headers },
      body: init.body,
      from: this.from,
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
    this.seen.push(`${res.status} ${JSON.stringify([...res.headers])}\n${res.body}`);
    return { ...res, location: res.headers.get("location") ?? undefined };
  }

  get(path: string): Promise<Answer> {
    return this.request(path);
  }

  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
    return this.request(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Submits the first form of `page` posting to `action`, with its hidden fields and `fields`. */
  submit(page: Answer, action: string, fields: Record<string, string> = {}): Promise<Answer> {
    return this.post(action, { _csrf: csrfOf(page), ...fields });
  }

  async signIn(password = PASSWORD): Promise<Answer> {
    const page = await this.get("/login");
    return this.submit(page, "/login", { password });
  }
}

/** One HTTP request, from the local address `from` when given. */
function send(
  url: URL,
  o: { method: string; headers: Record<string, string>; body: string | undefined; from: string | undefined },
): Promise<{ status: number; headers: Headers; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: o.method, headers: o.headers, localAddress: o.from }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const headers = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          headers.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

export function csrfOf(page: Answer): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(page.body);
  if (!m?.[1]) throw new Error(`no CSRF token in the page (status ${page.status})`);
  return m[1];
}

/** Start → Instagram's consent (the fake answers at once) → back at the callback. */
export async function throughConsent(
  h: ConsoleHarness,
  client: ConsoleClient,
): Promise<{ consent: string; callback: Answer }> {
  const start = await client.get("/oauth/instagram/start");
  expect(start.status).toBe(303);
  const consent = start.location as string;
  // The consent page is Instagram's: the service's cookies do not go there.
  const instagram = await fetch(consent, { redirect: "manual" });
  expect(instagram.status).toBe(302);
  const back = new URL(instagram.headers.get("location") as string);
  expect(back.origin).toBe(h.url);
  return { consent, callback: await client.get(`${back.pathname}${back.search}`) };
}

// `threadbridge demo` as a newcomer runs it: the real command in its own process, its `console:`
// and `password:` lines read from its output, a sign-in over HTTP, the DEMO conversation found in
// the inbox and answered through the inbox's own endpoint (as the page's form posts it), and the
// answer seen by the demo's Instagram stand-in exactly once. Then SIGTERM: it stops and deletes its
// data. And the refusal beside a real Instagram app's credentials, from the environment or `.env`.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.ts";
import { waitFor } from "../helpers/service.ts";

const BIN = fileURLToPath(new URL("../../bin/threadbridge.js", import.meta.url));

/** The environment of the test process without anything that would make the demo refuse. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of ["IG_APP_SECRET", "META_APP_SECRET", "IG_APP_ID", "IG_VERIFY_TOKEN"]) {
    delete env[name];
    delete env[`${name}_FILE`];
  }
  return env;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** The demo's lines as `name: value`, collected as they are printed. */
function readLines(child: ChildProcess): Map<string, string> {
  const lines = new Map<string, string>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const m = /^(console|password|inbox|instagram|data): (\S+)/.exec(line);
    if (m) lines.set(m[1] as string, m[2] as string);
  });
  return lines;
}

/** A browser's cookies, kept by name. */
class Jar {
  readonly #cookies = new Map<string, string>();
  keep(res: Response): void {
    for (const set of res.headers.getSetCookie()) {
      const [pair = ""] = set.split(";");
      const eq = pair.indexOf("=");
      this.#cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  get header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

describe("threadbridge demo", () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("shows a DEMO conversation in the inbox; an agent's answer reaches the Instagram stand-in once", async () => {
    // An empty working directory: no `.env` of the checkout, and proof that no ./.data is made.
    const cwd = mkdtempSync(path.join(tmpdir(), "threadbridge-demo-cwd-"));
    dirs.push(cwd);
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, "demo"], {
      cwd,
      env: cleanEnv({ PORT: String(port), LOG_LEVEL: "warn" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const lines = readLines(child);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the demo exited ${child.exitCode}: ${stderr}`);
        return lines.has("data") ? true : undefined;
      },
      150_000,
      "the demo's console and password lines",
    );
    const consoleUrl = lines.get("console") as string;
    const password = lines.get("password") as string;
    const standIn = lines.get("instagram") as string;
    const data = lines.get("data") as string;
    expect(consoleUrl).toBe(`http://localhost:${port}/`);
    expect(existsSync(data)).toBe(true);
    const base = consoleUrl.replace(/\/$/, "");

    // Sign in with the printed password.
    const jar = new Jar();
    const get = async (p: string) => {
      const res = await fetch(`${base}${p}`, { headers: { cookie: jar.header }, redirect: "manual" });
      jar.keep(res);
      return res;
    };
    const loginPage = await get("/login");
    const signIn = await fetch(`${base}/login`, {
      method: "POST",
      headers: { cookie: jar.header, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ password, _csrf: csrfOf(await loginPage.text()) }),
      redirect: "manual",
    });
    jar.keep(signIn);
    expect(signIn.status).toBe(303);

    // The inbox (one inbox: /inbox leads to it) lists the DEMO customer's DM thread.
    const inbox = await get("/inbox");
    expect(inbox.status).toBe(303);
    const inboxPath = new URL(inbox.headers.get("location") as string, base).pathname;
    const thread = await waitFor(
      async () => {
        const html = await (await get(inboxPath)).text();
        return /href="(\/inbox\/[^"/]+\/t\/\d+)">DM with Maya DEMO/.exec(html)?.[1];
      },
      60_000,
      "the DEMO conversation in the inbox",
    );
    const page = await (await get(thread)).text();
    expect(page).toContain("Is the DEMO hoodie still available");

    // Answered through the inbox's endpoint, as the page's script posts the reply form.
    const text = `Yes, the blue one is in stock (${Date.now()})`;
    const answered = await fetch(`${base}${thread}/messages`, {
      method: "POST",
      headers: { cookie: jar.header, "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ text, _csrf: csrfOf(page) }),
    });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ ok: true });

    type Sends = { sends: { text?: string; recipient: { id?: string } }[] };
    const sendsOf = async () => ((await (await fetch(`${standIn}/demo/sends`)).json()) as Sends).sends;
    await waitFor(
      async () => ((await sendsOf()).some((s) => s.text === text) ? true : undefined),
      60_000,
      "the answer at the Instagram stand-in",
    );
    // The stand-in echoed the send and the customer replied to it: the answer's whole round is over.
    await waitFor(
      async () => ((await (await get(thread)).text()).includes("(DEMO reply)") ? true : undefined),
      60_000,
      "the customer's reply to the answer",
    );
    const mine = (await sendsOf()).filter((s) => s.text === text);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.recipient.id).toBe("1000000000000420");

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(existsSync(data)).toBe(false);
    expect(existsSync(path.join(cwd, ".data"))).toBe(false);
  }, 300_000);

  it("refuses to start when a real Instagram app secret is in the environment", async () => {
    const { code, stdout, stderr } = await cli(["demo"], { IG_APP_SECRET: "a-real-app-secret" });
    expect(code).toBe(78);
    expect(stderr).toMatch(
      /^threadbridge: the demo does not run where a real Instagram app is configured \(IG_APP_SECRET set/m,
    );
    expect(stdout).not.toMatch(/^password:/m);
  });

  it("refuses to start when the working directory's .env holds real Instagram credentials", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "threadbridge-demo-env-"));
    dirs.push(cwd);
    writeFileSync(path.join(cwd, ".env"), "IG_APP_ID=990011223344556\nMETA_APP_SECRET=a-real-meta-secret\n");
    const { code, stdout, stderr } = await cli(["demo"], {}, undefined, { cwd });
    expect(code).toBe(78);
    expect(stderr).toMatch(/real Instagram app is configured \(META_APP_SECRET, IG_APP_ID set/);
    expect(stdout).toBe("");
    expect(existsSync(path.join(cwd, ".data"))).toBe(false);
  });
});

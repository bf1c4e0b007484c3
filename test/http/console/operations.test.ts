// The console's switches (issue 20): pause and resume (global and per account, the same switches
// as `threadbridge pause`), routing an account (validated like `accounts route`), and the digest
// preview (the chart and the text of `digest --print`). Every change is a CSRF-checked, audited POST.

import escapeHtml from "escape-html";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DigestService } from "../../../src/digest/digest-service.ts";
import { digestText } from "../../../src/digest/digest-text.ts";
import { createLogger } from "../../../src/log/logger.ts";
import { pauseOf } from "../../../src/outbound/pause.ts";
import { type ConsoleClient, type ConsoleHarness, startConsoleHarness } from "../../helpers/console.ts";
import { SEED_ACCOUNT, seedConsole } from "../../helpers/console-seed.ts";

let h: ConsoleHarness;
let c: ConsoleClient;

beforeAll(async () => {
  h = await startConsoleHarness({ LOG_LEVEL: "silent" });
  await seedConsole(h.service.db);
  c = h.client();
  await c.signIn();
});
afterAll(async () => {
  await h?.close();
});

const audit = async (action: string) =>
  (
    await h.service.db.query<{
      actor_id: string;
      account_id: string | null;
      details: Record<string, unknown>;
    }>("SELECT actor_id, account_id, details FROM audit_log WHERE action = $1 ORDER BY id", [action])
  ).rows;

describe("every change the console makes", () => {
  it("is refused without the session's CSRF token, changing nothing, and the refusal is audited", async () => {
    const posts: Array<[string, Record<string, string>]> = [
      ["/sending/pause", {}],
      ["/sending/resume", { account: SEED_ACCOUNT }],
      [`/accounts/${SEED_ACCOUNT}/route`, { platform: "slack", channel: "C0FORGED1" }],
      ["/rules/anything/enable", {}],
      ["/rules/anything/disable", {}],
      ["/rules/test", { event: "1" }],
    ];
    const before = (await audit("refused")).length;
    for (const [path, fields] of posts) {
      expect((await c.post(path, fields)).status, path).toBe(403);
      expect((await c.post(path, { ...fields, _csrf: "guess" })).status, path).toBe(403);
    }
    expect((await audit("refused")).length - before).toBe(posts.length * 2);
    expect(await pauseOf(h.service.db, SEED_ACCOUNT)).toBeUndefined();
    const { rows } = await h.service.db.query("SELECT chat_channel FROM instagram_accounts WHERE id = $1", [
      SEED_ACCOUNT,
    ]);
    expect(rows).toEqual([{ chat_channel: "C0SEEDED1" }]);
  });
});

describe("pause and resume", () => {
  it("pauses and resumes every account and one account, audited", async () => {
    expect(await h.client().get("/sending")).toMatchObject({ status: 303, location: "/login" });
    const page = await c.get("/sending");
    expect(page.status).toBe(200);
    expect(page.body).toContain('<span class="badge ok">sending</span> No global pause.');
    expect((await c.post("/sending/pause", {})).status).toBe(403);
    expect(await pauseOf(h.service.db, SEED_ACCOUNT)).toBeUndefined();

    expect(await c.submit(page, "/sending/pause")).toMatchObject({ status: 303, location: "/sending" });
    const paused = await c.get("/sending");
    expect(paused.body).toContain("Paused sending for every account.");
    expect(paused.body).toMatch(/<span class="badge warn">paused<\/span> by admin \(console\) since <time/);
    expect(paused.body).toContain('<span class="badge warn">held by the global pause</span>');
    expect(await pauseOf(h.service.db, SEED_ACCOUNT)).toMatchObject({
      scope: "global",
      by: "admin (console)",
    });
    await c.submit(paused, "/sending/resume");

    await c.submit(paused, "/sending/pause", { account: SEED_ACCOUNT });
    expect(await pauseOf(h.service.db, SEED_ACCOUNT)).toMatchObject({ scope: "account" });
    const one = await c.get("/sending");
    expect(one.body).toContain("Paused sending for account 17841400000000901.");
    expect(one.body).toContain('Resume<span class="visually-hidden"> @seedbrand</span>');
    await c.submit(one, "/sending/resume", { account: SEED_ACCOUNT });
    expect(await pauseOf(h.service.db, SEED_ACCOUNT)).toBeUndefined();
    expect((await c.submit(one, "/sending/pause", { account: "17841400000000000" })).status).toBe(404);

    expect((await audit("sending_paused")).map((r) => [r.actor_id, r.account_id])).toEqual([
      ["console:admin", null],
      ["console:admin", SEED_ACCOUNT],
    ]);
    expect((await audit("sending_resumed")).map((r) => [r.actor_id, r.account_id])).toEqual([
      ["console:admin", null],
      ["console:admin", SEED_ACCOUNT],
    ]);
  });
});

describe("routing an account", () => {
  it("offers the current destination and refuses a malformed channel", async () => {
    const accounts = await c.get("/");
    expect(accounts.body).toContain(
      `<a href="/accounts/${SEED_ACCOUNT}/route">Route<span class="visually-hidden"> @seedbrand</span></a>`,
    );
    const form = await c.get(`/accounts/${SEED_ACCOUNT}/route`);
    expect(form.status).toBe(200);
    expect(form.body).toContain('value="slack" required checked');
    expect(form.body).toContain('value="C0SEEDED1"');
    const bad = await c.submit(form, `/accounts/${SEED_ACCOUNT}/route`, {
      platform: "slack",
      channel: "general",
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('<p class="error" role="alert" id="route-error">');
    expect(bad.body).toContain('value="general"');
    const unknown = await c.submit(form, `/accounts/${SEED_ACCOUNT}/route`, {
      platform: "discord",
      channel: "123",
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toContain("Choose Slack.");
    expect((await c.submit(form, "/accounts/17841400000000000/route", {})).status).toBe(404);
    expect(await audit("account_routed")).toEqual([]);
  });

  it("moves the account to another channel, audited", async () => {
    const form = await c.get(`/accounts/${SEED_ACCOUNT}/route`);
    const moved = await c.submit(form, `/accounts/${SEED_ACCOUNT}/route`, {
      platform: "slack",
      channel: "C0MOVED01",
      digest: "C0DIGEST1",
    });
    expect(moved).toMatchObject({ status: 303, location: "/" });
    expect((await c.get("/")).body).toContain("Routed @seedbrand to Slack C0MOVED01.");
    const { rows } = await h.service.db.query(
      "SELECT chat_platform, chat_channel, digest_channel FROM instagram_accounts WHERE id = $1",
      [SEED_ACCOUNT],
    );
    expect(rows).toEqual([
      { chat_platform: "slack", chat_channel: "C0MOVED01", digest_channel: "C0DIGEST1" },
    ]);
    expect(await audit("account_routed")).toEqual([
      {
        actor_id: "console:admin",
        account_id: SEED_ACCOUNT,
        details: { via: "console", destination: "slack:C0MOVED01", digest: "C0DIGEST1" },
      },
    ]);
  });
});

describe("the digest preview", () => {
  it("shows the chart and the very text `digest --print` prints", async () => {
    const page = await c.get(`/digest?account=${SEED_ACCOUNT}&span=24h`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("img-src 'self' data:");
    expect(page.body).toMatch(/<img class="chart" src="data:image\/png;base64,iVBORw0KGgo[^"]+" alt="[^"]+"/);
    const service = new DigestService({
      db: h.service.db,
      adapters: new Map(),
      config: h.t.config,
      log: createLogger("silent"),
    });
    const account = await service.account(SEED_ACCOUNT);
    if (!account) throw new Error("no seeded account");
    const text = digestText(await service.compute(account, "24h"));
    expect(page.body).toContain(`<pre>${escapeHtml(text)}</pre>`);
    expect(text).toContain("@seedbrand");
    expect(page.body).toContain('<option value="24h" selected>The last 24 hours</option>');
  });

  it("answers 404 for an account that is not connected", async () => {
    const page = await c.get("/digest?account=17841400000000000");
    expect(page.status).toBe(404);
    expect(page.body).toContain("No Instagram account 17841400000000000 is connected here.");
  });

  it("says plainly when there is nothing to chart", async () => {
    const page = await c.get(`/digest?account=${SEED_ACCOUNT}&span=weekly`);
    expect(page.status).toBe(200);
    expect(page.body).toContain("No chart: no message in this period.");
  });
});

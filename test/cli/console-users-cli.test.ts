// `threadbridge console users add|list|passwd|disable|enable|remove` as real processes against the
// database a service uses: passwords come from standard input and are kept only as scrypt hashes
// that sign-in checks, names are checked, every change is audited (and no password reaches the
// output or the trail), and unknown users exit 64.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyPassword } from "../../src/http/console/password.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import type { Service } from "../../src/service.ts";
import { cli } from "../helpers/cli.ts";
import { startTestService, TEST_BACKEND, TEST_KEY, type TestEnv, testEnv } from "../helpers/service.ts";

const PASSWORD = "correct horse battery staple";
const OTHER = "another long enough password";

let t: TestEnv;
let svc: Service;

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  svc = await startTestService(t, { web: false, worker: false });
});

afterAll(async () => {
  await svc?.stop();
  await t?.cleanup();
});

const row = async (name: string) =>
  (
    await svc.db.query<{
      display_name: string;
      role: string;
      password_hash: string;
      disabled_at: Date | null;
    }>("SELECT display_name, role, password_hash, disabled_at FROM console_users WHERE name = $1", [name])
  ).rows[0];

const trail = async () =>
  (
    await svc.db.query<{
      actor_kind: string;
      actor_id: string;
      action: string;
      target: string;
      details: unknown;
    }>(
      "SELECT actor_kind, actor_id, action, target, details FROM audit_log WHERE action LIKE 'console_user_%' ORDER BY id",
    )
  ).rows;

describe("console users", () => {
  it("adds users with the password from standard input, lists them, refuses a taken or bad name", async () => {
    const added = await cli(
      ["console", "users", "add", "ana.b", "--display-name", "Ana Bell", "--admin"],
      t.env,
      `${PASSWORD}\n`,
    );
    expect(added).toMatchObject({ code: 0, stdout: "added ana.b (Ana Bell, admin)\n" });
    expect(added.stdout + added.stderr).not.toContain(PASSWORD);
    const ana = await row("ana.b");
    expect(ana).toMatchObject({ display_name: "Ana Bell", role: "admin", disabled_at: null });
    expect(ana?.password_hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);
    expect(await verifyPassword(PASSWORD, ana?.password_hash ?? "")).toBe(true);

    expect((await cli(["console", "users", "add", "bo"], t.env, `${OTHER}\n`)).code).toBe(0);
    expect(await row("bo")).toMatchObject({ display_name: "bo", role: "agent" });

    const taken = await cli(["console", "users", "add", "bo"], t.env, `${OTHER}\n`);
    expect(taken).toMatchObject({ code: 64, stdout: "" });
    expect(taken.stderr).toContain("there is already a console user bo");
    const bad = await cli(["console", "users", "add", "Bad Name"], t.env, `${OTHER}\n`);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("not a user name");
    const reserved = await cli(["console", "users", "add", "admin"], t.env, `${OTHER}\n`);
    expect(reserved.code).toBe(64);
    expect(reserved.stderr).toContain("shared password's user");
    const short = await cli(["console", "users", "add", "cy"], t.env, "hunter2\n");
    expect(short.code).toBe(64);
    expect(short.stderr).toContain("at least 12 characters");
    expect(await row("cy")).toBeUndefined();

    const list = await cli(["console", "users", "list"], t.env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^name\s+display name\s+role\s+created\s+disabled/);
    expect(list.stdout).toMatch(/ana\.b\s+Ana Bell\s+admin/);
    expect(list.stdout).toMatch(/bo\s+bo\s+agent/);
    const json = JSON.parse((await cli(["console", "users", "list", "--json"], t.env)).stdout);
    expect(json.map((u: { name: string }) => u.name)).toEqual(["ana.b", "bo"]);
    expect(JSON.stringify(json)).not.toContain("scrypt");
  });

  it("changes a password, disables, enables and removes, each audited, unknown users refused", async () => {
    const passwd = await cli(["console", "users", "passwd", "bo"], t.env, `${PASSWORD}\n`);
    expect(passwd).toMatchObject({ code: 0 });
    expect(await verifyPassword(PASSWORD, (await row("bo"))?.password_hash ?? "")).toBe(true);

    expect((await cli(["console", "users", "disable", "bo"], t.env)).stdout).toBe("disabled bo\n");
    expect((await row("bo"))?.disabled_at).not.toBeNull();
    expect((await cli(["console", "users", "list"], t.env)).stdout).toMatch(
      /bo\s+bo\s+agent\s+\S+ \S+\s+\d{4}-/,
    );
    expect((await cli(["console", "users", "disable", "bo"], t.env)).stdout).toContain("already disabled");
    expect((await cli(["console", "users", "enable", "bo"], t.env)).stdout).toBe("enabled bo\n");
    expect((await row("bo"))?.disabled_at).toBeNull();
    expect((await cli(["console", "users", "remove", "bo"], t.env)).stdout).toBe("removed bo\n");
    expect(await row("bo")).toBeUndefined();

    for (const command of ["passwd", "disable", "enable", "remove"]) {
      const unknown = await cli(["console", "users", command, "nobody"], t.env, `${PASSWORD}\n`);
      expect(unknown.code, command).toBe(64);
      expect(unknown.stderr).toContain("no console user nobody");
    }

    const entries = await trail();
    expect(entries.map((e) => [e.action, e.target])).toEqual([
      ["console_user_added", "console:ana.b"],
      ["console_user_added", "console:bo"],
      ["console_user_password_changed", "console:bo"],
      ["console_user_disabled", "console:bo"],
      ["console_user_enabled", "console:bo"],
      ["console_user_removed", "console:bo"],
    ]);
    expect(entries[0]).toMatchObject({
      actor_kind: "operator",
      actor_id: expect.stringMatching(/^cli:/),
      details: { displayName: "Ana Bell", role: "admin" },
    });
    expect(JSON.stringify(entries)).not.toMatch(/scrypt|correct horse|another long/);
  });
});

describe("accounts settings for an account routed to a web inbox", () => {
  it("takes all, admins or agents as the pool, and refuses another group", async () => {
    const account = "17841400000000601";
    await addAccount(svc.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: account,
      username: "webshop",
      token: "IGAA-cli-token",
      chat: { platform: "web", channel: "support" },
    });
    const set = await cli(
      ["accounts", "settings", account, "--assign", "round-robin", "--assign-pool", "agents"],
      t.env,
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("assignment round-robin among agents");
    const bad = await cli(["accounts", "settings", account, "--assign-pool", "S0TEAM01"], t.env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("--assign-pool for Web inbox is one of all, admins, agents, not S0TEAM01");
  });
});

// `threadbridge audit`: operators' account changes land in the trail, and the command filters it
// by account, actor, action (with prefixes) and time, as a table or as JSON lines.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSince } from "../../src/audit/audit-query.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { cli } from "../helpers/cli.ts";
import { TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";
import { slackEnv } from "../helpers/slack.ts";

describe("parseSince", () => {
  const now = new Date("2026-11-24T12:00:00Z");
  it("takes relative spans and dates, and nothing else", () => {
    expect(parseSince("30m", now)?.toISOString()).toBe("2026-11-24T11:30:00.000Z");
    expect(parseSince("24h", now)?.toISOString()).toBe("2026-11-23T12:00:00.000Z");
    expect(parseSince("7d", now)?.toISOString()).toBe("2026-11-17T12:00:00.000Z");
    expect(parseSince("2w", now)?.toISOString()).toBe("2026-11-10T12:00:00.000Z");
    expect(parseSince("2026-11-01", now)?.toISOString()).toBe("2026-11-01T00:00:00.000Z");
    for (const bad of ["yesterday", "7", "7y", "2026-13-45", ""])
      expect(parseSince(bad, now), bad).toBeUndefined();
  });
});

let t: TestEnv;
// Slack is configured (accounts add refuses a destination on a platform that is not).
let slack: SlackServer;

beforeAll(async () => {
  slack = await startSlackServer();
  t = await testEnv(TEST_BACKEND, slackEnv(slack));
  const add = (id: string, user: string, channel: string) =>
    cli(
      [
        "accounts",
        "add",
        "--ig-user-id",
        id,
        "--username",
        user,
        "--token",
        "IGAA-audit",
        "--slack-channel",
        channel,
      ],
      { ...t.env, USER: "ops" },
    );
  expect((await add("17841400000000071", "first", "C0000071")).code).toBe(0);
  expect((await add("17841400000000072", "second", "C0000072")).code).toBe(0);
  expect(
    (
      await cli(["accounts", "route", "17841400000000071", "--slack-channel", "C0000079"], {
        ...t.env,
        USER: "ana",
      })
    ).code,
  ).toBe(0);
  expect((await cli(["pause", "--account", "17841400000000072"], { ...t.env, USER: "ops" })).code).toBe(0);
});

afterAll(async () => {
  await t?.cleanup();
  await slack?.close();
});

const lines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { action: string; account: string; actorId: string; details: object });

describe("threadbridge audit", () => {
  it("lists every entry newest first, as a table and as JSON", async () => {
    const table = await cli(["audit"], t.env);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^at\s+actor\s+account\s+action\s+target\s+details$/);
    const json = lines((await cli(["audit", "--json"], t.env)).stdout);
    expect(json.map((e) => e.action)).toEqual([
      "sending_paused",
      "account_routed",
      "account_added",
      "account_added",
    ]);
    expect(json[1]).toMatchObject({
      account: "17841400000000071",
      actorId: "cli:ana",
      details: { destination: "slack:C0000079" },
    });
  });

  it("filters by account, actor, action prefix, time and count", async () => {
    const run = async (...args: string[]) => lines((await cli(["audit", "--json", ...args], t.env)).stdout);
    expect((await run("--account", "17841400000000072")).map((e) => e.action)).toEqual([
      "sending_paused",
      "account_added",
    ]);
    expect((await run("--actor", "cli:ana")).map((e) => e.action)).toEqual(["account_routed"]);
    expect((await run("--actor", "cli:*")).length).toBe(4);
    expect((await run("--action", "account_*")).length).toBe(3);
    expect((await run("--since", "1h")).length).toBe(4);
    expect(await run("--since", "2000-01-01", "--action", "nothing")).toEqual([]);
    expect((await run("--limit", "1")).map((e) => e.action)).toEqual(["sending_paused"]);
    expect((await cli(["audit", "--action", "nothing"], t.env)).stdout).toBe("no audit entries match\n");
  });

  it("refuses bad arguments with a precise line", async () => {
    const since = await cli(["audit", "--since", "yesterday"], t.env);
    expect(since.code).toBe(64);
    expect(since.stderr).toMatch(/--since.*expected 30m, 24h, 7d, 2w or a date/);
    const limit = await cli(["audit", "--limit", "0"], t.env);
    expect(limit.code).toBe(64);
    expect(limit.stderr).toMatch(/--limit.*expected 1 to 10000/);
  });
});

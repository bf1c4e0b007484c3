// `threadbridge digest` (CONTRACT.md: "post an audit summary now"): queued for the running worker
// to post, for one account or all; printed as text or JSON with --print / --json; unknown accounts
// and spans refused with exit 64.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { cli } from "../helpers/cli.ts";
import { TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";
import { slackEnv } from "../helpers/slack.ts";

needsDatabaseServer("the CLI runs in its own process while the test writes to the same database");

const ACCOUNT = "17841400000000091";
let t: TestEnv;
// Slack is configured (accounts add refuses a destination on a platform that is not).
let slack: SlackServer;

beforeAll(async () => {
  slack = await startSlackServer();
  t = await testEnv(TEST_BACKEND, slackEnv(slack));
  const add = await cli(
    ["accounts", "add", "--ig-user-id", ACCOUNT, "--username", "brand", "--token", "IGAA-digest"].concat([
      "--slack-channel",
      "C0000091",
      "--digest-channel",
      "C0000092",
    ]),
    t.env,
  );
  expect(add.code).toBe(0);
  const client = new pg.Client({ connectionString: t.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO conversations (account_id, customer_id, last_customer_message_at) VALUES ($1, 'c1', now() - interval '2 hours')
       RETURNING id`,
      [ACCOUNT],
    );
    await client.query(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, author_id, ig_message_id, text, details,
                             delivery_state, occurred_at)
       VALUES ($1, $2, 'inbound', 'customer', 'c1', 'm1', 'hi', '{}', NULL, now() - interval '2 hours'),
              ($1, $2, 'outbound', 'agent', 'slack:U1', 'm2', 'hello', '{"agentName":"Ana"}', 'sent', now() - interval '110 minutes')`,
      [ACCOUNT, rows[0]?.id],
    );
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  await t?.cleanup();
  await slack?.close();
});

describe("threadbridge digest", () => {
  it("prints the last 24 hours of an account as text and as JSON", async () => {
    const text = await cli(["digest", "--account", "brand", "--since", "24h", "--print"], t.env);
    expect(text.code).toBe(0);
    // The same view the channel gets, as lines.
    expect(text.stdout).toMatch(/^📊 @brand · last 24 hours\n/);
    expect(text.stdout).toContain("New conversations: 1\nClosed: 0\nWaiting for an answer now: 0\n");
    expect(text.stdout).toContain("First response: median 10 min · 90% within 10 min");
    expect(text.stdout).toContain("Replies by agent:\n  • Ana — 1 reply");
    const json = await cli(["digest", "--account", ACCOUNT, "--since", "7d", "--json"], t.env);
    expect(json.code).toBe(0);
    const digest = JSON.parse(json.stdout) as { account: { id: string }; volume: unknown[]; empty: boolean };
    expect(digest.account.id).toBe(ACCOUNT);
    expect(digest.volume).toHaveLength(8);
    expect(digest.empty).toBe(false);
  });

  it("queues the digest for the running worker to post now, for one account or every one", async () => {
    const one = await cli(["digest", "--account", "brand", "--span", "weekly"], t.env);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(`queued the weekly digest of ${ACCOUNT}`);
    const all = await cli(["digest"], t.env);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(`queued the 24h digest of ${ACCOUNT}`);
    const client = new pg.Client({ connectionString: t.env.DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query(
        "SELECT data FROM pgboss.job WHERE name = 'digest' ORDER BY created_on",
      );
      expect(rows.map((r) => r.data)).toEqual([
        { account: ACCOUNT, kind: "weekly" },
        { account: ACCOUNT, kind: "24h" },
      ]);
    } finally {
      await client.end();
    }
  });

  it("refuses an unknown account, bad spans and printing without an account", async () => {
    const unknown = await cli(["digest", "--account", "nobody"], t.env);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("no account nobody");
    const span = await cli(["digest", "--account", "brand", "--span", "monthly"], t.env);
    expect(span.code).toBe(64);
    expect(span.stderr).toMatch(/--span.*expected daily or weekly/);
    const sinceBad = await cli(["digest", "--since", "30d"], t.env);
    expect(sinceBad.code).toBe(64);
    expect(sinceBad.stderr).toMatch(/--since.*expected 24h or 7d/);
    const both = await cli(["digest", "--since", "7d", "--span", "daily"], t.env);
    expect(both.stderr).toContain("give --since or --span, not both");
    const print = await cli(["digest", "--print"], t.env);
    expect(print.code).toBe(64);
    expect(print.stderr).toContain("--print and --json need --account");
  });
});

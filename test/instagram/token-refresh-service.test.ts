// Token refresh in the running service (issue 9): the worker's daily schedule, error 190 in its
// pass (token deleted, account held, owners alerted once in Slack), and the CLI: a token read from
// standard input, a refresh pass on demand, the token's state in `accounts list`, never the token.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { TOKEN_REFRESH_QUEUE } from "../../src/queue/boss.ts";
import { TOKEN_REFRESH_CRON } from "../../src/worker/token-worker.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { ACCOUNT, type BridgeHarness, CHANNEL, startBridgeHarness } from "../helpers/bridge.ts";
import { cli } from "../helpers/cli.ts";
import { TEST_BACKEND, TEST_KEY, testEnv, waitFor } from "../helpers/service.ts";

const invalid = new Set<string>();
let h: BridgeHarness;

beforeAll(async () => {
  h = await startBridgeHarness({}, { invalidTokens: invalid });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const alerts = () =>
  h.slack
    .callsOf("chat.postMessage")
    .filter((c) => c.args.channel === CHANNEL && String(c.args.text).includes("Instagram connection"));

/** Makes the account's token a day and a half old and 20 days from its end, so the next pass refreshes it. */
async function ageToken(): Promise<void> {
  await h.service.db.query(
    `UPDATE instagram_accounts SET token_refreshed_at = now() - interval '36 hours', token_expires_at = now() + interval '20 days'
      WHERE id = $1`,
    [ACCOUNT],
  );
}

async function runPass(): Promise<unknown> {
  const id = await h.service.boss.send(TOKEN_REFRESH_QUEUE, {});
  if (!id) throw new Error("not queued");
  return waitFor(
    async () => {
      const job = await h.service.boss.getJobById(TOKEN_REFRESH_QUEUE, id);
      return job?.state === "completed" ? job.output : undefined;
    },
    10_000,
    "the refresh pass",
  );
}

/** `accounts add` for the harness's account, without its token. */
const ADD = ["accounts", "add", "--ig-user-id", ACCOUNT, "--username", "brand", "--slack-channel", CHANNEL];

async function account() {
  const { rows } = await h.service.db.query<{
    status: string;
    token_ciphertext: string | null;
    token_key_id: string | null;
  }>("SELECT status, token_ciphertext, token_key_id FROM instagram_accounts WHERE id = $1", [ACCOUNT]);
  return rows[0];
}

describe("token refresh in the service", () => {
  it("the worker schedules the pass daily", async () => {
    const schedules = await h.service.boss.getSchedules(TOKEN_REFRESH_QUEUE);
    expect(schedules.map((s) => [s.name, s.key, s.cron])).toEqual([
      [TOKEN_REFRESH_QUEUE, "daily", TOKEN_REFRESH_CRON],
    ]);
  });

  it("a token refused with 190 is deleted, the account held and its owners told once in Slack", async (ctx) => {
    needsDatabaseServer("the CLI runs in its own process while the service holds the database", ctx);
    await ageToken();
    invalid.add("IGAA-e2e-token");
    expect(await runPass()).toEqual({ refreshed: 0, notDue: 0, invalid: 1, expired: 0, failed: 0 });
    expect(await account()).toEqual({ status: "token_invalid", token_ciphertext: null, token_key_id: null });
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0]?.args.text).toContain(
      "The Instagram connection of @brand stopped working (token invalid or expired)",
    );
    const refreshes = h.graph.requests.filter((r) => r.path === "/refresh_access_token");
    expect(refreshes.map((r) => r.query.access_token)).toEqual(["IGAA-e2e-token"]);

    expect(await runPass()).toEqual({ refreshed: 0, notDue: 0, invalid: 0, expired: 0, failed: 0 });
    expect(alerts()).toHaveLength(1);
    const list = await cli(["accounts", "list"], h.t.env);
    expect(list.stdout).toMatch(
      new RegExp(
        `${ACCOUNT}\\s+brand\\s+token_invalid\\s+slack:${CHANNEL}\\s+none\\s+never\\s+deleted: the Instagram connection must be reconnected`,
      ),
    );
  });

  it("accounts add --token-stdin reconnects it; refresh-tokens runs a pass now; list shows the token's state", async (ctx) => {
    needsDatabaseServer("the CLI runs in its own process while the service holds the database", ctx);
    const token = "IGAA-from-stdin-0123456789";
    const add = await cli([...ADD, "--token-stdin"], h.t.env, `${token}\n`);
    expect(add).toMatchObject({ code: 0, stdout: `added brand (${ACCOUNT}) → slack:${CHANNEL}\n` });
    const row = await account();
    expect(row?.status).toBe("active");
    expect(
      TokenCipher.fromConfig(TEST_KEY).open(row?.token_ciphertext as string, row?.token_key_id as string),
    ).toBe(token);

    await ageToken();
    const pass = await cli(["accounts", "refresh-tokens"], h.t.env);
    expect(pass).toMatchObject({
      code: 0,
      stdout:
        "tokens: 1 refreshed, 0 not due, 0 invalid, 0 expired, 0 failed (tried again by the next pass)\n",
    });
    const refreshed = await account();
    expect(
      TokenCipher.fromConfig(TEST_KEY).open(
        refreshed?.token_ciphertext as string,
        refreshed?.token_key_id as string,
      ),
    ).toMatch(/^IGAA-refreshed-\d+$/);

    const today = new Date().toISOString().slice(0, 10);
    const list = await cli(["accounts", "list"], h.t.env);
    expect(list.stdout).toMatch(
      new RegExp(
        `${ACCOUNT}\\s+brand\\s+active\\s+slack:${CHANNEL}\\s+\\d{4}-\\d{2}-\\d{2}\\s+never\\s+refreshed ${today}\\n`,
      ),
    );
    const json = JSON.parse((await cli(["accounts", "list", "--json"], h.t.env)).stdout) as Array<
      Record<string, unknown>
    >;
    expect(json[0]).toMatchObject({ id: ACCOUNT, hasToken: true, tokenProblem: null });
    expect(String(json[0]?.tokenRefreshedAt).slice(0, 10)).toBe(today);
    for (const r of [add, pass, list]) expect(r.stdout + r.stderr).not.toContain("IGAA");
    expect(alerts()).toHaveLength(1);
  });

  it("refuses a token given twice or not at all, and empty standard input", async () => {
    const both = await cli([...ADD, "--token", "IGAA-x", "--token-stdin"], h.t.env, "IGAA-y\n");
    expect(both.code).toBe(64);
    expect(both.stderr).toMatch(/give exactly one of --token or --token-stdin, not both/);
    const none = await cli(ADD, h.t.env);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/give exactly one of --token or --token-stdin/);
    const empty = await cli([...ADD, "--token-stdin"], h.t.env, "\n");
    expect(empty.code).toBe(64);
    expect(empty.stderr).toMatch(/--token-stdin: standard input was empty/);
    const words = await cli([...ADD, "--token-stdin"], h.t.env, "IGAA-a IGAA-b\n");
    expect(words.code).toBe(64);
    expect(words.stderr).toMatch(/expected one token on standard input/);
    for (const r of [both, words]) expect(r.stdout + r.stderr).not.toContain("IGAA");
  });
});

describe("accounts refresh-tokens without a worker", () => {
  it("gives up after --wait, cancels the pass and says how to run one", async () => {
    const t = await testEnv(TEST_BACKEND);
    try {
      const r = await cli(["accounts", "refresh-tokens", "--wait", "1"], t.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /no worker ran the refresh pass within 1 s, so it was cancelled: start one \(`threadbridge worker` or `npm start`\)/,
      );
      const bad = await cli(["accounts", "refresh-tokens", "--wait", "0"], t.env);
      expect(bad.code).toBe(64);
      expect(bad.stderr).toMatch(/expected 1 to 3600 seconds/);
    } finally {
      await t.cleanup();
    }
  });
});

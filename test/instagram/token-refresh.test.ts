// The token refresh pass with the clock moved forward (issue 9, reference 5.4): what is refreshed
// when, re-sealing under the newest key, error 190, transient failures, expiry, the one-week
// warning, and no token in any log line or audit entry.

import { PassThrough } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { GraphClient } from "../../src/instagram/graph-client.ts";
import type { OwnerAlert } from "../../src/instagram/owner-alerts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import {
  type RefreshCounts,
  refreshTokens,
  type TokenRefreshDeps,
} from "../../src/instagram/token-refresh.ts";
import { createLogger } from "../../src/log/logger.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../fakes/graph-server.ts";
import { TEST_BACKEND, TEST_KEY, type TestEnv, testEnv } from "../helpers/service.ts";

const KEY_B = Buffer.alloc(32, 11).toString("base64");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const EXPIRES_IN = 5_183_944;

let t: TestEnv;
let db: Database;
let graph: GraphServer;
const invalid = new Set<string>();
const logLines: string[] = [];
const alerts: Array<{ account: string; alert: OwnerAlert }> = [];
const out = new PassThrough();
out.on("data", (chunk: Buffer) => logLines.push(chunk.toString()));
const log = createLogger("debug", { destination: out });

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  db = await openDatabase(t.config.database);
  await migrate(db);
  graph = await startGraphServer(instagramResponder({ invalidTokens: invalid }));
});
afterAll(async () => {
  await graph?.close();
  await db?.close();
  await t?.cleanup();
});
beforeEach(async () => {
  await db.query("TRUNCATE instagram_accounts, audit_log CASCADE");
  graph.requests.length = 0;
  alerts.length = 0;
});
afterEach(async () => {
  const { rows } = await db.query<{ entry: string }>("SELECT row_to_json(a)::text AS entry FROM audit_log a");
  for (const r of rows) expect(r.entry).not.toContain("IGAA");
});

/** The newest key is `new` (KEY_B); tokens are connected under the older TEST_KEY. */
function deps(over: Partial<TokenRefreshDeps> = {}): TokenRefreshDeps {
  return {
    db,
    graph: new GraphClient({ baseUrl: graph.url, apiVersion: "v25.0", retryBaseMs: 1, maxRetries: 1 }),
    cipher: TokenCipher.fromConfig(`new:${KEY_B},${TEST_KEY}`),
    log,
    refreshDays: 30,
    alert: async (account, alert) => {
      alerts.push({ account, alert });
    },
    ...over,
  };
}

/** Connects an account as `accounts add` does; resolves with when its token counts as issued. */
async function connect(id: string, token: string, expiresInDays: number): Promise<Date> {
  await addAccount(db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: id,
    username: `brand${id.slice(-2)}`,
    token,
    tokenExpiresAt: new Date(Date.now() + expiresInDays * DAY),
    chat: { platform: "slack", channel: "C1" },
  });
  return (await row(id)).token_refreshed_at as Date;
}

interface AccountRow {
  status: string;
  token_ciphertext: string | null;
  token_key_id: string | null;
  token_expires_at: Date | null;
  token_refreshed_at: Date | null;
  token_problem: string | null;
  token_expiry_alerted_at: Date | null;
}

async function row(id: string): Promise<AccountRow> {
  const { rows } = await db.query<AccountRow>(
    `SELECT status, token_ciphertext, token_key_id, token_expires_at, token_refreshed_at, token_problem,
            token_expiry_alerted_at
       FROM instagram_accounts WHERE id = $1`,
    [id],
  );
  if (!rows[0]) throw new Error(`no account ${id}`);
  return rows[0];
}

async function audit(id: string): Promise<Array<{ action: string; details: Record<string, unknown> }>> {
  const { rows } = await db.query<{ action: string; details: Record<string, unknown> }>(
    "SELECT action, details FROM audit_log WHERE account_id = $1 ORDER BY id",
    [id],
  );
  return rows;
}

const at = (base: Date, ms: number) => new Date(base.getTime() + ms);
const counts = (c: Partial<RefreshCounts>): RefreshCounts => ({
  refreshed: 0,
  notDue: 0,
  invalid: 0,
  expired: 0,
  failed: 0,
  ...c,
});
const refreshCalls = () => graph.requests.filter((r) => r.path === "/refresh_access_token");
const fail500 = { status: 500, body: { error: { message: "An unexpected error has occurred.", code: 2 } } };

describe("the refresh pass", () => {
  it("waits until a token is 24 hours old and inside the margin, then re-seals the new one under the newest key", async () => {
    const A = "17841400000000071";
    const Y = "17841400000000072";
    const issued = await connect(A, "IGAA-token-A", 60);
    await connect(Y, "IGAA-token-Y", 10);

    // 12 hours on: Y expires within the margin, but Instagram refreshes nothing younger than a day.
    expect(await refreshTokens(deps(), at(issued, 12 * HOUR))).toEqual(counts({ notDue: 2 }));
    // A day on: Y is refreshed; A, 59 days from its end, is not due.
    const dayOn = at(issued, 25 * HOUR);
    expect(await refreshTokens(deps(), dayOn)).toEqual(counts({ refreshed: 1, notDue: 1 }));
    expect(refreshCalls().map((r) => r.query)).toEqual([
      { grant_type: "ig_refresh_token", access_token: "IGAA-token-Y" },
    ]);
    // A month on: A expires within 30 days and is refreshed; Y, refreshed a month ago, has 59 days left.
    const monthOn = at(issued, 31 * DAY);
    expect(await refreshTokens(deps(), monthOn)).toEqual(counts({ refreshed: 1, notDue: 1 }));
    expect(refreshCalls().map((r) => r.query.access_token)).toEqual(["IGAA-token-Y", "IGAA-token-A"]);

    const a = await row(A);
    expect(a.status).toBe("active");
    expect(a.token_key_id).toBe("new");
    // Sealed under the newest key alone: the old one can go.
    const fresh = TokenCipher.fromConfig(`new:${KEY_B}`).open(a.token_ciphertext as string, "new");
    expect(fresh).toMatch(/^IGAA-refreshed-\d+$/);
    expect(a.token_expires_at?.getTime()).toBe(monthOn.getTime() + EXPIRES_IN * 1000);
    expect(a.token_refreshed_at?.getTime()).toBe(monthOn.getTime());
    expect(await audit(A)).toEqual([
      {
        action: "token_refreshed",
        details: { expiresAt: new Date(monthOn.getTime() + EXPIRES_IN * 1000).toISOString(), keyId: "new" },
      },
    ]);
    expect((await row(Y)).token_refreshed_at?.getTime()).toBe(dayOn.getTime());
    expect(alerts).toEqual([]);
  });

  it("deletes a token Instagram refuses (190), holds the account and alerts its owners once", async () => {
    const B = "17841400000000073";
    const issued = await connect(B, "IGAA-token-B", 60);
    invalid.add("IGAA-token-B");
    const now = at(issued, 31 * DAY);
    expect(await refreshTokens(deps(), now)).toEqual(counts({ invalid: 1 }));
    expect(await row(B)).toMatchObject({
      status: "token_invalid",
      token_ciphertext: null,
      token_key_id: null,
      token_problem: "the Instagram connection must be reconnected (token invalid or expired)",
    });
    expect(await audit(B)).toEqual([
      {
        action: "token_invalid",
        details: {
          reason: "the Instagram connection must be reconnected (token invalid or expired)",
          code: 190,
          subcode: 460,
        },
      },
    ]);
    expect(alerts).toEqual([{ account: B, alert: { kind: "token_invalid" } }]);

    // The next pass has nothing left to do for it, and says nothing more.
    expect(await refreshTokens(deps(), at(now, DAY))).toEqual(counts({}));
    expect(refreshCalls()).toHaveLength(1);
    expect(alerts).toHaveLength(1);
  });

  it("keeps the token through transient failures, warns once a week ahead, and recovers", async () => {
    const C = "17841400000000074";
    const issued = await connect(C, "IGAA-token-C", 60);
    const before = await row(C);
    graph.script(fail500, fail500);
    expect(await refreshTokens(deps(), at(issued, 31 * DAY))).toEqual(counts({ failed: 1 }));
    const after = await row(C);
    expect(after).toEqual({
      ...before,
      token_problem: "refresh failed: Instagram had a temporary problem",
    });
    expect(alerts).toEqual([]);
    expect(await audit(C)).toEqual([]);

    // Five days before the end and still failing: the owners are told, once.
    const expires = before.token_expires_at as Date;
    const late = at(expires, -5 * DAY);
    graph.script(fail500, fail500, fail500, fail500);
    expect(await refreshTokens(deps(), late)).toEqual(counts({ failed: 1 }));
    expect(await refreshTokens(deps(), at(late, DAY))).toEqual(counts({ failed: 1 }));
    expect(alerts).toEqual([
      {
        account: C,
        alert: { kind: "token_expiring", expiresAt: expires, reason: "Instagram had a temporary problem" },
      },
    ]);
    expect((await audit(C)).map((e) => e.action)).toEqual(["token_expiring"]);

    // Instagram answers again: refreshed, and the problem and the warning are cleared for the new token.
    expect(await refreshTokens(deps(), at(late, 2 * DAY))).toEqual(counts({ refreshed: 1 }));
    expect(await row(C)).toMatchObject({
      status: "active",
      token_problem: null,
      token_expiry_alerted_at: null,
    });
    expect(logLines.some((l) => l.includes("instagram token refresh failed"))).toBe(true);
  });

  it("deletes a token that expired before it could be refreshed, with the reason, and alerts once", async () => {
    const D = "17841400000000075";
    const issued = await connect(D, "IGAA-token-D", 2);
    const expires = (await row(D)).token_expires_at as Date;
    expect(await refreshTokens(deps(), at(issued, 49 * HOUR))).toEqual(counts({ expired: 1 }));
    expect(refreshCalls()).toEqual([]);
    const r = await row(D);
    expect(r).toMatchObject({ status: "token_invalid", token_ciphertext: null, token_key_id: null });
    expect(r.token_problem).toBe(
      `the token expired on ${expires.toISOString().slice(0, 10)} before it was refreshed; an expired token cannot be refreshed`,
    );
    expect((await audit(D)).map((e) => e.action)).toEqual(["token_expired"]);
    expect(alerts).toEqual([{ account: D, alert: { kind: "token_expired", expiredAt: expires } }]);
    await refreshTokens(deps(), at(issued, 73 * HOUR));
    expect(alerts).toHaveLength(1);
  });

  it("leaves a token it cannot open (its key was dropped) for the next pass, saying which key", async () => {
    const E = "17841400000000076";
    const issued = await connect(E, "IGAA-token-E", 20);
    const onlyNew = deps({ cipher: TokenCipher.fromConfig(`new:${KEY_B}`) });
    expect(await refreshTokens(onlyNew, at(issued, 2 * DAY))).toEqual(counts({ failed: 1 }));
    expect(refreshCalls()).toEqual([]);
    expect((await row(E)).token_problem).toMatch(
      /^refresh failed: token was sealed with key id \w+, which is not in/,
    );
  });

  it("never writes a token to a log line", () => {
    const written = logLines.join("");
    expect(written).toContain("instagram token refreshed");
    expect(written).toContain("instagram token deleted; account held until it is reconnected");
    expect(written).not.toContain("IGAA");
  });
});

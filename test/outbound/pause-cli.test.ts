import { afterAll, beforeAll, expect, it } from "vitest";
import { pauseOf } from "../../src/outbound/pause.ts";
import type { Service } from "../../src/service.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { cli } from "../helpers/cli.ts";
import { startTestService, TEST_BACKEND, type TestEnv, testEnv } from "../helpers/service.ts";
import { openConversation, seedAccount } from "./helpers.ts";

needsDatabaseServer("the CLI runs in its own process while the service holds the database");

// `threadbridge pause|resume [--account ID]` and `status`, run as real processes against the
// database a service uses; the switches they set are the ones the outbound gateway reads.

const A = "17841400000000301";
const B = "17841400000000302";

let t: TestEnv;
let svc: Service;

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  svc = await startTestService(t, { web: false, worker: false });
  for (const id of [A, B]) await seedAccount(svc.db, t.env.TOKEN_ENCRYPTION_KEY as string, id);
});

afterAll(async () => {
  await svc?.stop();
  await t?.cleanup();
});

it("pauses and resumes one account, and says so", async () => {
  const p = await cli(["pause", "--account", A], t.env);
  expect(p).toMatchObject({ code: 0, stderr: "" });
  expect(p.stdout).toBe(`paused sending for account ${A}; replies are held until \`threadbridge resume\`\n`);
  expect(await pauseOf(svc.db, A)).toMatchObject({ scope: "account", by: expect.stringMatching(/^cli:/) });
  expect(await pauseOf(svc.db, B)).toBeUndefined();

  const r = await cli(["resume", "--account", A], t.env);
  expect(r).toMatchObject({ code: 0, stdout: `resumed sending for account ${A}\n` });
  expect(await pauseOf(svc.db, A)).toBeUndefined();
});

it("pauses and resumes every account, and notes a per-account pause left on", async () => {
  expect((await cli(["pause"], t.env)).stdout).toMatch(/^paused sending for every account/);
  expect(await pauseOf(svc.db, A)).toMatchObject({ scope: "global" });
  expect(await pauseOf(svc.db, B)).toMatchObject({ scope: "global" });

  await cli(["pause", "--account", B], t.env);
  const r = await cli(["resume"], t.env);
  expect(r).toMatchObject({
    code: 0,
    stdout: `resumed sending for every account (still paused one by one: ${B})\n`,
  });
  expect(await pauseOf(svc.db, A)).toBeUndefined();
  expect(await pauseOf(svc.db, B)).toMatchObject({ scope: "account" });
  await cli(["resume", "--account", B], t.env);
  expect(await pauseOf(svc.db, B)).toBeUndefined();
});

it("refuses an unknown or malformed account with exit 64 and changes nothing", async () => {
  const unknown = await cli(["pause", "--account", "17841499999999999"], t.env);
  expect(unknown).toMatchObject({ code: 64, stdout: "" });
  expect(unknown.stderr).toBe("threadbridge: no account 17841499999999999 (see `accounts list`)\n");
  const bad = await cli(["resume", "--account", "shop"], t.env);
  expect(bad.code).toBe(64);
  expect(bad.stderr).toBe("threadbridge: not an Instagram user id: shop (ids are digits)\n");
  const { rows } = await svc.db.query("SELECT 1 FROM service_flags");
  expect(rows).toHaveLength(0);
});

it("status shows the switches and what waits per account", async () => {
  await openConversation(svc.db, A, "6100000000000001");
  const { rows: convo } = await svc.db.query<{ id: number }>(
    "SELECT id FROM conversations WHERE account_id = $1",
    [A],
  );
  for (const state of ["pending", "pending", "held"])
    await svc.db.query(
      `INSERT INTO messages (account_id, conversation_id, direction, author_kind, text, delivery_state, occurred_at)
       VALUES ($1, $2, 'outbound', 'agent', 'hi', $3, now())`,
      [A, convo[0]?.id, state],
    );
  await cli(["pause", "--account", A], t.env);
  const s = await cli(["status"], t.env);
  expect(s.code).toBe(0);
  expect(s.stdout).toMatch(/^sending: on\n/);
  expect(s.stdout).toMatch(new RegExp(`paused: account ${A} \\(by cli:`));
  expect(s.stdout).toMatch(new RegExp(`outbound: account ${A}: 2 pending, 1 held\\n`));
  const j = JSON.parse((await cli(["status", "--json"], t.env)).stdout) as {
    paused: { global: unknown; accounts: Array<{ account: string }> };
    outbound: Record<string, { pending: number; held: number }>;
  };
  expect(j.paused.global).toBeNull();
  expect(j.paused.accounts.map((a) => a.account)).toEqual([A]);
  expect(j.outbound).toEqual({ [A]: { pending: 2, held: 1 } });
});

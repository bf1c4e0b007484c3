// Issue 20: with `npm start` running on the embedded database, every command works from another
// shell, through the running service (its socket in DATA_DIR), while webhooks keep arriving; a
// second service on the same DATA_DIR still refuses. Here the real `threadbridge start` runs in its
// own process with nothing configured but Slack (the fake; an account can only be routed to a chat
// platform that is configured), as after `npm ci && npm start`.

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { readLocalSecrets } from "../../src/config/local-secrets.ts";
import { embeddedSocketDir, embeddedSocketPath, embeddedSocketUrl } from "../../src/db/embedded-socket.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { cli } from "../helpers/cli.ts";
import { seedEmbeddedDatabase } from "../helpers/embedded-template.ts";
import { waitFor } from "../helpers/service.ts";
import { slackEnv } from "../helpers/slack.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { freePort, killWorker, startRole, type WorkerProcess } from "../outbound/helpers.ts";

const ACCOUNT = "17841400000000001";
const CHANNEL = "C0123456789";
const DIGEST_CHANNEL = "C0DIGEST0";
const RULES = fileURLToPath(new URL("../fixtures/rules/example.yaml", import.meta.url));
const EVENT = fileURLToPath(new URL("../fixtures/webhooks/dm-text.json", import.meta.url));

const dataDir = mkdtempSync(path.join(tmpdir(), "tb-beside-"));
let env: Record<string, string>;
let service: WorkerProcess | undefined;
let baseUrl: string;
let slack: SlackServer;

beforeAll(async () => {
  const port = await freePort();
  slack = await startSlackServer();
  slack.setChannel(CHANNEL, { name: "support" });
  slack.setChannel(DIGEST_CHANNEL, { name: "managers" });
  // The embedded database and the local secrets it generates in DATA_DIR; the same environment
  // for the service and the commands, as with one `.env`.
  env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: "warn",
    DATABASE_URL: "",
    REDIS_URL: "",
    ...slackEnv(slack),
  };
  baseUrl = `http://127.0.0.1:${port}`;
  // The empty cluster PGlite's first start would make (its initdb in WebAssembly, 10 to 45 s of a
  // busy machine), copied from the run's template: the service still migrates it and makes its
  // secrets and socket as on a first start (PGlite making a cluster in an empty directory is what
  // the template itself does, once per run).
  await seedEmbeddedDatabase(dataDir);
  service = startRole(env, "start");
  const s = service;
  await waitFor(
    async () => {
      if (s.child.exitCode !== null) throw new Error(`the service exited: ${s.output()}`);
      // Ready once it serves commands: the socket is its last start-up step.
      const r = await fetch(`${baseUrl}/healthz`).catch(() => undefined);
      return r?.ok && statSync(embeddedSocketPath(dataDir), { throwIfNoEntry: false }) ? true : undefined;
    },
    150_000,
    "the embedded service to start",
  );
}, 180_000);

afterAll(async () => {
  if (service) await killWorker(service);
  await slack?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Signed DM webhooks, one new event each, sent 2 at a time until `stop()`; what was answered. */
function ingestMeanwhile(secret: string) {
  let stopping = false;
  const answered: number[] = [];
  const send = async () => {
    while (!stopping) {
      const body = dmText(ACCOUNT, "7000000000000001", `mid.beside.${randomUUID()}`, "hello", Date.now());
      answered.push(
        await postWebhook(baseUrl, body, { secret }).then(
          (r) => r.status,
          () => 0,
        ),
      );
    }
  };
  const senders = Array.from({ length: 2 }, send);
  return {
    async stop() {
      stopping = true;
      await Promise.all(senders);
      return answered;
    },
  };
}

it("runs reading and writing commands beside the service while webhooks arrive, and loses none", async () => {
  const secret = readLocalSecrets(dataDir)?.webhookSecret;
  expect(secret).toBeDefined();
  const ingest = ingestMeanwhile(secret as string);
  let answered: number[];
  try {
    const added = await cli(
      [
        "accounts",
        "add",
        "--ig-user-id",
        ACCOUNT,
        "--username",
        "shop",
        "--token",
        "IGAA-beside",
        "--chat",
        "slack",
        "--channel",
        CHANNEL,
        "--digest-channel",
        DIGEST_CHANNEL,
      ],
      env,
    );
    expect(added, added.stderr).toMatchObject({
      code: 0,
      stdout: `added shop (${ACCOUNT}) → slack:C0123456789\n`,
    });

    // Each command's process costs seconds to start on a busy machine: the rest run side by side.
    // The worker does what needs the service's configuration: the refresh pass, the digest post.
    const [list, dlq, rules, digest, paused, refreshed, posted, doctor] = await Promise.all([
      cli(["accounts", "list"], env),
      cli(["dlq", "list"], env),
      // A Monday evening in Berlin: the fixture's away message fires whatever the day the test runs.
      cli(["rules", "test", RULES, "--event", EVENT, "--at", "2026-12-07T20:00:00Z"], env),
      cli(["digest", "--print", "--account", ACCOUNT], env),
      cli(["pause"], env),
      cli(["accounts", "refresh-tokens", "--wait", "300"], env),
      cli(["digest", "--account", ACCOUNT], env),
      cli(["doctor", "--json"], env),
    ]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${ACCOUNT}\\s+shop\\s+active\\s+slack:C0123456789`));
    expect(dlq, dlq.stderr).toMatchObject({ code: 0, stdout: "no dead events\n" });
    expect(rules.code, rules.stderr).toBe(0);
    expect(rules.stdout).toMatch(new RegExp(`^dm\\.message on account ${ACCOUNT}:\\n  away-message: `));
    expect(digest.code, digest.stderr).toBe(0);
    expect(digest.stdout).toMatch(/@shop · last 24 hours/);
    expect(paused, paused.stderr).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^paused sending for every account/),
    });
    expect(refreshed, refreshed.stderr).toMatchObject({
      code: 0,
      stdout:
        "tokens: 0 refreshed, 1 not due, 0 invalid, 0 expired, 0 failed (tried again by the next pass)\n",
    });
    expect(posted, posted.stderr).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^queued the 24h digest of /),
    });
    // doctor's other checks call Instagram (not here): only its database line is of interest.
    expect(
      (JSON.parse(doctor.stdout) as Array<{ check: string; ok: boolean; detail: string }>).find(
        (c) => c.check === "database",
      ),
      doctor.stderr,
    ).toMatchObject({ ok: true, detail: expect.stringMatching(/^reachable, migrations current/) });
    // … and the worker posted it, with the service's Slack client.
    await waitFor(
      async () =>
        slack.callsOf("chat.postMessage").find((c) => c.args.channel === DIGEST_CHANNEL) ? true : undefined,
      120_000,
      "the digest in its channel",
    );
  } finally {
    answered = await ingest.stop();
  }
  expect(answered.length).toBeGreaterThan(0);
  expect(answered.filter((s) => s !== 200)).toEqual([]);
  // Counted through the socket, as a command would: every answered event was stored once.
  const client = new pg.Client({ connectionString: embeddedSocketUrl(dataDir) });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM inbound_events WHERE account_id = $1",
      [ACCOUNT],
    );
    expect(rows).toEqual([{ n: answered.length }]);
  } finally {
    await client.end();
  }
}, 600_000);

it("serves commands on a socket only this user reaches: the file 0600 in a directory 0700", () => {
  expect(statSync(embeddedSocketPath(dataDir)).mode & 0o777).toBe(0o600);
  expect(statSync(embeddedSocketDir(dataDir)).mode & 0o777).toBe(0o700);
});

it("refuses a second service on the same DATA_DIR with one clear line (exit 75)", async () => {
  const second = startRole(env, "start");
  const { code } = await second.exited;
  expect(code).toBe(75);
  expect(second.output()).toMatch(
    /in use by another threadbridge process, and only one service can run on it/,
  );
  expect(second.output()).not.toMatch(/trying again/);
}, 120_000);

it("stops serving with the service; a command then opens the database itself", async () => {
  const s = service as WorkerProcess;
  s.child.kill("SIGTERM");
  expect((await s.exited).code).toBe(0);
  expect(statSync(embeddedSocketPath(dataDir), { throwIfNoEntry: false })).toBeUndefined();
  const list = await cli(["accounts", "list"], env);
  expect(list.code, list.stderr).toBe(0);
  expect(list.stdout).toMatch(new RegExp(`${ACCOUNT}\\s+shop\\s+active`));
}, 120_000);

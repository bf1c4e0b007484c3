// Issue 16, finding 5: "Rule regexes can freeze the event loop". `^(\w+\s?)*$` imported fine and
// a 28-character DM blocked the process for seconds (webhooks, Slack and the console with it);
// `/ig rules test` reached it from chat. Rule patterns now run on RE2 (linear time), and what RE2
// cannot run is refused at import.
//
// The service runs as its own process (`threadbridge start`: web and worker in one event loop,
// as deployed), so a frozen loop shows as unanswered requests here instead of freezing the test.

import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../fakes/graph-server.ts";
import { type SlackServer, startSlackServer } from "../fakes/slack-server.ts";
import { needsDatabaseServer } from "../helpers/backend.ts";
import { cli } from "../helpers/cli.ts";
import { TEST_BACKEND, TEST_KEY, type TestEnv, testEnv, waitFor } from "../helpers/service.ts";
import { postSlackCommand } from "../helpers/slack.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { freePort, killWorker, startRole, type WorkerProcess } from "../outbound/helpers.ts";

const ACCOUNT = "17841400000000001";
const CHANNEL = "C0INSTAGRAM";
const SECRET = "slack-signing-secret-redos";
const AGENT = { id: "U0AGENT1", name: "ana", real_name: "Ana Lima", display_name: "Ana" };
const PATTERN = "^(\\w+\\s?)*$";
/** Word characters ending in one that is neither a word character nor a space: V8 tries every
 * way of splitting the run into words before failing, 2^n of them. 28 characters took seconds. */
const adversarial = (length: number) => `${"a".repeat(length - 1)}!`;
/** Instagram's longest text (a comment), the longest a rule regex is tested on (MAX_MATCHED_TEXT). */
const LONGEST = 2_200;

const RULES = `
rules:
  - id: words-only
    name: words only
    account: "${ACCOUNT}"
    trigger:
      type: dm_text
      regex: '${PATTERN}'
    actions:
      - type: dm_reply
        text: "Thanks for your words!"
`;

describe("a rule's pattern against adversarial text, on its own", () => {
  it("is imported and answers 28-, 2,200- and 10,000-character adversarial DMs correctly, within a 5 s hard limit", async () => {
    // On V8's backtracking engine the 28-character text alone takes seconds and the longer ones
    // longer than anyone waits: the child is killed at 5 s and this fails. 2,200 characters is
    // the longest text Instagram sends and regexes see; a longer one never matches a regex.
    const texts = [
      adversarial(28),
      adversarial(LONGEST),
      adversarial(10_000),
      "hello there friend",
      `${"ab ".repeat(732)}end`, // 2,199 characters of words: matches
      `${"ab ".repeat(3_000)}end`, // words too, but longer than any Instagram text
    ];
    const out = await runLimited(
      fileURLToPath(new URL("./helpers/evaluate-rules.ts", import.meta.url)),
      JSON.stringify({ file: RULES, texts, account: ACCOUNT }),
      5_000,
    );
    expect(out).toEqual({ fired: [[], [], [], ["words-only"], ["words-only"], []] });
  });
});

describe("a rule's pattern in the running service", () => {
  needsDatabaseServer("a worker process runs while the test writes to the same database");
  let slack: SlackServer;
  let graph: GraphServer;
  let t: TestEnv;
  let db: Database;
  let proc: WorkerProcess;
  let url: string;

  beforeAll(async () => {
    slack = await startSlackServer({ users: [AGENT] });
    graph = await startGraphServer(instagramResponder());
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    t = await testEnv(TEST_BACKEND, {
      PORT: String(port),
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      IG_GRAPH_URL: graph.url,
      SLACK_POSTS_PER_SECOND: "1000",
      LOG_LEVEL: "warn",
    });
    expect((await cli(["migrate"], t.env)).code).toBe(0);
    db = await openDatabase(t.config.database);
    await addAccount(db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: ACCOUNT,
      username: "brand",
      token: "IGAA-redos-token",
      chat: { platform: "slack", channel: CHANNEL },
    });
    const file = `${t.env.DATA_DIR}/rules.yaml`;
    writeFileSync(file, RULES);
    const imported = await cli(["rules", "import", file], t.env);
    expect(imported.stderr).toBe("");
    expect(imported.stdout).toMatch(/1 added/);
    proc = startRole(t.env, "start");
    await waitFor(
      async () => ((await health(url, 1_000)) === 200 ? true : undefined),
      30_000,
      "the service to answer /healthz",
    );
  }, 90_000);

  afterAll(async () => {
    if (proc) await killWorker(proc);
    await db?.close();
    await graph?.close();
    await slack?.close();
    await t?.cleanup();
  });

  const sendsTo = (customer: string) =>
    graph.requests.filter(
      (r) =>
        r.method === "POST" &&
        r.path.endsWith("/messages") &&
        (r.body as { recipient?: { id?: string } }).recipient?.id === customer,
    );

  it("mirrors adversarial DMs, answers no rule for them, and keeps answering /healthz meanwhile", async () => {
    // The rule is live: a text it matches gets its reply.
    await postWebhook(
      url,
      dmText(ACCOUNT, "1000000000000201", "m_redos_ok", "hello there friend", Date.now()),
    );
    const reply = await waitFor(async () => sendsTo("1000000000000201")[0], 20_000, "the rule's reply");
    // The first automated message of the conversation carries the disclosure (rules/disclosure.ts).
    expect(reply.body).toMatchObject({
      message: { text: "Thanks for your words!\n\nThis is an automated message." },
    });

    const customers = {
      "1000000000000202": adversarial(28),
      "1000000000000203": adversarial(LONGEST),
      "1000000000000204": adversarial(10_000),
    };
    for (const [customer, text] of Object.entries(customers))
      expect(
        (await postWebhook(url, dmText(ACCOUNT, customer, `m_redos_${customer}`, text, Date.now()))).status,
      ).toBe(200);
    // Every look while the events are handled is answered within 5 s (V8 took hours on the longer
    // text): the loop never stalls.
    await waitFor(
      async () => {
        expect(await health(url, 5_000)).toBe(200);
        const { rows } = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM inbound_events WHERE status = 'processed' AND dedupe_key LIKE '%m_redos_1%'",
        );
        return rows[0]?.n === 3 ? true : undefined;
      },
      20_000,
      "the adversarial DMs to be handled",
    );
    for (const [customer, text] of Object.entries(customers)) {
      const root = await waitFor(async () => {
        const { rows } = await db.query<{ chat_thread: string | null }>(
          "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
          [ACCOUNT, customer],
        );
        return rows[0]?.chat_thread ?? undefined;
      });
      // Mirrored into Slack (a long text may be split over several posts: its start is enough).
      expect(slack.thread(CHANNEL, root).some((m) => m.text?.includes(text.slice(0, 27)))).toBe(true);
      expect(sendsTo(customer)).toEqual([]);
    }
  });

  it("answers `/ig rules test` with an adversarial text from chat, and stays responsive", async () => {
    const answered = postSlackCommand(url, SECRET, {
      command: "/ig",
      text: `rules test "${adversarial(40)}"`,
      user_id: AGENT.id,
      user_name: AGENT.name,
      channel_id: CHANNEL,
      response_url: slack.responseUrl("redos-test"),
    });
    const [healthy, acked] = await Promise.all([health(url, 5_000), answered]);
    expect(healthy).toBe(200);
    expect(acked.status).toBe(200);
    const answer = await waitFor(
      async () => slack.responses.find((r) => r.id === "redos-test")?.body.text as string | undefined,
      10_000,
      "the answer to /ig rules test",
    );
    expect(answer).toMatch(/^No rule would answer/);
    expect(await health(url, 5_000)).toBe(200);

    // Longer than any Instagram text: the answer says why no regex looked at it.
    await postSlackCommand(url, SECRET, {
      command: "/ig",
      text: `rules test "${"ab".repeat(1_500)}"`, // words only, but longer than any Instagram text
      user_id: AGENT.id,
      user_name: AGENT.name,
      channel_id: CHANNEL,
      response_url: slack.responseUrl("redos-long"),
    });
    const long = await waitFor(
      async () => slack.responses.find((r) => r.id === "redos-long")?.body.text as string | undefined,
      10_000,
      "the answer to a long /ig rules test",
    );
    expect(long).toMatch(
      /^No rule would answer .*\n\(Regex triggers only look at texts of up to 2,200 characters, Instagram's longest; this one has 3,000\.\)$/s,
    );
  });

  it("refuses at import a pattern with a backreference, saying which and where, and keeps the stored rules", async () => {
    const file = `${t.env.DATA_DIR}/backreference.yaml`;
    writeFileSync(
      file,
      [
        "rules:",
        "  - id: doubled-word",
        "    name: doubled word",
        `    account: "${ACCOUNT}"`,
        "    trigger:",
        "      type: dm_text",
        "      regex: '(\\w+) \\1'",
        "    actions: [{ type: tag, tag: doubled }]",
        "",
      ].join("\n"),
    );
    const r = await cli(["rules", "import", file], t.env);
    expect(r.code).toBe(65);
    expect(r.stderr).toBe(
      [
        "threadbridge: the rule file was not imported",
        `${file}, line 7, column 14: rules[0].trigger.regex: unsupported regular expression: backreference \\1 at character 7 is not supported: rule patterns run on RE2, which matches in linear time and so has no lookahead, lookbehind or backreferences`,
        "",
      ].join("\n"),
    );
    const listed = await cli(["rules", "list"], t.env);
    expect(listed.stdout).toMatch(/words-only/);
    expect(listed.stdout).not.toMatch(/doubled-word/);
  });
});

async function health(base: string, ms: number): Promise<number | "timeout"> {
  try {
    return (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(ms) })).status;
  } catch {
    return "timeout";
  }
}

/** Runs `script` with `input` on stdin; kills it and fails when it is still evaluating `ms` after
 * it said it started (its start-up, slow on a busy machine, is not counted). */
function runLimited(script: string, input: string, ms: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
      if (!timer && err.includes("evaluating\n"))
        timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`evaluation still running after ${ms} ms: killed`));
        }, ms);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`evaluation exited with ${code}: ${err}`));
    });
    child.stdin.end(input);
  });
}

// `threadbridge profile show|apply` as real processes against a Graph fake that keeps each
// account's messaging profile the way Instagram does (test/fakes/graph-server.ts): a file is
// checked whole (each error with its line, entry and field; exit 65), `apply` prints the diff and
// applies only with --yes (standard input is not a terminal here), each field it sets is one call
// in reference 2.9's shape and one audit entry, and `show` reads without migrating.

import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import { parseProfileFile } from "../../src/profile/file.ts";
import { profilePayloads } from "../../src/profile/profile.ts";
import type { Service } from "../../src/service.ts";
import { type GraphServer, instagramResponder, startGraphServer } from "../fakes/graph-server.ts";
import { CLI_CWD, cli } from "../helpers/cli.ts";
import { testRedisUrl } from "../helpers/redis.ts";
import { startTestService, TEST_BACKEND, TEST_KEY, type TestEnv, testEnv } from "../helpers/service.ts";

const A = "17841400000000601";
const TOKEN = "IGAA-profile-token";

let t: TestEnv;
let svc: Service;
let graph: GraphServer;
const profiles = new Map<string, Record<string, unknown>>();
const flows = new Map<string, Record<string, unknown>[]>();

function file(name: string, text: string): string {
  const p = path.join(t.env.DATA_DIR as string, name);
  writeFileSync(p, text);
  return p;
}

const profileCalls = () => graph.requests.filter((r) => r.path.endsWith("/messenger_profile"));
const writes = () => profileCalls().filter((r) => r.method !== "GET");

beforeAll(async () => {
  // Two flows a page, so a list of more is read through Graph's cursors.
  graph = await startGraphServer(
    instagramResponder({ messengerProfiles: profiles, welcomeFlows: flows, welcomeFlowsPageSize: 2 }),
  );
  t = await testEnv(TEST_BACKEND, { IG_GRAPH_URL: graph.url });
  svc = await startTestService(t, { web: false, worker: false });
  await addAccount(svc.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: A,
    username: "shop_601",
    token: TOKEN,
    chat: { platform: "slack", channel: "C0000601" },
  });
});

afterAll(async () => {
  await svc?.stop();
  await t?.cleanup();
  await graph?.close();
});

beforeEach(() => {
  profiles.clear();
  flows.clear();
  graph.requests.length = 0;
});

const WANTED = `version: 1
ice_breakers:
  - locale: default
    call_to_actions:
      - question: Where is my order?
        payload: ORDER
      - question: Talk to a human
        payload: HUMAN
persistent_menu:
  - call_to_actions:
      - type: postback
        title: Talk to an agent
        payload: CARE_HELP
      - type: web_url
        title: Shop now
        url: https://shop.example.com
`;

describe("profile show", () => {
  it("prints what Instagram has, one read per field with the account's token, and --json in the file's format", async () => {
    const none = await cli(["profile", "show", "--account", A], t.env);
    expect(none.stderr).toBe("");
    expect(none.code).toBe(0);
    expect(none.stdout).toBe("ice_breakers: none\npersistent_menu: none\nwelcome_message_flows: none\n");
    expect(profileCalls().map((r) => [r.method, r.query.fields, r.headers.authorization])).toEqual([
      ["GET", "ice_breakers", `Bearer ${TOKEN}`],
      ["GET", "persistent_menu", `Bearer ${TOKEN}`],
    ]);

    profiles.set(TOKEN, {
      ice_breakers: [
        { call_to_actions: [{ question: "Where is my order?", payload: "ORDER" }], locale: "default" },
      ],
    });
    const some = await cli(["profile", "show", "--account", A], t.env);
    expect(some.stdout).toBe(
      'ice_breakers:\n  [default] "Where is my order?" → payload ORDER\npersistent_menu: none\nwelcome_message_flows: none\n',
    );
    const json = await cli(["profile", "show", "--account", A, "--json"], t.env);
    expect(JSON.parse(json.stdout)).toEqual({
      version: 1,
      ice_breakers: [
        { locale: "default", call_to_actions: [{ question: "Where is my order?", payload: "ORDER" }] },
      ],
      persistent_menu: [],
      welcome_message_flows: [],
    });
  });

  it("refuses an account that is not connected (exit 64) without calling Instagram", async () => {
    const r = await cli(["profile", "show", "--account", "17841400000000999"], t.env);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("no account 17841400000000999");
    expect(profileCalls()).toEqual([]);
  });
});

describe("profile apply", () => {
  it("without --yes and not at a terminal: prints the diff, sends nothing and exits 1 asking for --yes", async () => {
    const r = await cli(["profile", "apply", file("p.yaml", WANTED), "--account", A], t.env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        "ice_breakers: changed",
        '  + [default] "Where is my order?" → payload ORDER',
        '  + [default] "Talk to a human" → payload HUMAN',
        "persistent_menu: changed",
        '  + [default] "Talk to an agent" → payload CARE_HELP',
        '  + [default] "Shop now" → https://shop.example.com',
        "welcome_message_flows: not in the file, left as they are",
        "",
      ].join("\n"),
    );
    expect(r.stderr).toMatch(/not applied: .*add --yes to apply\n$/);
    expect(writes()).toEqual([]);
    expect(profiles.get(TOKEN)).toEqual({});
  });

  it("with --yes: sets each changed field in reference 2.9's shape, audits it, and a second apply changes nothing", async () => {
    profiles.set(TOKEN, {
      ice_breakers: [
        {
          call_to_actions: [
            { question: "Where is my order?", payload: "ORDER_OLD" },
            { question: "Talk to a human", payload: "HUMAN" },
          ],
          locale: "default",
        },
      ],
    });
    const r = await cli(["profile", "apply", file("p.yaml", WANTED), "--account", A, "--yes"], t.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      [
        "ice_breakers: changed",
        '  - [default] "Where is my order?" → payload ORDER_OLD',
        '  + [default] "Where is my order?" → payload ORDER',
        '    [default] "Talk to a human" → payload HUMAN',
      ].join("\n"),
    );
    expect(r.stdout).toMatch(/set ice_breakers\nset persistent_menu\n$/);
    expect(writes().map((w) => [w.method, w.path, w.body])).toEqual([
      [
        "POST",
        "/v25.0/me/messenger_profile",
        {
          platform: "instagram",
          ice_breakers: [
            {
              locale: "default",
              call_to_actions: [
                { question: "Where is my order?", payload: "ORDER" },
                { question: "Talk to a human", payload: "HUMAN" },
              ],
            },
          ],
        },
      ],
      [
        "POST",
        "/v25.0/me/messenger_profile",
        {
          platform: "instagram",
          persistent_menu: [
            {
              locale: "default",
              call_to_actions: [
                { type: "postback", title: "Talk to an agent", payload: "CARE_HELP" },
                { type: "web_url", title: "Shop now", url: "https://shop.example.com" },
              ],
            },
          ],
        },
      ],
    ]);
    const { rows } = await svc.db.query<{
      actor_kind: string;
      target: string;
      details: Record<string, unknown>;
    }>(
      "SELECT actor_kind, target, details FROM audit_log WHERE action = 'profile_apply' AND account_id = $1 ORDER BY id",
      [A],
    );
    expect(rows.map((row) => [row.actor_kind, row.target, row.details.change, row.details.payloads])).toEqual(
      [
        ["operator", "ice_breakers", "set", ["ORDER", "HUMAN"]],
        ["operator", "persistent_menu", "set", ["CARE_HELP"]],
      ],
    );

    graph.requests.length = 0;
    const again = await cli(["profile", "apply", file("p.yaml", WANTED), "--account", A], t.env);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      "ice_breakers: unchanged\npersistent_menu: unchanged\nwelcome_message_flows: not in the file, left as they are\nnothing to change\n",
    );
    expect(writes()).toEqual([]);
  });

  it("an empty list removes the field (DELETE with its name); a field the file leaves out is left alone", async () => {
    profiles.set(TOKEN, {
      ice_breakers: [{ call_to_actions: [{ question: "Hi?", payload: "HI" }], locale: "default" }],
      persistent_menu: [
        { locale: "default", call_to_actions: [{ type: "postback", title: "Help", payload: "HELP" }] },
      ],
    });
    const r = await cli(
      ["profile", "apply", file("p.json", '{"ice_breakers": []}'), "--account", A, "--yes"],
      t.env,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ice_breakers: removed (the file lists none)\n");
    expect(r.stdout).toContain("persistent_menu: not in the file, left as it is\n");
    expect(writes().map((w) => [w.method, w.body])).toEqual([["DELETE", { fields: ["ice_breakers"] }]]);
    expect(Object.keys(profiles.get(TOKEN) ?? {})).toEqual(["persistent_menu"]);
  });

  it("refuses a file with errors whole, each with its line, entry and field (exit 65), before calling Instagram", async () => {
    const bad = `ice_breakers:
  - locale: default
    call_to_actions:
      - { question: One, payload: P1 }
      - { question: Two, payload: P2 }
      - { question: Three, payload: P3 }
      - { question: Four, payload: P4 }
      - { question: Five, payload: P5 }
  - locale: default
    call_to_actions:
      - { question: "", payload: P6 }
persistent_menu:
  - locale: en_US
    composer_input_disabled: true
    call_to_actions:
      - type: web_url
        title: Shop
      - type: postback
        title: Help
        payload: HELP
        webview_height_ratio: tall
welcome_message_flows:
  - name: Spring ad
`;
    const r = await cli(["profile", "apply", file("bad.yaml", bad), "--account", A, "--yes"], t.env);
    expect(r.code).toBe(65);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toBe("threadbridge: the profile file was not applied");
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(
        /bad\.yaml, line 4, column 7: ice_breakers\[0\] \(default\)\.call_to_actions: at most 4 ice breakers per locale/,
      ),
      expect.stringMatching(
        /line 9, column 13: ice_breakers\[1\] \(default\)\.locale: locale default is already set by ice_breakers\[0\] \(line 2\)/,
      ),
      expect.stringMatching(
        /line 11, column 21: ice_breakers\[1\] \(default\)\.call_to_actions\[0\]\.question: must not be empty/,
      ),
      expect.stringMatching(
        /line 14, column 30: persistent_menu\[0\] \(en_US\)\.composer_input_disabled: is not supported on Instagram/,
      ),
      expect.stringMatching(
        /line 16, column 9: persistent_menu\[0\] \(en_US\)\.call_to_actions\[0\]\.url: is required$/,
      ),
      expect.stringMatching(
        /line 21, column 31: persistent_menu\[0\] \(en_US\)\.call_to_actions\[1\]\.webview_height_ratio: is not supported on Instagram/,
      ),
      expect.stringMatching(
        /line 23, column 5: welcome_message_flows\[0\] \(Spring ad\)\.messages: is required/,
      ),
    ]);
    expect(profileCalls()).toEqual([]);
  });

  it("goes through the outbound gateway: an account whose sending is paused is held, nothing is sent (exit 1)", async () => {
    expect((await cli(["pause", "--account", A], t.env)).code).toBe(0);
    try {
      const r = await cli(["profile", "apply", file("p.yaml", WANTED), "--account", A, "--yes"], t.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^threadbridge: reading ice_breakers: sending is paused for this account/);
      expect(profileCalls()).toEqual([]);
    } finally {
      expect((await cli(["resume", "--account", A], t.env)).code).toBe(0);
    }
  });
});

/** The CLI at a terminal: run under `script`, which gives it a pseudo-terminal as standard input
 * and output; `answer` is typed at it. Standard input stays open until the command ends, since
 * closing it would reach the prompt as an end of input. */
function atTerminal(args: string[], answer: string): Promise<{ code: number | null; output: string }> {
  const bin = fileURLToPath(new URL("../../bin/threadbridge.js", import.meta.url));
  const command = [process.execPath, bin, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      cwd: CLI_CWD,
      env: { ...process.env, ...t.env },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output: output.replace(/\r\n/g, "\n") }));
    child.stdin.write(answer);
  });
}

/** util-linux's `script`, which the terminal test needs (not in every minimal image). */
const HAS_SCRIPT = spawnSync("script", ["--version"]).status === 0;

describe("profile apply at a terminal", () => {
  it.skipIf(!HAS_SCRIPT)("asks before applying: n applies nothing (exit 1), y applies", async () => {
    const p = file("p.yaml", WANTED);
    const no = await atTerminal(["profile", "apply", p, "--account", A], "n\n");
    expect(no.output).toContain("apply these changes to Instagram? [y/N]");
    expect(no.output).toContain("not applied\n");
    expect(no.code).toBe(1);
    expect(writes()).toEqual([]);

    const yes = await atTerminal(["profile", "apply", p, "--account", A], "y\n");
    expect(yes.output).toContain("set ice_breakers\nset persistent_menu\n");
    expect(yes.code).toBe(0);
    expect(writes().map((w) => w.method)).toEqual(["POST", "POST"]);
  });
});

const FLOWS = `welcome_message_flows:
  - name: Spring sale
    messages:
      - text: Hi! What brings you here?
        quick_replies:
          - { title: Sizes, payload: SIZES }
          - { title: Talk to us, payload: HUMAN }
      - text: We answer within the hour.
`;

const flowCalls = () => graph.requests.filter((r) => r.path.endsWith("/welcome_message_flows"));

describe("welcome message flows", () => {
  it("show lists each flow with its message count and whether an ad uses it; --json in the file's format", async () => {
    flows.set(TOKEN, [
      {
        flow_id: "501",
        name: "Spring sale",
        welcome_message_flow: [{ message: { text: "Hi" } }, { message: { text: "Bye" } }],
        eligible_platforms: ["instagram"],
        is_used_in_ad: true,
      },
    ]);
    const r = await cli(["profile", "show", "--account", A], t.env);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      'ice_breakers: none\npersistent_menu: none\nwelcome_message_flows:\n  "Spring sale" (flow 501): 2 messages, used in an ad\n',
    );
    expect(flowCalls().map((c) => [c.method, c.headers.authorization])).toEqual([["GET", `Bearer ${TOKEN}`]]);
    const json = await cli(["profile", "show", "--account", A, "--json"], t.env);
    expect(JSON.parse(json.stdout).welcome_message_flows).toEqual([
      { name: "Spring sale", messages: [{ text: "Hi" }, { text: "Bye" }] },
    ]);
  });

  it("show reports an answer missing a flow's fields precisely (exit 1), after the fields it could read", async () => {
    flows.set(TOKEN, [{ flow_id: "502", welcome_message_flow: [] }]);
    const r = await cli(["profile", "show", "--account", A], t.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "threadbridge: reading welcome_message_flows: flow 1 of Instagram's answer (flow_id 502) has no name\n",
    );
    expect(r.stdout).toBe(
      "ice_breakers: none\npersistent_menu: none\nwelcome_message_flows: could not be read\n",
    );
    // --json is all or nothing: no half a file on standard output.
    const json = await cli(["profile", "show", "--account", A, "--json"], t.env);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe("");
  });

  it("apply creates a missing flow, updates it by flow_id when its messages change, audits each, and a flow only on Instagram is left alone", async () => {
    const elsewhere = {
      flow_id: "777",
      name: "Running ad",
      welcome_message_flow: [{ message: { text: "From the ad" } }],
      eligible_platforms: ["instagram"],
      is_used_in_ad: true,
    };
    flows.set(TOKEN, [elsewhere]);
    const created = await cli(["profile", "apply", file("f.yaml", FLOWS), "--account", A, "--yes"], t.env);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const id = String((flows.get(TOKEN) ?? [])[1]?.flow_id);
    expect(created.stdout).toBe(
      [
        "ice_breakers: not in the file, left as it is",
        "persistent_menu: not in the file, left as it is",
        "welcome_message_flows:",
        '  "Spring sale": created',
        '    + message 1: "Hi! What brings you here?" [quick replies: "Sizes" → payload SIZES, "Talk to us" → payload HUMAN]',
        '    + message 2: "We answer within the hour."',
        '  "Running ad" (flow 777): 1 message, used in an ad: on Instagram, not in the file: left alone',
        `created welcome message flow "Spring sale" (flow ${id})`,
        "",
      ].join("\n"),
    );
    expect(flowCalls().map((c) => [c.method, c.body])).toEqual([
      ["GET", undefined],
      [
        "POST",
        {
          eligible_platforms: ["instagram"],
          name: "Spring sale",
          welcome_message_flow: [
            {
              message: {
                text: "Hi! What brings you here?",
                quick_replies: [
                  { content_type: "text", title: "Sizes", payload: "SIZES" },
                  { content_type: "text", title: "Talk to us", payload: "HUMAN" },
                ],
              },
            },
            { message: { text: "We answer within the hour." } },
          ],
        },
      ],
    ]);
    expect(writes()).toEqual([]);

    graph.requests.length = 0;
    const again = await cli(["profile", "apply", file("f.yaml", FLOWS), "--account", A], t.env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('  "Spring sale": unchanged\n');
    expect(again.stdout).toMatch(/nothing to change\n$/);
    expect(flowCalls().map((c) => c.method)).toEqual(["GET"]);

    graph.requests.length = 0;
    const changed = FLOWS.replace("We answer within the hour.", "We answer within a day.");
    const updated = await cli(["profile", "apply", file("g.yaml", changed), "--account", A, "--yes"], t.env);
    expect(updated.code).toBe(0);
    expect(updated.stdout).toContain(
      [
        `  "Spring sale": changed (flow ${id})`,
        '      message 1: "Hi! What brings you here?" [quick replies: "Sizes" → payload SIZES, "Talk to us" → payload HUMAN]',
        '    - message 2: "We answer within the hour."',
        '    + message 2: "We answer within a day."',
      ].join("\n"),
    );
    expect(flowCalls().map((c) => [c.method, (c.body as { flow_id?: string } | undefined)?.flow_id])).toEqual(
      [
        ["GET", undefined],
        ["POST", id],
      ],
    );
    const after = flows.get(TOKEN) ?? [];
    expect(after.map((f) => f.name)).toEqual(["Running ad", "Spring sale"]);
    expect(after[0]).toEqual(elsewhere);

    const { rows } = await svc.db.query<{ target: string; details: Record<string, unknown> }>(
      "SELECT target, details FROM audit_log WHERE action = 'profile_apply' AND target = 'welcome_message_flows' AND account_id = $1 ORDER BY id",
      [A],
    );
    expect(
      rows.map((row) => [row.details.change, row.details.flow, row.details.flow_id, row.details.payloads]),
    ).toEqual([
      ["create", "Spring sale", id, ["SIZES", "HUMAN"]],
      ["update", "Spring sale", id, ["SIZES", "HUMAN"]],
    ]);
  });

  it("refuses a flow file with errors before calling Instagram (exit 65)", async () => {
    const r = await cli(
      [
        "profile",
        "apply",
        file("bad.yaml", "welcome_message_flows:\n  - name: X\n    messages: []\n"),
        "--account",
        A,
        "--yes",
      ],
      t.env,
    );
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("welcome_message_flows[0] (X).messages: must list at least one message");
    expect(flowCalls()).toEqual([]);
  });

  it("show and apply read every page of flows: a flow on a later page is updated, not created again", async () => {
    const flow = (n: number) => ({
      flow_id: String(600 + n),
      name: `Flow ${n}`,
      welcome_message_flow: [{ message: { text: `Hello ${n}` } }],
      eligible_platforms: ["instagram"],
      is_used_in_ad: false,
    });
    flows.set(TOKEN, [1, 2, 3, 4, 5].map(flow));
    const shown = await cli(["profile", "show", "--account", A], t.env);
    expect(shown.stderr).toBe("");
    expect(shown.stdout.match(/"Flow \d" \(flow 60\d\)/g)).toEqual(
      [1, 2, 3, 4, 5].map((n) => `"Flow ${n}" (flow ${600 + n})`),
    );
    expect(flowCalls().filter((c) => c.method === "GET")).toHaveLength(3);

    const applied = await cli(
      [
        "profile",
        "apply",
        file(
          "paged.yaml",
          "welcome_message_flows:\n  - name: Flow 5\n    messages:\n      - text: Hello again\n",
        ),
        "--account",
        A,
        "--yes",
      ],
      t.env,
    );
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    const after = flows.get(TOKEN) ?? [];
    expect(after).toHaveLength(5);
    expect(after[4]).toMatchObject({
      flow_id: "605",
      welcome_message_flow: [{ message: { text: "Hello again" } }],
    });
  });
});

describe("the shared limiter", () => {
  it("with REDIS_URL, each Graph call takes a turn of the account's platform class in Redis, where the service's calls count too", async () => {
    const redis = new Redis(testRedisUrl());
    // An hour-long window, so the turns are still in the log when the command has ended.
    const env = { ...t.env, REDIS_URL: testRedisUrl(), IG_RATE_LIMITS: "platform=1000/3600" };
    const key = `threadbridge:rl:platform:${A}`;
    try {
      const before = await redis.zcard(key);
      const r = await cli(["profile", "show", "--account", A], env);
      expect(r.code).toBe(0);
      expect(await redis.zcard(key)).toBe(before + 3);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});

describe("the file's payloads and the rules", () => {
  it("a tap on a menu item the file defines arrives as a postback whose payload a payload rule matches", async () => {
    // The payload of reference 1.10's postback (test/fixtures/webhooks/dm-postback.json), defined
    // in a profile file as a menu item, and a rule answering it.
    const profile = parseProfileFile(WANTED, "p.yaml");
    expect(profile.ok && profilePayloads(profile.profile)).toContain("CARE_HELP");
    const rules = file(
      "rules.yaml",
      `version: 1
rules:
  - id: care-help
    name: The menu item "Talk to an agent"
    account: "17841400000000001"
    trigger: { type: payload, equals: CARE_HELP }
    actions:
      - { type: notice, text: "asked for help from the menu" }
`,
    );
    const event = fileURLToPath(new URL("../fixtures/webhooks/dm-postback.json", import.meta.url));
    const r = await cli(["rules", "test", rules, "--event", event], t.env);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/care-help.*notice/);
    expect(r.stdout).not.toContain("no rule matches");
  });
});
